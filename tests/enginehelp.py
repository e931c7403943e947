"""Helpers for engine tests: submit BYO jobs through boto3's low-level sagemaker client and wait."""

from __future__ import annotations

import io
import tarfile
import textwrap
import time

ROLE = "arn:aws:iam::000000000000:role/openmaker-test"
IMAGE = "openmaker/byo:latest"
TERMINAL = ("Completed", "Failed", "Stopped")


def script(code: str) -> list[str]:
    return ["python3", "-c", textwrap.dedent(code)]


def sourcedir(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def training(s3, name: str, bucket: str, code: str, **extra) -> dict:
    """A BYO training job whose script is staged the SDK's way (sourcedir.tar.gz named by the
    ``sagemaker_submit_directory`` hyperparameter) and run as ``python3 /opt/ml/code/train.py``."""
    key = f"{name}/source/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=sourcedir({"train.py": textwrap.dedent(code)}))
    hps = {
        "sagemaker_submit_directory": f'"s3://{bucket}/{key}"',
        "sagemaker_program": '"train.py"',
        **extra.pop("HyperParameters", {}),
    }
    params = {
        "HyperParameters": hps,
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "/opt/ml/code/train.py"],
        },
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }
    metrics = extra.pop("MetricDefinitions", None)
    if metrics:
        params["AlgorithmSpecification"]["MetricDefinitions"] = metrics
    params.update(extra)
    return params


def channel(name: str, uri: str, **s3) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, **s3}},
    }


def wait(sm, name: str, kind: str = "training", timeout: float = 60, until=TERMINAL) -> dict:
    describe = sm.describe_training_job if kind == "training" else sm.describe_processing_job
    key = "TrainingJobName" if kind == "training" else "ProcessingJobName"
    status_key = "TrainingJobStatus" if kind == "training" else "ProcessingJobStatus"
    deadline = time.monotonic() + timeout
    while True:
        job = describe(**{key: name})
        if job[status_key] in until or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def untar(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def log_lines(server, group: str, prefix: str) -> dict[str, list[str]]:
    logs = server.client("logs")
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)["logStreams"]
    result = {}
    for stream in streams:
        events = logs.get_log_events(
            logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        result[stream["logStreamName"]] = [e["message"] for e in events]
    return result
