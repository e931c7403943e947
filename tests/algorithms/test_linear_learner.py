"""The built-in Linear Learner through the real server and the official SageMaker SDK v2.

- the book's chapter 3 workflow: ``training-housing.csv`` (label first, 11 features) as the train channel
  and the 240 Boston rows it left out as the test channel, both ``text/csv``, with the book's
  ``feature_dim=11, predictor_type='regressor', mini_batch_size=1``; ``test:rmse`` and the others in
  FinalMetricDataList; batch transform of the features as the book calls it (no Accept, no split) and with
  ``split_type='Line'`` and Accept ``application/jsonlines`` gives ``{"score": …}`` lines scoring R² >= 0.70;
- the SDK's ``LinearLearner`` estimator on RecordIO-protobuf ``record_set``s (the SMS spam data), deployed:
  the default ``RecordSerializer``/``RecordDeserializer``, then JSON and CSV requests;
- failures at once with ``ClientError: …`` naming the hyperparameter, the file or the label.
"""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
from algodata import csv_text, spam_matrix
from lldata import housing_split, r2

from enginehelp import ROLE, wait

REGION_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


@pytest.fixture(scope="module")
def housing(datasets) -> tuple[np.ndarray, np.ndarray]:
    return housing_split(datasets)


@pytest.fixture(scope="module")
def spam(datasets) -> tuple[np.ndarray, np.ndarray]:
    rows = spam_matrix(datasets, features=32)
    cut = int(len(rows) * 0.8)
    return rows[:cut], rows[cut:]


def _model_archive(s3, model_data: str) -> dict[str, bytes]:
    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def test_book_chapter3_housing_regressor_and_batch_transform(s3, sdk, role, housing):
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    train_rows, held_out = housing
    bucket = sdk.default_bucket()
    s3.put_object(Bucket=bucket, Key="ch3/train/training-housing.csv", Body=csv_text(train_rows).encode())
    s3.put_object(Bucket=bucket, Key="ch3/test/testing-housing.csv", Body=csv_text(held_out).encode())
    s3.put_object(Bucket=bucket, Key="ch3/batch/testing-housing.csv", Body=csv_text(held_out[:, 1:]).encode())

    container = image_uris.retrieve("linear-learner", sdk.boto_region_name)
    assert container.endswith("/linear-learner:1")
    linear = Estimator(container, role, instance_count=1, instance_type="ml.c4.xlarge",
                       output_path=f"s3://{bucket}/ch3/output", sagemaker_session=sdk)
    linear.set_hyperparameters(feature_dim=11, predictor_type="regressor", mini_batch_size=1)
    linear.fit({"train": TrainingInput(f"s3://{bucket}/ch3/train/", content_type="text/csv"),
                "test": TrainingInput(f"s3://{bucket}/ch3/test/", content_type="text/csv")}, logs=False)
    job = linear.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert {"train:objective_loss", "test:objective_loss", "test:mse", "test:rmse", "test:absolute_loss",
            "test:r2"} <= set(final)
    assert final["test:rmse"] == pytest.approx(np.sqrt(final["test:mse"]), rel=1e-4)
    assert final["test:objective_loss"] == pytest.approx(final["test:mse"], rel=1e-6)

    archive = _model_archive(s3, linear.model_data)
    assert list(archive) == ["model_algo-1"]
    with np.load(io.BytesIO(archive["model_algo-1"])) as saved:
        weight, bias = saved["weight"], saved["bias"]
        assert json.loads(str(saved["meta"]))["predictor_type"] == "regressor"
    expected = held_out[:, 1:] @ weight[:, 0] + bias[0]

    # The book's transform: no Accept, no split (the whole file is one request): JSON lines all the same.
    transformer = linear.transformer(instance_count=1, instance_type="ml.m4.xlarge",
                                     output_path=f"s3://{bucket}/ch3/book-out/")
    transformer.transform(f"s3://{bucket}/ch3/batch/", content_type="text/csv")
    transformer.wait(logs=False)
    book = s3.get_object(Bucket=bucket, Key="ch3/book-out/testing-housing.csv.out")["Body"].read().decode()

    transformer = linear.transformer(instance_count=1, instance_type="ml.m4.xlarge",
                                     output_path=f"s3://{bucket}/ch3/batch-out/", accept="application/jsonlines")
    transformer.transform(f"s3://{bucket}/ch3/batch/", content_type="text/csv", split_type="Line")
    transformer.wait(logs=False)
    out = s3.get_object(Bucket=bucket, Key="ch3/batch-out/testing-housing.csv.out")["Body"].read().decode()
    lines = out.splitlines()
    assert len(lines) == len(held_out) and all(set(json.loads(line)) == {"score"} for line in lines)
    assert book.splitlines() == lines
    scores = np.array([json.loads(line)["score"] for line in lines])
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert r2(held_out[:, 0], scores) >= 0.70
    assert r2(held_out[:, 0], scores) == pytest.approx(final["test:r2"], rel=1e-6)


