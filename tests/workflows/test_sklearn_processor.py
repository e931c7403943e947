"""Processing jobs through the official SDK v2: ``SKLearnProcessor`` (the script is uploaded by the SDK and
started as ``python3 /opt/ml/processing/input/code/<script>``) and ``ScriptProcessor(command=['python3'])``
with the scikit-learn image, on the book's housing CSV. The scripts use the hard-coded
``/opt/ml/processing`` paths every processing script uses, so they need the bubblewrap sandbox."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "processing"
HOUSING_ROWS = 266

pytestmark = [
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="processing scripts use /opt/ml/processing paths"
    ),
    pytest.mark.usefixtures("fast_sdk_clock"),
]


@pytest.fixture(scope="module")
def housing_uri(s3, sagemaker_session, datasets) -> str:
    bucket = sagemaker_session.default_bucket()
    s3.upload_file(
        str(datasets / "book" / "chapter3" / "training-housing.csv"), bucket, "housing/training-housing.csv"
    )
    return f"s3://{bucket}/housing"


def _csv_rows(s3, uri: str) -> list[list[str]]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [row for row in csv.reader(io.StringIO(text)) if row]


def test_sklearn_processor(s3, sagemaker_session, role, housing_uri, capfd) -> None:
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    bucket = sagemaker_session.default_bucket()
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=role,
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=sagemaker_session,
    )
    capfd.readouterr()
    processor.run(
        code=str(FIXTURES / "preprocess.py"),
        inputs=[ProcessingInput(source=housing_uri, destination="/opt/ml/processing/input")],
        outputs=[
            ProcessingOutput(
                output_name="train",
                source="/opt/ml/processing/train",
                destination=f"s3://{bucket}/processed/train",
            ),
            ProcessingOutput(
                output_name="test",
                source="/opt/ml/processing/test",
                destination=f"s3://{bucket}/processed/test",
            ),
        ],
        arguments=["--train-test-split-ratio", "0.2"],
        logs=True,
    )
    printed = capfd.readouterr().out
    job = processor.latest_job.describe()
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/preprocess.py",
    ]
    assert "Received arguments {'train_test_split_ratio': 0.2, 'random_state': 0}" in printed, printed[-2000:]
    assert f"input rows {HOUSING_ROWS} columns 12" in printed

    train = _csv_rows(s3, f"s3://{bucket}/processed/train/train.csv")
    test = _csv_rows(s3, f"s3://{bucket}/processed/test/test.csv")
    assert (len(train), len(test)) == (212, 54)
    assert all(len(row) == 12 for row in train + test)
    # The label stays first and untouched; the features are scaled with the training statistics.
    labels = {row[0] for row in _csv_rows(s3, f"{housing_uri}/training-housing.csv")}
    assert {row[0] for row in train + test} <= labels
    for column in range(1, 12):
        values = [float(row[column]) for row in train]
        assert abs(sum(values) / len(values)) < 1e-6
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in job["ProcessingOutputConfig"]["Outputs"]}
    assert outputs == {"train": f"s3://{bucket}/processed/train", "test": f"s3://{bucket}/processed/test"}


def test_script_processor(s3, sagemaker_session, role, housing_uri) -> None:
    from sagemaker import image_uris
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor

    bucket = sagemaker_session.default_bucket()
    image_uri = image_uris.retrieve("sklearn", sagemaker_session.boto_region_name, version="1.2-1")
    assert image_uri.endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    processor = ScriptProcessor(
        command=["python3"],
        image_uri=image_uri,
        role=role,
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=sagemaker_session,
    )
    processor.run(
        code=str(FIXTURES / "summarize.py"),
        inputs=[ProcessingInput(source=housing_uri, destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(source="/opt/ml/processing/summary", destination=f"s3://{bucket}/summary")],
        arguments=["--label", "medv"],
        logs=True,
    )
    job = processor.latest_job.describe()
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    summary = json.loads(s3.get_object(Bucket=bucket, Key="summary/summary.json")["Body"].read())
    assert summary["label"] == "medv"
    assert (summary["rows"], summary["columns"]) == (HOUSING_ROWS, 12)
    rows = _csv_rows(s3, f"{housing_uri}/training-housing.csv")
    assert summary["mean"][0] == pytest.approx(sum(float(row[0]) for row in rows) / len(rows), abs=1e-5)
