"""The book's SDK v1 (``sagemaker==1.72.1``) against openmaker, in its own cached virtualenv: a framework
estimator fit with the v1 names (``train_instance_count``, ``train_instance_type``, ``s3_input``) and
``get_image_uri(region, 'xgboost', 'latest')``, run in a subprocess that has only the user's environment."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "sdk_v1"
SRC = HERE.parents[1] / "src"
REQUIREMENTS = ("sagemaker==1.72.1", "protobuf==3.20.3")
CACHE = Path(os.environ.get("OPENMAKER_TEST_CACHE", Path.home() / ".cache" / "openmaker-tests"))
READY = ".ready"


def _uv() -> str:
    import uv

    return uv.find_uv_bin()


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sdk_v1_python() -> Path:
    """The interpreter of a virtualenv with the SDK v1, built once per machine (reruns reuse it)."""
    key = hashlib.sha256("\0".join((os.path.realpath(sys.executable), sys.version, *REQUIREMENTS)).encode())
    target = CACHE / f"sdk-v1-{key.hexdigest()[:16]}"
    python = target / "bin" / "python"
    if (target / READY).exists():
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    with _locked(CACHE / f"{target.name}.lock"):
        if (target / READY).exists():
            return python
        work = Path(tempfile.mkdtemp(dir=CACHE, prefix=f".build-{target.name}-"))
        try:
            venv = work / "venv"
            subprocess.run(
                [_uv(), "venv", "--quiet", "--relocatable", "--python", sys.executable, str(venv)], check=True
            )
            install = subprocess.run(
                [_uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *REQUIREMENTS],
                capture_output=True,
                text=True,
            )
            if install.returncode != 0:
                pytest.fail(
                    f"installing {' '.join(REQUIREMENTS)} failed:\n{install.stdout}\n{install.stderr}"
                )
            (venv / READY).write_text(" ".join(REQUIREMENTS) + "\n")
            shutil.rmtree(target, ignore_errors=True)
            os.rename(venv, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return python


@pytest.fixture(scope="session")
def v1_python() -> Path:
    return sdk_v1_python()


def test_sdk_v1_framework_fit_and_image_uri(server, s3, role, v1_python, tmp_path) -> None:
    bucket = "book-sdk-v1"
    s3.create_bucket(Bucket=bucket)
    env = server.env()
    env.pop("SAGEMAKER_SUPPRESS_V2_WARNING", None)
    # The shim from `openmaker env` imports openmaker.sdk: the v1 venv finds it through src/.
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(SRC), str(HERE)])
    result = subprocess.run(
        [str(v1_python), str(FIXTURES / "fit_v1.py"), bucket, str(FIXTURES / "code")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["sdk"] == "1.72.1"
    assert out["status"] == "Completed"
    assert out["image"].endswith("/sagemaker-scikit-learn:0.20.0-cpu-py3")
    assert out["role"] == role
    assert out["content_type"] == "text/csv"
    assert out["default_bucket"] == "sagemaker-us-east-1-000000000000"
    # fit() streamed the job's log lines (v1 prints them as it reads CloudWatch Logs).
    assert "fitted slope=2.000 intercept=1.000" in result.stdout

    assert out["model_data"] == f"s3://{bucket}/v1/output/{out['job']}/output/model.tar.gz"
    import io
    import tarfile

    body = s3.get_object(Bucket=bucket, Key=out["model_data"].split(f"{bucket}/", 1)[1])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert json.load(tar.extractfile("line.json")) == {"slope": 2.0, "intercept": 1.0}

    from openmaker.engine.images import resolve_image

    assert out["xgboost_image"] == "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
    spec = resolve_image(out["xgboost_image"], server.home)
    assert (spec.kind, spec.algorithm) == ("builtin", "xgboost")
