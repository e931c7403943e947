"""The built-in PCA algorithm (``pca:1``) through the real server and the official SageMaker SDK v2.

``sagemaker.PCA(num_components=12)`` fitted with a ``record_set`` of 2,000 MNIST digits (the SDK picks
``mini_batch_size`` 500):

- ``model.tar.gz`` holds ``model_algo-1``, MXNet's NDArray dict with ``s`` (singular values, ascending),
  ``v`` (784 x 12, components as columns) and ``mean``; the singular values are scikit-learn's in reverse
  order;
- the deployed ``PCAPredictor`` answers ``label["projection"]`` = ``(x - mean) @ v`` (RecordIO-protobuf
  both ways), which is scikit-learn's ``transform`` reversed; JSON answers ``{"projections": [...]}``;
- a batch transform of RecordIO-protobuf records (SplitType RecordIO, JSON Lines out) projects every row;
- ``algorithm_mode=randomized`` through a plain ``Estimator`` with CSV channels gives the same leading
  singular values.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from mnistdata import csv_bytes, images, model_arrays, one_blas_thread

ROWS, COMPONENTS = 2000, 12


@pytest.fixture(scope="module")
def digits(datasets) -> np.ndarray:
    return images(datasets, ROWS + 100)


@pytest.fixture(scope="module")
def reference(digits):
    from sklearn.decomposition import PCA

    with one_blas_thread():
        return PCA(n_components=COMPONENTS, svd_solver="full").fit(digits[:ROWS].astype(np.float64))


def test_pca_record_set_fit_deploy_transform(server, s3, sdk, role, digits, reference):
    from sagemaker import PCA
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    bucket = sdk.default_bucket()
    train, extra = digits[:ROWS], digits[ROWS:]
    pca = PCA(role=role, instance_count=1, instance_type="ml.m5.large", num_components=COMPONENTS,
              sagemaker_session=sdk, output_path=f"s3://{bucket}/pca-mnist/output")
    pca.fit(pca.record_set(train), logs=False)
    job = pca.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/pca:1")
    assert job["HyperParameters"]["mini_batch_size"] == "500"

    arrays = model_arrays(s3, pca.model_data)
    assert set(arrays) == {"s", "v", "mean"}
    s, v, mean = arrays["s"], arrays["v"], arrays["mean"]
    assert s.shape == (COMPONENTS,) and v.shape == (784, COMPONENTS) and mean.shape == (1, 784)
    np.testing.assert_allclose(s, reference.singular_values_[::-1], rtol=1e-5)
    np.testing.assert_allclose(v[:, ::-1].T, reference.components_, atol=1e-5)
    expected = (extra.astype(np.float64) - mean) @ v
    np.testing.assert_allclose(expected[:, ::-1], reference.transform(extra), atol=1e-4)

    predictor = pca.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        records = predictor.predict(extra[:30])
        projections = np.array([r.label["projection"].float32_tensor.values for r in records])
        np.testing.assert_allclose(projections, expected[:30], rtol=1e-4, atol=1e-4)

        runtime = server.client("sagemaker-runtime")
        answer = runtime.invoke_endpoint(EndpointName=predictor.endpoint_name, ContentType="text/csv",
                                         Accept="application/json", Body=csv_bytes(extra[:2]))
        body = json.loads(answer["Body"].read())
        assert list(body) == ["projections"]
        np.testing.assert_allclose([p["projection"] for p in body["projections"]], expected[:2], atol=1e-4)
    finally:
        predictor.delete_endpoint()

    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, extra)
    s3.put_object(Bucket=bucket, Key="pca-mnist/batch/extra.rec", Body=buffer.getvalue())
    transformer = pca.transformer(instance_count=1, instance_type="ml.m5.large", accept="application/jsonlines",
                                  output_path=f"s3://{bucket}/pca-mnist/batch-out/")
    transformer.transform(f"s3://{bucket}/pca-mnist/batch/", content_type="application/x-recordio-protobuf",
                          split_type="RecordIO")
    transformer.wait(logs=False)
    out = s3.get_object(Bucket=bucket, Key="pca-mnist/batch-out/extra.rec.out")["Body"].read().decode()
    rows = [json.loads(line)["projection"] for line in out.splitlines() if line.strip()]
    np.testing.assert_allclose(rows, expected, rtol=1e-4, atol=1e-4)


def test_pca_randomized_with_csv_channels(server, s3, sdk, role, digits, reference):
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    bucket = sdk.default_bucket()
    s3.put_object(Bucket=bucket, Key="pca-csv/train/train.csv", Body=csv_bytes(digits[:ROWS]))
    s3.put_object(Bucket=bucket, Key="pca-csv/test/test.csv", Body=csv_bytes(digits[ROWS:]))
    estimator = Estimator(image_uri=image_uris.retrieve("pca", sdk.boto_region_name), role=role,
                          instance_count=1, instance_type="ml.m5.large", sagemaker_session=sdk,
                          output_path=f"s3://{bucket}/pca-csv/output")
    estimator.set_hyperparameters(feature_dim=784, num_components=COMPONENTS, mini_batch_size=200,
                                  algorithm_mode="randomized")
    estimator.fit({"train": TrainingInput(f"s3://{bucket}/pca-csv/train/", content_type="text/csv"),
                   "test": TrainingInput(f"s3://{bucket}/pca-csv/test/", content_type="text/csv")}, logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    arrays = model_arrays(s3, estimator.model_data)
    np.testing.assert_allclose(arrays["s"], reference.singular_values_[::-1], rtol=1e-3)
