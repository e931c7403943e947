"""The README's main job: start openmaker on its embedded defaults and use it with plain boto3.

Run with ``bash scripts/demo.sh`` (or ``python -m openmaker.demo``). It starts ``openmaker serve``
(data in ``~/.openmaker`` unless ``OPENMAKER_HOME`` says otherwise), walks through S3 and CloudWatch
Logs the way the seed workshop does, and stops the server it started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

from openmaker.config import DEFAULT_PORT, Settings
from openmaker.credentials import ensure_root_credentials

console = Console()
DATASETS = Path(os.environ.get("OPENMAKER_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets"))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings: Settings) -> subprocess.Popen:
    command = [sys.executable, "-m", "openmaker", "serve", "--port", str(settings.port)]
    process = subprocess.Popen(command, env=dict(os.environ, OPENMAKER_HOME=str(settings.home)))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"openmaker serve exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{settings.endpoint_url}/_openmaker/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("openmaker serve did not become healthy within 60 s")


def sample_data() -> tuple[str, bytes]:
    spam = DATASETS / "sms-spam" / "SMSSpamCollection"
    if spam.exists():
        return "sms-spam/SMSSpamCollection", spam.read_bytes()
    lines = [f"{'spam' if i % 7 == 0 else 'ham'}\tmessage number {i}" for i in range(5000)]
    return "sms-spam/generated.tsv", ("\n".join(lines) + "\n").encode()


def walk_through(settings: Settings) -> None:
    import boto3

    creds = ensure_root_credentials(settings.credentials_file)
    session = boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=settings.region,
    )
    s3 = session.client("s3", endpoint_url=settings.endpoint_url)
    logs = session.client("logs", endpoint_url=settings.endpoint_url)
    sts = session.client("sts", endpoint_url=settings.endpoint_url)

    identity = sts.get_caller_identity()
    console.print(f"[bold]1. Who am I?[/bold] {identity['Arn']} (account {identity['Account']})")

    bucket = f"openmaker-demo-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    console.print(f"[bold]2. Bucket[/bold] s3://{bucket} with versioning enabled (as the spam workshop sets up)")

    key, data = sample_data()
    first = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/tab-separated-values")
    second = s3.put_object(Bucket=bucket, Key=key, Body=data + b"ham\tone more line\n")
    console.print(f"[bold]3. Uploaded[/bold] {key}: {len(data):,} bytes, twice -> versions {first['VersionId'][:8]}…, {second['VersionId'][:8]}…")

    head = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-79")["Body"].read().decode(errors="replace")
    console.print(f"[bold]4. Ranged read[/bold] of the first 80 bytes: {head.splitlines()[0]!r}")

    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"train/part-{i}.csv", Body=b"1,0.5,0.25\n")
    listing = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    table = Table("prefix / key", "size")
    for prefix in listing.get("CommonPrefixes", []):
        table.add_row(prefix["Prefix"], "")
    for item in listing.get("Contents", []):
        table.add_row(item["Key"], f"{item['Size']:,}")
    console.print("[bold]5. Listing with a delimiter[/bold]")
    console.print(table)

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    with urllib.request.urlopen(url) as response:
        console.print(f"[bold]6. Presigned GET[/bold] by plain HTTP: {len(response.read()):,} bytes")

    group, stream = "/openmaker/demo", f"run-{int(time.time())}"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": f"epoch {i}: accuracy={0.9 + i / 100:.2f}"} for i in range(5)],
    )
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    console.print(f"[bold]7. CloudWatch Logs[/bold] {group}/{stream}:")
    for event in events:
        console.print(f"   {event['message']}")

    versions = s3.list_object_versions(Bucket=bucket)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
    s3.delete_bucket(Bucket=bucket)
    console.print(f"[bold]8. Clean-up[/bold] every version deleted, bucket {bucket} removed.")


def main() -> None:
    settings = Settings()
    if not _port_free(settings.port):
        settings.port = _free_port() if settings.port == DEFAULT_PORT else settings.port
    console.rule("openmaker demo")
    process = start_server(settings)
    try:
        walk_through(settings)
    finally:
        process.terminate()
        process.wait(timeout=30)
    console.rule("done")


if __name__ == "__main__":
    main()
