"""The `openmaker` command as a user runs it: `env` prints what clients need; `serve` prints where."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3


def _openmaker(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "openmaker", *args], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_env_prints_working_exports(server) -> None:
    out = _openmaker("env", env=server.env())
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    assert exports["AWS_ENDPOINT_URL"] == server.endpoint
    assert exports["AWS_ACCESS_KEY_ID"] == server.access_key
    assert exports["AWS_SECRET_ACCESS_KEY"] == server.secret_key
    assert exports["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "TelemetryOptOut: true" in Path(exports["SAGEMAKER_USER_CONFIG_OVERRIDE"]).read_text()
    assert "sdk/shim" in exports["PYTHONPATH"]
    session = boto3.Session(
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        region_name=exports["AWS_DEFAULT_REGION"],
    )
    identity = session.client("sts", endpoint_url=exports["AWS_ENDPOINT_URL"]).get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"


def test_serve_prints_endpoint_and_credentials(server) -> None:
    log = server.log()
    assert f"AWS_ENDPOINT_URL={server.endpoint}" in log
    assert f"AWS_ACCESS_KEY_ID={server.access_key}" in log


def test_insecure_server_accepts_any_credentials(tmp_path) -> None:
    from serverutil import start_server

    insecure = start_server(tmp_path / "home", extra_args=("--insecure",))
    try:
        client = insecure.client("s3", aws_access_key_id="AKIAANYTHING", aws_secret_access_key="whatever")
        client.create_bucket(Bucket="anything-goes")
        assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["anything-goes"]
    finally:
        insecure.stop()