def test_binary_classifier_record_sets_deploy_and_predict(s3, sdk, role, spam):
    from sagemaker import LinearLearner
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import CSVSerializer, JSONSerializer

    train_rows, test_rows = spam
    cut = int(len(train_rows) * 0.8)
    ll = LinearLearner(role=role, instance_count=1, instance_type="ml.c4.xlarge", predictor_type="binary_classifier",
                       epochs=5, num_models=8, sagemaker_session=sdk)
    records = [ll.record_set(rows[:, 1:].astype("float32"), labels=rows[:, 0].astype("float32"), channel=channel)
               for rows, channel in ((train_rows[:cut], "train"), (train_rows[cut:], "validation"),
                                     (test_rows, "test"))]
    ll.fit(records, logs=False)
    job = ll.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameters"]["feature_dim"] == "32"
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    for data in ("validation", "test"):
        assert {f"{data}:binary_classification_accuracy", f"{data}:binary_f_beta", f"{data}:precision",
                f"{data}:recall", f"{data}:roc_auc_score", f"{data}:objective_loss"} <= set(final)
    assert final["test:binary_classification_accuracy"] > 0.9

    predictor = ll.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge")
    try:
        features = test_rows[:20, 1:].astype("float32")
        records = predictor.predict(features)  # RecordSerializer in, RecordDeserializer out
        assert len(records) == 20
        labels = [record.label["predicted_label"].float32_tensor.values[0] for record in records]
        scores = [record.label["score"].float32_tensor.values[0] for record in records]
        assert set(labels) <= {0.0, 1.0} and all(0.0 <= s <= 1.0 for s in scores)
        assert np.mean(np.array(labels) == test_rows[:20, 0]) >= 0.8

        predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
        answer = predictor.predict({"instances": [{"features": row.tolist()} for row in features[:3]]})
        assert [p["predicted_label"] for p in answer["predictions"]] == [int(label) for label in labels[:3]]
        np.testing.assert_allclose([p["score"] for p in answer["predictions"]], scores[:3], rtol=1e-5)

        predictor.serializer = CSVSerializer()
        answer = predictor.predict(features[:3])
        assert set(answer["predictions"][0]) == {"score", "predicted_label"}
        np.testing.assert_allclose([p["score"] for p in answer["predictions"]], scores[:3], rtol=1e-5)
    finally:
        predictor.delete_endpoint()


def _job(name: str, bucket: str, hyperparameters: dict[str, str], train: str = "train") -> dict:
    return {
        "TrainingJobName": name, "RoleArn": ROLE, "HyperParameters": hyperparameters,
        "AlgorithmSpecification": {"TrainingImage": REGION_IMAGE, "TrainingInputMode": "File"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{train}/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def test_failures_name_the_problem(server, s3, bucket, housing):
    sm = server.client("sagemaker")
    rows = housing[0][:40]
    s3.put_object(Bucket=bucket, Key="train/train.csv", Body=csv_text(rows).encode())
    ragged = csv_text(rows[:5]) + "1,2,3\n" + csv_text(rows[5:10])
    s3.put_object(Bucket=bucket, Key="ragged/part-7.csv", Body=ragged.encode())
    s3.put_object(Bucket=bucket, Key="labels/train.csv", Body=csv_text(rows).encode())
    regressor = {"predictor_type": "regressor"}
    cases = {
        "ll-unknown-hp": ({**regressor, "feture_dim": "11"}, "train",
                          "Additional properties are not allowed ('feture_dim' was unexpected)"),
        "ll-epochs-range": ({**regressor, "epochs": "0"}, "train", "0 is not valid for 'epochs'"),
        "ll-no-predictor-type": ({"feature_dim": "11"}, "train", "'predictor_type' is a required property"),
        "ll-multiclass-no-classes": ({"predictor_type": "multiclass_classifier"}, "train",
                                     "'num_classes' is a required property"),
        "ll-loss-for-type": ({**regressor, "loss": "logistic"}, "train", "'logistic' is not valid for 'loss'"),
        "ll-feature-dim": ({**regressor, "feature_dim": "12"}, "train", "have 11 features but feature_dim is 12"),
        "ll-ragged-csv": (regressor, "ragged", "Rows 6-6 in file"),
        "ll-binary-labels": ({"predictor_type": "binary_classifier"}, "labels", "must be 0 or 1"),
    }
    for name, (hps, train, _) in cases.items():
        sm.create_training_job(**_job(name, bucket, hps, train))
    for name, (_, _, message) in cases.items():
        job = wait(sm, name, timeout=120)
        assert job["TrainingJobStatus"] == "Failed", name
        reason = job["FailureReason"]
        assert reason.startswith("ClientError: ") and message in reason, (name, reason)
    assert "part-7.csv" in sm.describe_training_job(TrainingJobName="ll-ragged-csv")["FailureReason"]
