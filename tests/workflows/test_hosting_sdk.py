"""Real-time hosting with the official SageMaker SDK v2: ``SKLearn(...).fit()`` on the book's chapter 3
housing data, ``estimator.deploy()``, predictors with the SDK's own serializers (NumPy by default, CSV in,
JSON out), ``predictor.delete_endpoint()``; then ``sagemaker.Model(model_data=...).deploy()`` from the
same artifact and a ``Predictor`` attached by endpoint name. Predictions are checked against the model
itself, loaded from the downloaded ``model.tar.gz``.

The SDK sleeps 30 s after CreateEndpoint and between DescribeEndpoint calls; the module runs with the
:class:`FastClock`, so it makes the same calls in the same order without the waiting."""

from __future__ import annotations

import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError
from sdkclock import FastClock

SOURCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "housing"
FRAMEWORK_VERSION = "1.2-1"


@pytest.fixture(scope="module")
def fast_clock():
    import sagemaker.session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sagemaker.session, "time", FastClock(time))
        yield


@pytest.fixture(scope="module")
def housing(datasets) -> np.ndarray:
    return np.loadtxt(datasets / "book" / "chapter3" / "training-housing.csv", delimiter=",")


@pytest.fixture(scope="module")
def trained(s3, sagemaker_session, role, datasets, fast_clock, tmp_path_factory):
    """(estimator, the trained model loaded from its model.tar.gz)."""
    import joblib
    from sagemaker.sklearn.estimator import SKLearn

    bucket = sagemaker_session.default_bucket()
    s3.upload_file(
        str(datasets / "book" / "chapter3" / "training-housing.csv"),
        bucket,
        "hosting-sdk/train/training-housing.csv",
    )
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(SOURCE_DIR),
        framework_version=FRAMEWORK_VERSION,
        py_version="py3",
        instance_type="ml.m5.large",
        instance_count=1,
        role=role,
        sagemaker_session=sagemaker_session,
    )
    estimator.fit({"train": f"s3://{bucket}/hosting-sdk/train/"}, logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    local = tmp_path_factory.mktemp("housing-model")
    key = estimator.model_data.split(f"s3://{bucket}/", 1)[1]
    s3.download_file(bucket, key, str(local / "model.tar.gz"))
    with tarfile.open(local / "model.tar.gz") as tar:
        tar.extractall(local, filter="data")
    return estimator, joblib.load(local / "model.joblib")


def _describe_error(sagemaker_session, name: str) -> dict:
    with pytest.raises(ClientError) as info:
        sagemaker_session.sagemaker_client.describe_endpoint(EndpointName=name)
    return info.value.response["Error"]


def test_estimator_deploy_predict_delete(trained, housing, sagemaker_session):
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer
    from sagemaker.sklearn.model import SKLearnPredictor

    estimator, model = trained
    features = housing[:25, 1:]
    expected = model.predict(features)

    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        assert isinstance(predictor, SKLearnPredictor)
        described = sagemaker_session.sagemaker_client.describe_endpoint(EndpointName=predictor.endpoint_name)
        assert described["EndpointStatus"] == "InService"
        [variant] = described["ProductionVariants"]
        assert variant["VariantName"] == "AllTraffic" and variant["CurrentInstanceCount"] == 1
        config = sagemaker_session.sagemaker_client.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
        model_name = config["ProductionVariants"][0]["ModelName"]

        # SKLearnPredictor: application/x-npy both ways (NumpySerializer / NumpyDeserializer).
        assert predictor.content_type == "application/x-npy"
        predicted = predictor.predict(features)
        assert isinstance(predicted, np.ndarray) and predicted.shape == expected.shape
        np.testing.assert_allclose(predicted, expected, rtol=1e-9)

        # CSV in, JSON out, on the same endpoint.
        csv_json = Predictor(
            predictor.endpoint_name,
            sagemaker_session=sagemaker_session,
            serializer=CSVSerializer(),
            deserializer=JSONDeserializer(),
        )
        answer = csv_json.predict(features[:3])
        assert isinstance(answer, list) and len(answer) == 3
        np.testing.assert_allclose(answer, expected[:3], rtol=1e-9)
        single = csv_json.predict(features[0])  # one row: still one prediction
        np.testing.assert_allclose(np.ravel(single), expected[:1], rtol=1e-9)
    finally:
        # The usual clean-up order: delete_model() reads the endpoint config to find the model.
        predictor.delete_model()
        predictor.delete_endpoint()

    error = _describe_error(sagemaker_session, predictor.endpoint_name)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("Could not find endpoint")
    # delete_endpoint() removes the endpoint's config too, and the model went first.
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        sagemaker_session.sagemaker_client.describe_endpoint_config(
            EndpointConfigName=predictor.endpoint_name
        )
    with pytest.raises(ClientError, match="Could not find model"):
        sagemaker_session.sagemaker_client.describe_model(ModelName=model_name)


def test_model_from_model_data_and_attached_predictor(trained, housing, sagemaker_session, role):
    import sagemaker
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    estimator, model = trained
    image = sagemaker.image_uris.retrieve(
        "sklearn", sagemaker_session.boto_region_name, version=FRAMEWORK_VERSION, instance_type="ml.m5.large"
    )
    # No entry point: the scikit-learn server's defaults load model.joblib and call predict.
    bare = sagemaker.Model(
        image_uri=image, model_data=estimator.model_data, role=role, sagemaker_session=sagemaker_session
    )
    assert bare.deploy(initial_instance_count=1, instance_type="ml.m5.large") is None  # no predictor_cls
    name = bare.endpoint_name
    try:
        attached = Predictor(
            endpoint_name=name,
            sagemaker_session=sagemaker_session,
            serializer=CSVSerializer(),
            deserializer=CSVDeserializer(),
        )
        rows = attached.predict(housing[:4, 1:], initial_args={"Accept": "text/csv"})
        got = np.array([float(row[0]) for row in rows])
        np.testing.assert_allclose(got, model.predict(housing[:4, 1:]), rtol=1e-6)
        assert (
            sagemaker_session.sagemaker_client.describe_endpoint(EndpointName=name)["EndpointStatus"]
            == "InService"
        )
    finally:
        sagemaker_session.delete_endpoint(name)
        sagemaker_session.delete_endpoint_config(name)
        bare.delete_model()
    error = _describe_error(sagemaker_session, name)
    assert error["Code"] == "ValidationException" and "Could not find endpoint" in error["Message"]
