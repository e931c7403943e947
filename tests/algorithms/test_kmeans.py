"""The built-in K-Means algorithm (``kmeans:1``) through the real server and the official SageMaker SDK v2.

``sagemaker.KMeans(k=10)`` fitted with ``record_set`` train and test channels (RecordIO-protobuf shards
and a manifest) on 3,000 + 500 MNIST digits:

- the job reports ``train:msd``, ``test:msd`` and ``test:ssd`` (``eval_metrics=["msd", "ssd"]``), the test
  figures equal to the saved centers' on the test rows and the training msd within 2 % of scikit-learn's
  k-means++ ``KMeans``;
- ``model.tar.gz`` holds ``model_algo-1``, MXNet's NDArray list with the (10, 784) centers;
- the deployed ``KMeansPredictor`` answers each record's ``closest_cluster``/``distance_to_cluster``
  (RecordIO-protobuf both ways), JSON and CSV answers say the same;
- a batch transform of CSV features (SplitType Line, JSON Lines out) assigns every row as the centers do.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from algodata import log_text
from mnistdata import csv_bytes, images, model_arrays, one_blas_thread

TRAIN_ROWS, TEST_ROWS, K = 3000, 500, 10


@pytest.fixture(scope="module")
def digits(datasets) -> np.ndarray:
    return images(datasets, TRAIN_ROWS + TEST_ROWS)



def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    X, centers = X.astype(np.float64), centers.astype(np.float64)
    return (X**2).sum(1)[:, None] - 2 * X @ centers.T + (centers**2).sum(1)[None, :]


def test_kmeans_record_sets_fit_deploy_transform(server, s3, sdk, role, digits):
    from sagemaker import KMeans
    from sklearn.cluster import KMeans as SklearnKMeans

    bucket = sdk.default_bucket()
    train, test = digits[:TRAIN_ROWS], digits[TRAIN_ROWS:]
    kmeans = KMeans(role=role, instance_count=1, instance_type="ml.m5.large", k=K, eval_metrics=["msd", "ssd"],
                    sagemaker_session=sdk, output_path=f"s3://{bucket}/kmeans-mnist/output")
    kmeans.fit([kmeans.record_set(train), kmeans.record_set(test, channel="test")], logs=False)
    job = kmeans.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/kmeans:1")
    assert job["HyperParameters"]["feature_dim"] == "784" and job["HyperParameters"]["force_dense"] == "True"

    centers = model_arrays(s3, kmeans.model_data)[0]
    assert centers.shape == (K, 784) and centers.dtype == np.float32
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(final) == {"train:msd", "test:msd", "test:ssd"}
    test_best = squared_distances(test, centers).min(axis=1)
    assert final["test:msd"] == pytest.approx(test_best.mean(), rel=1e-5)
    assert final["test:ssd"] == pytest.approx(test_best.sum(), rel=1e-5)
    assert final["train:msd"] == pytest.approx(squared_distances(train, centers).min(axis=1).mean(), rel=1e-5)
    with one_blas_thread():
        reference = SklearnKMeans(n_clusters=K, init="k-means++", random_state=0).fit(train)
    assert final["train:msd"] <= 1.02 * reference.inertia_ / TRAIN_ROWS
    text = log_text(server, job["TrainingJobName"])
    assert "#quality_metric: host=algo-1, epoch=0, train msd <loss>=" in text
    assert "#quality_metric: host=algo-1, test ssd <loss>=" in text

    expected = squared_distances(test, centers)
    predictor = kmeans.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        records = predictor.predict(test[:40])
        assert [r.label["closest_cluster"].float32_tensor.values[0] for r in records] == \
            expected[:40].argmin(axis=1).tolist()
        distances = [r.label["distance_to_cluster"].float32_tensor.values[0] for r in records]
        assert distances == pytest.approx(np.sqrt(expected[:40].min(axis=1)), rel=1e-4)

        runtime = server.client("sagemaker-runtime")
        answer = runtime.invoke_endpoint(EndpointName=predictor.endpoint_name, ContentType="text/csv",
                                         Accept="application/json", Body=csv_bytes(test[:3]))
        predictions = json.loads(answer["Body"].read())["predictions"]
        assert [p["closest_cluster"] for p in predictions] == [float(c) for c in expected[:3].argmin(axis=1)]
        assert [p["distance_to_cluster"] for p in predictions] == pytest.approx(distances[:3], rel=1e-6)
        answer = runtime.invoke_endpoint(EndpointName=predictor.endpoint_name, ContentType="text/csv",
                                         Accept="text/csv", Body=csv_bytes(test[:2]))
        lines = answer["Body"].read().decode().splitlines()
        assert [float(line.split(",")[0]) for line in lines] == [float(c) for c in expected[:2].argmin(axis=1)]
    finally:
        predictor.delete_endpoint()

    s3.put_object(Bucket=bucket, Key="kmeans-mnist/batch/test.csv", Body=csv_bytes(test))
    transformer = kmeans.transformer(instance_count=1, instance_type="ml.m5.large", accept="application/jsonlines",
                                     output_path=f"s3://{bucket}/kmeans-mnist/batch-out/")
    transformer.transform(f"s3://{bucket}/kmeans-mnist/batch/", content_type="text/csv", split_type="Line")
    transformer.wait(logs=False)
    out = s3.get_object(Bucket=bucket, Key="kmeans-mnist/batch-out/test.csv.out")["Body"].read().decode()
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [row["closest_cluster"] for row in rows] == [float(c) for c in expected.argmin(axis=1)]
    assert [row["distance_to_cluster"] for row in rows] == pytest.approx(np.sqrt(expected.min(axis=1)), rel=1e-4)
