"""SageMaker training and processing jobs through the real server with boto3 (and the SDK's
``Estimator.attach``): create, describe, list, stop, tags, the errors the real service gives, and the
``openmaker jobs ls`` / ``openmaker logs`` commands.

Jobs are BYO commands so they run wherever the engine runs them; assertions that depend on how far a
job got accept every state it may be in.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
ACCOUNT_REGION = "us-east-1:000000000000"
STATES = ("InProgress", "Stopping", "Completed", "Failed", "Stopped")
TERMINAL = ("Completed", "Failed", "Stopped")


@pytest.fixture(scope="module")
def sm(server):
    return server.client("sagemaker")


@pytest.fixture(scope="module")
def out_bucket(server) -> str:
    name = "t-sagemaker-training-api"
    server.client("s3").create_bucket(Bucket=name)
    return name


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def training(name: str, bucket: str, code: str = "print('hi')", **overrides) -> dict:
    args = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "byo:latest",
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "-c", code],
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    args.update(overrides)
    return args


def _error(err: pytest.ExceptionInfo) -> tuple[str, str]:
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def _wait_terminal(sm, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        if status in TERMINAL:
            return status
        time.sleep(0.5)
    return status


# --- create / describe ----------------------------------------------------------------------------


def test_create_and_describe_shape(sm, out_bucket) -> None:
    name = _unique("Shape-Job")
    metrics = [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]
    args = training(name, out_bucket, HyperParameters={"epochs": "3"}, Tags=[{"Key": "team", "Value": "ml"}])
    args["AlgorithmSpecification"]["MetricDefinitions"] = metrics
    arn = sm.create_training_job(**args)["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:{ACCOUNT_REGION}:training-job/{name.lower()}"

    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobName"] == name and job["TrainingJobArn"] == arn
    assert job["TrainingJobStatus"] in STATES
    assert job["SecondaryStatus"]
    assert job["OutputDataConfig"] == {"S3OutputPath": f"s3://{out_bucket}/out", "KmsKeyId": ""}
    algorithm = job["AlgorithmSpecification"]
    assert algorithm["TrainingImage"] == "byo:latest" and algorithm["MetricDefinitions"] == metrics
    assert algorithm["EnableSageMakerMetricsTimeSeries"] is False
    assert job["HyperParameters"] == {"epochs": "3"}
    assert job["RoleArn"] == ROLE
    assert job["ResourceConfig"]["InstanceCount"] == 1
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert job["EnableNetworkIsolation"] is False and job["EnableManagedSpotTraining"] is False
    assert job["EnableInterContainerTrafficEncryption"] is False
    assert abs(job["CreationTime"] - datetime.now(UTC)) < timedelta(minutes=5)
    assert job["LastModifiedTime"] >= job["CreationTime"]
    transitions = job["SecondaryStatusTransitions"]
    assert transitions[0]["Status"] == "Starting" and isinstance(transitions[0]["StartTime"], datetime)
    assert "Tags" not in job
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    status = _wait_terminal(sm, name)
    job = sm.describe_training_job(TrainingJobName=name)
    if status == "Completed":
        assert job["ModelArtifacts"]["S3ModelArtifacts"].startswith(f"s3://{out_bucket}/out/{name}/")
        assert job["TrainingEndTime"] >= job["TrainingStartTime"]
        assert job["TrainingTimeInSeconds"] >= 0
    elif status == "Failed":
        assert job["FailureReason"]


def test_duplicate_name_is_resource_in_use(sm, out_bucket) -> None:
    name = _unique("dup")
    arn = sm.create_training_job(**training(name, out_bucket))["TrainingJobArn"]
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**training(name, out_bucket))
    assert _error(err) == (
        "ResourceInUse",
        "Training job names must be unique within an AWS account and region, and a training job with this "
        f"name already exists ({arn})",
    )


def test_missing_job(sm) -> None:
    for call in (sm.describe_training_job, sm.stop_training_job):
        with pytest.raises(ClientError) as err:
            call(TrainingJobName="no-such-job")
        assert _error(err) == ("ValidationException", "Requested resource not found.")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"OutputDataConfig": {"S3OutputPath": "/tmp/out"}}, "S3OutputPath"),
        ({"RoleArn": "not-a-role-arn-at-all-really"}, "roleArn"),
        ({"ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 0, "VolumeSizeInGB": 1}}, "instanceCount"),
        ({"TrainingJobName": "bad_name!"}, "trainingJobName"),
        (
            {
                "InputDataConfig": [
                    {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/a"}}},
                    {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/b"}}},
                ]
            },
            "unique",
        ),
        (
            {"InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "http:/x"}}}]},
            "S3Uri",
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": "no-such-image:1", "TrainingInputMode": "File"}},
            "no-such-image",
        ),
    ],
    ids=["output-path", "role", "instance-count", "name", "channels", "channel-uri", "image"],
)
def test_validation_errors(sm, out_bucket, change: dict, needle: str) -> None:
    name = _unique("invalid")
    args = training(name, out_bucket)
    args.update(change)
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**args)
    code, message = _error(err)
    assert code == "ValidationException" and needle.lower() in message.lower()
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName=name)  # nothing was recorded


# --- list ---------------------------------------------------------------------------------------------


def test_list_filters_sort_and_pagination(sm, out_bucket) -> None:
    prefix = _unique("lst")
    before = datetime.now(UTC) - timedelta(seconds=1)
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        sm.create_training_job(**training(name, out_bucket))
    after = datetime.now(UTC) + timedelta(seconds=1)

    summaries = sm.list_training_jobs(NameContains=prefix, MaxResults=100)["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in summaries] == names[::-1]  # newest first by default
    assert all(s["TrainingJobStatus"] in STATES and s["TrainingJobArn"].endswith(s["TrainingJobName"]) for s in summaries)
    upper = sm.list_training_jobs(NameContains=prefix.upper(), SortBy="Name", SortOrder="Ascending")
    assert [s["TrainingJobName"] for s in upper["TrainingJobSummaries"]] == names

    pages, token = [], None
    while True:
        kwargs = {"NameContains": prefix, "SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_training_jobs(**kwargs)
        pages.append([s["TrainingJobName"] for s in page["TrainingJobSummaries"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [names[0:2], names[2:4], names[4:5]]

    first = sm.list_training_jobs(NameContains=prefix, MaxResults=2)
    with pytest.raises(ClientError) as err:  # a token is bound to the filters it was made for
        sm.list_training_jobs(NameContains="other", NextToken=first["NextToken"])
    assert _error(err)[0] == "ValidationException"

    assert len(sm.list_training_jobs(NameContains=prefix, CreationTimeAfter=before)["TrainingJobSummaries"]) == 5
    assert sm.list_training_jobs(NameContains=prefix, CreationTimeBefore=before)["TrainingJobSummaries"] == []
    assert sm.list_training_jobs(NameContains=prefix, CreationTimeAfter=after)["TrainingJobSummaries"] == []
    assert len(sm.list_training_jobs(NameContains=prefix, LastModifiedTimeAfter=before)["TrainingJobSummaries"]) == 5

    for status in STATES:
        listed = sm.list_training_jobs(NameContains=prefix, StatusEquals=status)["TrainingJobSummaries"]
        assert all(s["TrainingJobStatus"] == status for s in listed)
    by_status = sm.list_training_jobs(NameContains=prefix, SortBy="Status", SortOrder="Ascending")["TrainingJobSummaries"]
    assert [s["TrainingJobStatus"] for s in by_status] == sorted(s["TrainingJobStatus"] for s in by_status)
    paginator = sm.get_paginator("list_training_jobs")
    listed = [s["TrainingJobName"] for page in paginator.paginate(NameContains=prefix, PaginationConfig={"PageSize": 3}) for s in page["TrainingJobSummaries"]]
    assert sorted(listed) == names


# --- stop ----------------------------------------------------------------------------------------------


def test_stop(sm, out_bucket) -> None:
    name = _unique("stop")
    sm.create_training_job(**training(name, out_bucket, code="import time; time.sleep(120)"))
    sm.stop_training_job(TrainingJobName=name)
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    sm.stop_training_job(TrainingJobName=name) if _status(sm, name) == "Stopping" else None
    status = _wait_terminal(sm, name, timeout=60)
    if status in TERMINAL:
        assert status == "Stopped"
        with pytest.raises(ClientError) as err:
            sm.stop_training_job(TrainingJobName=name)
        assert _error(err) == ("ValidationException", "The job status is Stopped")


def _status(sm, name: str) -> str:
    return sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]


# --- tags ----------------------------------------------------------------------------------------------


def test_tags(sm, out_bucket) -> None:
    name = _unique("tags")
    arn = sm.create_training_job(**training(name, out_bucket, Tags=[{"Key": "a", "Value": "1"}]))["TrainingJobArn"]
    assert sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])["Tags"] == [
        {"Key": "b", "Value": "2"},
        {"Key": "a", "Value": "3"},
    ]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    missing = f"arn:aws:sagemaker:{ACCOUNT_REGION}:training-job/never-created"
    with pytest.raises(ClientError) as err:
        sm.list_tags(ResourceArn=missing)
    assert _error(err)[0] == "ValidationException"
    with pytest.raises(ClientError) as err:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert _error(err)[0] == "ValidationException"


# --- processing ----------------------------------------------------------------------------------------


def test_processing_jobs(sm, out_bucket) -> None:
    name = _unique("proc")
    args = {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": "byo:latest", "ContainerEntrypoint": ["python3", "-c", "print('p')"]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": f"s3://{out_bucket}/p", "LocalPath": "/opt/ml/processing/o", "S3UploadMode": "EndOfJob"}}]
        },
        "Environment": {"A": "1"},
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    arn = sm.create_processing_job(**args)["ProcessingJobArn"]
    assert arn == f"arn:aws:sagemaker:{ACCOUNT_REGION}:processing-job/{name}"
    job = sm.describe_processing_job(ProcessingJobName=name)
    assert job["ProcessingJobStatus"] in STATES and job["Environment"] == {"A": "1"}
    assert job["AppSpecification"] == args["AppSpecification"]
    assert job["ProcessingOutputConfig"]["Outputs"][0]["OutputName"] == "o"
    assert [s["ProcessingJobName"] for s in sm.list_processing_jobs(NameContains=name)["ProcessingJobSummaries"]] == [name]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as err:
        sm.create_processing_job(**args)
    assert _error(err)[0] == "ResourceInUse"
    with pytest.raises(ClientError) as err:
        sm.describe_processing_job(ProcessingJobName="no-such-processing-job")
    assert _error(err)[0] == "ValidationException" and "Could not find" in _error(err)[1]
    bad = dict(args, ProcessingJobName=_unique("proc-bad"))
    bad["ProcessingOutputConfig"] = {"Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": f"s3://{out_bucket}/p", "LocalPath": "/etc", "S3UploadMode": "EndOfJob"}}]}
    with pytest.raises(ClientError) as err:
        sm.create_processing_job(**bad)
    assert _error(err)[0] == "ValidationException" and "/opt/ml/processing" in _error(err)[1]
    try:
        sm.stop_processing_job(ProcessingJobName=name)
    except ClientError as error:  # it may have finished already
        assert error.response["Error"]["Message"].startswith("The job status is")


# --- the SageMaker SDK ---------------------------------------------------------------------------------


def test_estimator_attach(server, sm, out_bucket, monkeypatch) -> None:
    import openmaker.sdk  # noqa: F401  (the documented one line)

    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    config = server.home / "sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    import boto3
    import sagemaker
    from sagemaker.estimator import Estimator

    name = _unique("attach")
    sm.create_training_job(**training(name, out_bucket, HyperParameters={"lr": "0.1"}, Tags=[{"Key": "t", "Value": "1"}]))
    try:
        sm.stop_training_job(TrainingJobName=name)  # attach waits for the end: make the end near
    except ClientError:
        pass  # already finished
    if _wait_terminal(sm, name, timeout=120) not in TERMINAL:
        pytest.skip("the engine did not finish the job (stub engine?)")
    session = sagemaker.Session(
        boto_session=boto3.Session(
            aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key, region_name="us-east-1"
        )
    )
    if _status(sm, name) == "Failed":
        pytest.skip("the job failed; attach raises for failed jobs by design")
    estimator = Estimator.attach(name, sagemaker_session=session)
    assert estimator.latest_training_job.name == name
    assert estimator.output_path == f"s3://{out_bucket}/out"
    assert estimator.output_kms_key == ""
    assert estimator.instance_count == 1 and estimator.image_uri == "byo:latest"
    assert estimator.hyperparameters()["lr"] == "0.1"
    assert {"Key": "t", "Value": "1"} in estimator.tags


# --- CLI -----------------------------------------------------------------------------------------------


def _cli(server, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = server.env()
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "openmaker", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_cli_jobs_ls(server, sm, out_bucket) -> None:
    name = _unique("cli-ls")
    sm.create_training_job(**training(name, out_bucket))
    result = _cli(server, "jobs", "ls", "--kind", "training")
    assert result.returncode == 0, result.stderr
    assert name in result.stdout and "training" in result.stdout
    assert any(status in result.stdout for status in STATES)
    result = _cli(server, "jobs", "ls", "--kind", "nope")
    assert result.returncode != 0


def test_cli_logs(server, sm, out_bucket) -> None:
    name = _unique("cli-logs")
    sm.create_training_job(**training(name, out_bucket))
    logs = server.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    try:
        logs.create_log_group(logGroupName=group)
    except ClientError:
        pass
    stream = f"{name}/algo-1-{int(time.time())}-cli"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": f"line {i} of {name}"} for i in range(3)],
    )
    result = _cli(server, "logs", name)
    assert result.returncode == 0, result.stderr
    assert all(f"line {i} of {name}" in result.stdout for i in range(3))

    if _wait_terminal(sm, name, timeout=120) in TERMINAL:
        followed = _cli(server, "logs", name, "--follow", "--kind", "training")
        assert followed.returncode == 0, followed.stderr
        assert f"line 2 of {name}" in followed.stdout
        assert name in followed.stderr  # the closing status line

    missing = _cli(server, "logs", "no-such-job-anywhere")
    assert missing.returncode == 1 and "no job named" in missing.stderr
