"""The built-in Factorization Machines algorithm through the real server and the official SageMaker SDK v2.

The book's chapter 6 workflow on MovieLens small (a 20,000-rating subset, one-hot user + movie features):
a CSR matrix written with ``write_spmatrix_to_sparse_tensor``, uploaded to S3, a ``factorization-machines``
Estimator as a regressor with train and test channels (RecordIO-protobuf), ``test:rmse`` in
FinalMetricDataList and per-epoch ``train``/``validation rmse`` lines, an endpoint called with the sparse JSON form
(``{"predictions": [{"score": …}]}``) whose answers give the job's test RMSE back; then a binary
classifier through ``sagemaker.FactorizationMachines`` and its predictor's RecordIO-protobuf round trip
(``score`` and ``predicted_label``), and batch transform of sparse JSON lines.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import numpy as np
import pytest
from algodata import log_text
from fmdata import movielens, protobuf, sparse_instances

ROWS = 20_000
BOOK_STYLE = {"predictor_type": "regressor", "num_factors": 32, "epochs": 6, "mini_batch_size": 200,
              "linear_lr": 0.01, "factors_lr": 0.001, "factors_wd": 0.001}
PROTOBUF = "application/x-recordio-protobuf"


@pytest.fixture(scope="module")
def ratings(datasets):
    return movielens(datasets, rows=ROWS).split()


@pytest.fixture(scope="module")
def uploaded(sdk, s3, ratings) -> dict[str, str]:
    bucket = sdk.default_bucket()
    train, test = ratings
    uris = {"bucket": bucket}
    for name, part in (("train", train), ("test", test), ("train-binary", train.binary()),
                       ("test-binary", test.binary())):
        s3.put_object(Bucket=bucket, Key=f"fm/{name}/ratings.protobuf", Body=protobuf(part))
        uris[name] = f"s3://{bucket}/fm/{name}/"
    lines = "".join(json.dumps(instance) + "\n" for instance in sparse_instances(test, 500)["instances"])
    s3.put_object(Bucket=bucket, Key="fm/batch/ratings.jsonl", Body=lines.encode())
    uris["batch"] = f"s3://{bucket}/fm/batch/"
    return uris



def _artifact(s3, model_data: str) -> bytes:
    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert tar.getnames() == ["model_algo-1"]
        return tar.extractfile("model_algo-1").read()


def test_book_regressor_fit_deploy_sparse_json(server, s3, sdk, role, ratings, uploaded):
    from sagemaker import image_uris
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import JSONSerializer

    train, test = ratings
    image = image_uris.retrieve("factorization-machines", sdk.boto_region_name)
    assert image.endswith("/factorization-machines:1")
    estimator = Estimator(image, role, instance_count=1, instance_type="ml.c5.xlarge", sagemaker_session=sdk,
                          output_path=f"s3://{uploaded['bucket']}/fm/out")
    estimator.set_hyperparameters(feature_dim=train.feature_dim, **BOOK_STYLE)
    estimator.fit({"train": TrainingInput(uploaded["train"], content_type=PROTOBUF),
                   "validation": TrainingInput(uploaded["test"], content_type=PROTOBUF),
                   "test": TrainingInput(uploaded["test"], content_type=PROTOBUF)}, logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(final) == {"train:rmse", "validation:rmse", "test:rmse"}
    assert final["test:rmse"] < 1.0  # ratings 0.5..5; predicting the mean scores about 1.05
    assert final["validation:rmse"] == final["test:rmse"]  # the same rows: last epoch's model is the final one
    text = log_text(server, job["TrainingJobName"])
    for epoch in range(BOOK_STYLE["epochs"]):
        assert f"#quality_metric: host=algo-1, epoch={epoch}, train rmse <loss>=" in text
        assert f"#quality_metric: host=algo-1, epoch={epoch}, validation rmse <loss>=" in text
    assert "#quality_metric: host=algo-1, test rmse <loss>=" in text

    # The artifact is a zip of .npy members: numpy reads the factor matrix straight out of it.
    params = np.load(io.BytesIO(_artifact(s3, estimator.model_data)))
    assert params["v"].shape == (train.feature_dim, BOOK_STYLE["num_factors"])
    assert params["w1_weight"].shape == (train.feature_dim, 1) and params["w0_weight"].shape == (1,)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(_artifact(s3, estimator.model_data))).read("manifest.json"))
    assert manifest["predictor_type"] == "regressor"

    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                                 serializer=JSONSerializer(), deserializer=JSONDeserializer())
    try:
        answer = predictor.predict(sparse_instances(test, 3))
        assert list(answer) == ["predictions"] and len(answer["predictions"]) == 3
        assert all(set(p) == {"score"} for p in answer["predictions"])
        scores = [p["score"] for p in predictor.predict(sparse_instances(test, test.X.shape[0]))["predictions"]]
        rmse = float(np.sqrt(np.mean((np.array(scores) - test.y) ** 2)))
        assert rmse == pytest.approx(final["test:rmse"], rel=1e-5)  # the endpoint is the trained model
        wrong = sparse_instances(test, 1)
        wrong["instances"][0]["data"]["features"]["shape"] = [train.feature_dim + 1]
        with pytest.raises(sdk.sagemaker_runtime_client.exceptions.ModelError) as refused:
            predictor.predict(wrong)
        assert refused.value.response["OriginalStatusCode"] == 400
        assert f"the model expects {train.feature_dim} features" in refused.value.response["OriginalMessage"]
    finally:
        predictor.delete_endpoint()

    transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large", accept="application/jsonlines",
                                        output_path=f"s3://{uploaded['bucket']}/fm/batch-out/")
    transformer.transform(uploaded["batch"], content_type="application/jsonlines", split_type="Line")
    transformer.wait(logs=False)
    out = s3.get_object(Bucket=uploaded["bucket"], Key="fm/batch-out/ratings.jsonl.out")["Body"].read().decode()
    batch_scores = [json.loads(line)["score"] for line in out.splitlines() if line.strip()]
    np.testing.assert_allclose(batch_scores, scores[:500], rtol=1e-6)


def test_binary_classifier_with_the_sdk_estimator(sdk, role, ratings, uploaded):
    from sagemaker import FactorizationMachines
    from sagemaker.amazon.amazon_estimator import RecordSet

    train, test = ratings
    fm = FactorizationMachines(role=role, instance_count=1, instance_type="ml.c5.xlarge", num_factors=32,
                               predictor_type="binary_classifier", epochs=4, linear_lr=0.003, factors_lr=0.001,
                               factors_wd=0.0001, sagemaker_session=sdk,
                               output_path=f"s3://{uploaded['bucket']}/fm/out-binary")
    records = [RecordSet(uploaded["train-binary"], num_records=train.X.shape[0], feature_dim=train.feature_dim,
                         s3_data_type="S3Prefix", channel="train"),
               RecordSet(uploaded["test-binary"], num_records=test.X.shape[0], feature_dim=test.feature_dim,
                         s3_data_type="S3Prefix", channel="test")]
    fm.fit(records, mini_batch_size=200, logs=False)
    job = fm.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameters"]["feature_dim"] == str(train.feature_dim)
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert {"test:binary_classification_accuracy", "test:binary_classification_cross_entropy",
            "test:binary_f_beta"} <= set(final)
    liked = float(test.binary().y.mean())
    assert final["test:binary_classification_accuracy"] > max(liked, 1 - liked)  # beats the majority class

    predictor = fm.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    try:
        rows = test.X[:5].toarray()
        records = predictor.predict(rows)  # RecordSerializer in, RecordDeserializer out
        assert len(records) == 5
        for record in records:
            score = record.label["score"].float32_tensor.values[0]
            label = record.label["predicted_label"].float32_tensor.values[0]
            assert 0.0 < score < 1.0 and label == float(score >= 0.5)
    finally:
        predictor.delete_endpoint()
