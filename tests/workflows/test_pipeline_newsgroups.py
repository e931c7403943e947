"""The inference-pipeline tutorial (SEED-WORKFLOWS §2) served, through the official SDK v2 and plain boto3:

* as a real two-container serial pipeline: a TF-IDF featurizer (text/csv posts in, application/x-npz out)
  and the MultinomialNB classifier (application/x-npz in, label names out), both trained by one
  ``SKLearn(...).fit()`` (``tests/fixtures/newsgroups_pipeline``, whose README documents the formats),
  deployed with ``PipelineModel(models=[featurizer, classifier]).deploy()``;
* as the tutorial does it, one container: its own ``train.py`` (hard-coded ``/opt/ml/model`` paths, so it
  needs the sandbox) trained and deployed with ``estimator.deploy()``.

Both are invoked with ``boto3.client('sagemaker-runtime').invoke_endpoint(ContentType='text/csv',
Body=<a preprocessed post>)``; the post about a Mac's clock oscillator must come back
``comp.sys.mac.hardware``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import boto3
import pytest
from newsgroups import prepare
from sdkclock import FastClock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PIPELINE_DIR = FIXTURES / "newsgroups_pipeline"
TUTORIAL_DIR = FIXTURES / "newsgroups" / "source_dir"
MAC_POST_SUBJECT = "mhz clock oscillator"  # "... quest for speed ... clock oscillators ... q(uadra) ..."
MAC = "comp.sys.mac.hardware"


@pytest.fixture(scope="module")
def fast_clock():
    import sagemaker.session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sagemaker.session, "time", FastClock(time))
        yield


@pytest.fixture(scope="module")
def prepared(datasets, tmp_path_factory):
    """(train.csv path, the test frame with non-empty posts)."""
    import pandas as pd

    paths = prepare(
        datasets / "20newsgroups" / "20news-bydate.tar.gz", tmp_path_factory.mktemp("ng-pipeline")
    )
    test = pd.read_csv(paths["test"], index_col=0)
    return paths["train"], test[test["data"].fillna("").str.strip() != ""]


@pytest.fixture(scope="module")
def train_uri(s3, sagemaker_session, prepared) -> str:
    bucket = sagemaker_session.default_bucket()
    s3.upload_file(str(prepared[0]), bucket, "ng-pipeline/train/train.csv")  # as the tutorial: boto3
    return f"s3://{bucket}/ng-pipeline/train/train.csv"


@pytest.fixture
def runtime(sdk_env):
    """The user's client exactly as the tutorial creates it: everything from the environment."""
    return boto3.client("sagemaker-runtime")


def mac_post(test) -> str:
    row = test[test["data_subject"] == MAC_POST_SUBJECT].iloc[0]
    assert row["label_names"] == MAC
    return row["data"]


def cleanup(sagemaker_session, endpoint: str) -> list[str]:
    """Delete the endpoint, its config and its models; returns the model names."""
    client = sagemaker_session.sagemaker_client
    config = client.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    names = [
        v["ModelName"]
        for v in client.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    ]
    client.delete_endpoint(EndpointName=endpoint)
    client.delete_endpoint_config(EndpointConfigName=config)
    for name in names:
        client.delete_model(ModelName=name)
    return names


def test_two_container_pipeline(sagemaker_session, role, train_uri, prepared, runtime, fast_clock):
    from sagemaker.pipeline import PipelineModel
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.model import SKLearnModel

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(PIPELINE_DIR),
        framework_version="1.2-1",
        py_version="py3",
        instance_type="ml.m5.large",
        role=role,
        sagemaker_session=sagemaker_session,
    )
    estimator.fit({"train": train_uri}, logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    common = dict(
        model_data=estimator.model_data,
        role=role,
        source_dir=str(PIPELINE_DIR),
        framework_version="1.2-1",
        py_version="py3",
        sagemaker_session=sagemaker_session,
    )
    featurizer = SKLearnModel(entry_point="featurizer.py", **common)
    classifier = SKLearnModel(entry_point="classifier.py", **common)
    pipeline = PipelineModel(models=[featurizer, classifier], role=role, sagemaker_session=sagemaker_session)
    pipeline.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    endpoint = pipeline.endpoint_name
    try:
        client = sagemaker_session.sagemaker_client
        described = client.describe_endpoint(EndpointName=endpoint)
        assert described["EndpointStatus"] == "InService", described.get("FailureReason")
        assert len(described["ProductionVariants"][0]["DeployedImages"]) == 2
        model = client.describe_model(ModelName=pipeline.name)
        assert "PrimaryContainer" not in model and len(model["Containers"]) == 2
        assert [c["Environment"]["SAGEMAKER_PROGRAM"] for c in model["Containers"]] == [
            "featurizer.py",
            "classifier.py",
        ]

        _, test = prepared
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=mac_post(test))
        assert response["Body"].read().decode() == MAC
        assert response["ContentType"] == "text/csv"

        # Many posts in one request (one per line) come back one label per line, as accurate as the
        # tutorial's model (0.82 on the whole test set).
        sample = test.sample(300, random_state=7)
        body = "\n".join(sample["data"].str.replace("\n", " "))
        answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)
        labels = answer["Body"].read().decode().splitlines()
        assert len(labels) == len(sample)
        accuracy = sum(a == b for a, b in zip(labels, sample["label_names"], strict=True)) / len(sample)
        assert accuracy >= 0.75, accuracy

        # The featurizer refuses what it cannot read: ModelError naming the first container.
        with pytest.raises(runtime.exceptions.ModelError) as info:
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json", Body=b'["x"]')
        assert "accepts text/csv" in info.value.response["OriginalMessage"]
    finally:
        names = cleanup(sagemaker_session, endpoint)
    assert names == [pipeline.name]


@pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="the script reads /opt/ml/model/... by hard-coded paths: needs bubblewrap",
)
def test_single_container_tutorial(sagemaker_session, train_uri, prepared, runtime, fast_clock):
    from sagemaker.sklearn.estimator import SKLearn

    aws_sklearn = SKLearn(
        entry_point="train.py",
        source_dir=str(TUTORIAL_DIR),
        instance_type="ml.m4.xlarge",
        role="SageMakerRole",
        py_version="py3",
        framework_version="0.20.0",
        sagemaker_session=sagemaker_session,
    )
    aws_sklearn.fit({"train": train_uri}, logs=False)
    job = aws_sklearn.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    endpoint = aws_sklearn.deploy(instance_type="ml.m4.xlarge", initial_instance_count=1).endpoint_name
    try:
        _, test = prepared
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=mac_post(test))
        assert response["Body"].read().decode() == MAC
        # The tutorial's input_fn accepts text/csv only: anything else is the model's error.
        with pytest.raises(runtime.exceptions.ModelError) as info:
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType="application/json", Body=b"{}")
        assert "only accepts text/csv" in info.value.response["OriginalMessage"]
    finally:
        cleanup(sagemaker_session, endpoint)
