"""The built-in k-NN algorithm (``knn:1``) through the real server and the official SageMaker SDK v2.

- ``sagemaker.KNN`` (classifier) with ``record_set`` train and test channels of MNIST digits: the job
  reports ``test:accuracy`` in FinalMetricDataList, equal to scikit-learn's ``KNeighborsClassifier`` with
  the same ``k`` (``sample_size`` above the row count: no sampling); the deployed ``KNNPredictor``
  (RecordIO-protobuf both ways) answers ``label["predicted_label"]``; a JSON request answers
  ``{"predictions": [{"predicted_label": …}]}``; ``verbose=true`` adds the neighbours' distances and labels
  (JSON and RecordIO-protobuf);
- a regressor on Boston housing with CSV channels through a plain ``Estimator``: ``test:mse``, then a
  batch transform of the test features (JSON Lines out);
- mistakes fail at once with a FailureReason that starts ``ClientError:`` and names the hyperparameter.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from knndata import boston, csv_bytes, labelled_csv, mnist

from enginehelp import wait

TRAIN_ROWS, TEST_ROWS, K = 1500, 300, 5


@pytest.fixture(scope="module")
def digits(datasets) -> tuple[np.ndarray, np.ndarray]:
    return mnist(datasets, rows=TRAIN_ROWS + TEST_ROWS)


def _final_metrics(job: dict) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}


def test_knn_classifier_record_sets_deploy_and_json(server, sdk, role, digits):
    from sagemaker import KNN
    from sagemaker.serializer_utils import read_records
    from sklearn.neighbors import KNeighborsClassifier

    X, y = digits
    train_X, train_y = X[:TRAIN_ROWS].astype(np.float32), y[:TRAIN_ROWS].astype(np.float32)
    test_X, test_y = X[TRAIN_ROWS:].astype(np.float32), y[TRAIN_ROWS:].astype(np.float32)
    knn = KNN(role=role, instance_count=1, instance_type="ml.m5.large", k=K, sample_size=10_000,
              predictor_type="classifier", sagemaker_session=sdk)
    knn.fit([knn.record_set(train_X, labels=train_y), knn.record_set(test_X, labels=test_y, channel="test")],
            mini_batch_size=100, logs=False)
    job = knn.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameters"]["feature_dim"] == "784"

    reference = KNeighborsClassifier(n_neighbors=K).fit(X[:TRAIN_ROWS], y[:TRAIN_ROWS])
    assert _final_metrics(job) == {"test:accuracy": pytest.approx(reference.score(X[TRAIN_ROWS:], y[TRAIN_ROWS:]))}
    expected = reference.predict(X[TRAIN_ROWS:TRAIN_ROWS + 20])

    predictor = knn.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        records = predictor.predict(test_X[:20])
        assert [r.label["predicted_label"].float32_tensor.values[0] for r in records] == expected.tolist()

        runtime = server.client("sagemaker-runtime")
        body = json.dumps({"instances": [{"features": row.tolist()} for row in test_X[:3]]})
        answer = runtime.invoke_endpoint(EndpointName=predictor.endpoint_name, ContentType="application/json",
                                         Accept="application/json", Body=body)
        assert answer["ContentType"] == "application/json"
        predictions = json.loads(answer["Body"].read())["predictions"]
        assert predictions == [{"predicted_label": value} for value in expected[:3].tolist()]

        answer = runtime.invoke_endpoint(EndpointName=predictor.endpoint_name, ContentType="text/csv",
                                         Accept="application/json; verbose=true",
                                         Body=csv_bytes(test_X[:2]))
        verbose = json.loads(answer["Body"].read())["predictions"]
        distances, indices = reference.kneighbors(X[TRAIN_ROWS:TRAIN_ROWS + 2])
        for item, want_distances, want_indices in zip(verbose, distances, indices, strict=True):
            assert set(item) == {"predicted_label", "distances", "labels"}
            assert item["distances"] == pytest.approx(want_distances.tolist())
            assert item["labels"] == y[want_indices].tolist()
            assert item["distances"] == sorted(item["distances"])

        answer = runtime.invoke_endpoint(EndpointName=predictor.endpoint_name, ContentType="text/csv",
                                         Accept="application/x-recordio-protobuf; verbose=true",
                                         Body=csv_bytes(test_X[:2]))
        records = read_records(io.BytesIO(answer["Body"].read()))
        assert sorted(records[0].label) == ["distances", "labels", "predicted_label"]
        assert list(records[0].label["labels"].float32_tensor.values) == verbose[0]["labels"]
    finally:
        predictor.delete_endpoint()


def test_knn_regressor_csv_test_channel_and_batch_transform(server, s3, sdk, role, datasets):
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sklearn.neighbors import KNeighborsRegressor

    X, y = boston(datasets)
    cut = 400
    bucket = sdk.default_bucket()
    prefix = f"s3://{bucket}/knn-boston"
    s3.put_object(Bucket=bucket, Key="knn-boston/train/train.csv", Body=labelled_csv(X[:cut], y[:cut]))
    s3.put_object(Bucket=bucket, Key="knn-boston/test/test.csv", Body=labelled_csv(X[cut:], y[cut:]))
    s3.put_object(Bucket=bucket, Key="knn-boston/batch/features.csv", Body=csv_bytes(X[cut:]))

    estimator = Estimator(image_uri=image_uris.retrieve("knn", sdk.boto_region_name), role=role, instance_count=1,
                          instance_type="ml.m5.large", sagemaker_session=sdk, output_path=f"{prefix}/out")
    estimator.set_hyperparameters(feature_dim=13, k=3, sample_size=1000, predictor_type="regressor")
    estimator.fit({"train": TrainingInput(f"{prefix}/train/", content_type="text/csv"),
                   "test": TrainingInput(f"{prefix}/test/", content_type="text/csv")}, logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    reference = KNeighborsRegressor(n_neighbors=3).fit(X[:cut], y[:cut])
    expected = reference.predict(X[cut:])
    mse = float(np.mean((expected - y[cut:]) ** 2))
    assert _final_metrics(job) == {"test:mse": pytest.approx(mse, rel=1e-5)}

    transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large", accept="application/jsonlines",
                                        output_path=f"{prefix}/batch-out/")
    transformer.transform(f"{prefix}/batch/", content_type="text/csv", split_type="Line")
    transformer.wait(logs=False)
    out = s3.get_object(Bucket=bucket, Key="knn-boston/batch-out/features.csv.out")["Body"].read().decode()
    answers = [json.loads(line)["predicted_label"] for line in out.splitlines()]
    np.testing.assert_allclose(answers, expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("hyperparameters", "named"),
    [
        ({"feature_dim": "4", "predictor_type": "classifier", "sample_size": "10"}, "'k' is a required property"),
        ({"feature_dim": "4", "k": "2", "predictor_type": "classifier"}, "'sample_size' is a required property"),
        ({"k": "2", "predictor_type": "classifier", "sample_size": "10"}, "'feature_dim' is a required property"),
        ({"feature_dim": "4", "k": "2", "predictor_type": "classifier", "sample_size": "10", "epochs": "3"},
         "('epochs' was unexpected)"),
        ({"feature_dim": "4", "k": "-1", "predictor_type": "classifier", "sample_size": "10"}, "'k'"),
        ({"feature_dim": "4", "k": "2", "predictor_type": "classifier", "sample_size": "10",
          "index_metric": "L1"}, "'index_metric'"),
    ],
)
def test_knn_mistakes_are_client_errors(server, s3, bucket, hyperparameters, named):
    from sagemaker import image_uris

    sm = server.client("sagemaker")
    s3.put_object(Bucket=bucket, Key="train/train.csv", Body=b"1,0.5,0.2,0.1,0.0\n0,0.1,0.2,0.3,0.4\n")
    name = f"knn-{bucket[-8:]}"  # the bucket is named after the test case
    sm.create_training_job(
        TrainingJobName=name, RoleArn="arn:aws:iam::000000000000:role/SageMakerRole",
        HyperParameters=hyperparameters,
        AlgorithmSpecification={"TrainingImage": image_uris.retrieve("knn", "us-east-1"), "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 120},
    )
    job = wait(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")
    assert named in job["FailureReason"]
