"""The built-in XGBoost algorithm through the real server and the official SageMaker SDK v2.

- ``sagemaker-xgboost:1.7-1`` (``image_uris.retrieve("xgboost", region, "1.7-1")``) with the book's
  chapter 4 hyperparameters and ``eval_metric=auc`` on the SMS spam data (hashed word counts, label first):
  per-round ``#011`` lines, ``train:auc``/``validation:auc`` in FinalMetricDataList, an ``xgboost-model``
  that ``Booster.load_model`` reads, an endpoint called with ``CSVSerializer`` (one prediction per line),
  batch transform with ``split_type="Line"``;
- the original image (``…/xgboost:1``, what ``get_image_uri`` gave) with no eval_metric: the book's
  ``train-error``/``validation-error`` lines, a pickled Booster, comma-separated answers;
- failures at once with a FailureReason naming the hyperparameter; a validation CSV with one column too
  many fails with XGBoost's message, and so does a request with one column too many (400).
"""

from __future__ import annotations

import io
import pickle
import tarfile
import time

import numpy as np
import pytest
from algodata import csv_text, log_text, spam_matrix

from enginehelp import ROLE, wait

BOOK_CH4 = {"objective": "binary:logistic", "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6,
            "subsample": 0.7, "num_round": 50}


@pytest.fixture(scope="module")
def spam(datasets) -> tuple[np.ndarray, np.ndarray]:
    rows = spam_matrix(datasets)
    cut = int(len(rows) * 0.8)
    return rows[:cut], rows[cut:]


@pytest.fixture(scope="module")
def spam_s3(sdk, s3, spam) -> dict[str, str]:
    bucket = sdk.default_bucket()
    train, validation = spam
    s3.put_object(Bucket=bucket, Key="xgb-spam/train/train.csv", Body=csv_text(train).encode())
    s3.put_object(Bucket=bucket, Key="xgb-spam/validation/validation.csv", Body=csv_text(validation).encode())
    s3.put_object(Bucket=bucket, Key="xgb-spam/batch/features.csv", Body=csv_text(validation[:, 1:]).encode())
    return {"bucket": bucket, "train": f"s3://{bucket}/xgb-spam/train/",
            "validation": f"s3://{bucket}/xgb-spam/validation/", "batch": f"s3://{bucket}/xgb-spam/batch/"}


def _inputs(spam_s3: dict[str, str]) -> dict:
    from sagemaker.inputs import TrainingInput

    return {"train": TrainingInput(spam_s3["train"], content_type="text/csv"),
            "validation": TrainingInput(spam_s3["validation"], content_type="text/csv")}


def _estimator(sdk, role, image: str, **hyperparameters):
    from sagemaker.estimator import Estimator

    estimator = Estimator(image_uri=image, role=role, instance_count=1, instance_type="ml.m5.large",
                          sagemaker_session=sdk, max_run=600)
    estimator.set_hyperparameters(**hyperparameters)
    return estimator


def _model_file(s3, model_data: str) -> bytes:
    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        return tar.extractfile("xgboost-model").read()



def test_xgboost_1_7_fit_deploy_transform(server, s3, sdk, role, spam, spam_s3, tmp_path):
    import xgboost as xgb
    from sagemaker import image_uris
    from sagemaker.serializers import CSVSerializer

    image = image_uris.retrieve("xgboost", sdk.boto_region_name, "1.7-1")
    estimator = _estimator(sdk, role, image, **BOOK_CH4, eval_metric="auc", seed=7)
    estimator.fit(_inputs(spam_s3), logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(final) == {"train:auc", "validation:auc"}
    assert final["validation:auc"] > 0.9
    text = log_text(server, job["TrainingJobName"])
    assert "[49]#011train-auc:" in text and "#011validation-auc:" in text
    assert f"{final['validation:auc']:.5f}" in text.split("[49]#011", 1)[1].splitlines()[0]

    (tmp_path / "xgboost-model").write_bytes(_model_file(s3, estimator.model_data))
    booster = xgb.Booster()
    booster.load_model(str(tmp_path / "xgboost-model"))
    validation = spam[1]
    expected = booster.predict(xgb.DMatrix(validation[:, 1:]))

    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large", serializer=CSVSerializer())
    try:
        body = predictor.predict(validation[:25, 1:])
        assert body.endswith(b"\n") and body.count(b"\n") == 25  # one prediction a line from 1.5-1 on
        np.testing.assert_array_equal(np.array(body.split(), dtype=np.float32), expected[:25])
    finally:
        predictor.delete_endpoint()

    transformer = estimator.transformer(instance_count=1, instance_type="ml.m5.large",
                                        output_path=f"s3://{spam_s3['bucket']}/xgb-spam/batch-out/")
    transformer.transform(spam_s3["batch"], content_type="text/csv", split_type="Line")
    transformer.wait(logs=False)
    out = s3.get_object(Bucket=spam_s3["bucket"], Key="xgb-spam/batch-out/features.csv.out")["Body"].read()
    np.testing.assert_array_equal(np.array(out.split(), dtype=np.float32), expected)


def test_legacy_xgboost_1_image(server, s3, sdk, role, spam, spam_s3):
    import xgboost as xgb
    from sagemaker import image_uris
    from sagemaker.serializers import CSVSerializer

    image = image_uris.retrieve("xgboost", sdk.boto_region_name, "1")
    assert image.endswith("/xgboost:1")
    estimator = _estimator(sdk, role, image, **BOOK_CH4)
    estimator.fit(_inputs(spam_s3), logs=False)
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # The original image's default metric for binary:logistic is error, as the book shows it.
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {"train:error", "validation:error"}
    assert "[0]#011train-error:" in log_text(server, job["TrainingJobName"])

    booster = pickle.loads(_model_file(s3, estimator.model_data))  # the original image pickles the Booster
    validation = spam[1][:10]
    expected = booster.predict(xgb.DMatrix(validation[:, 1:]))
    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large", serializer=CSVSerializer())
    try:
        body = predictor.predict(validation[:, 1:]).decode()
        assert "\n" not in body  # comma-separated on one line, as notebooks of that era parse it
        np.testing.assert_array_equal(np.fromstring(body, sep=",").astype(np.float32), expected)
    finally:
        predictor.delete_endpoint()


def _job(name: str, bucket: str, hyperparameters: dict[str, str], validation: str | None = None) -> dict:
    channels = [{"ChannelName": "train", "ContentType": "text/csv",
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}}]
    if validation:
        channels.append({"ChannelName": "validation", "ContentType": "text/csv",
                         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": validation}}})
    return {
        "TrainingJobName": name, "RoleArn": ROLE, "HyperParameters": hyperparameters,
        "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                   "TrainingInputMode": "File"},
        "InputDataConfig": channels, "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def test_failures_name_the_problem(server, s3, bucket, spam):
    sm = server.client("sagemaker")
    train = spam[0][:300]
    s3.put_object(Bucket=bucket, Key="train/train.csv", Body=csv_text(train).encode())
    wide = np.column_stack([spam[1][:50], np.ones(50)])  # one column more than the training data
    s3.put_object(Bucket=bucket, Key="wide/validation.csv", Body=csv_text(wide).encode())
    cases = {
        "xgb-unknown-hp": ({"num_round": "5", "max_dept": "3"}, None, "Extraneous hyperparameter found: max_dept"),
        "xgb-eta-range": ({"num_round": "5", "eta": "2"}, None, "Hyperparameter eta: 2.0 is not in [0, 1]"),
        "xgb-no-num-round": ({"objective": "binary:logistic"}, None, "Missing required hyperparameter: num_round"),
        "xgb-bad-objective": ({"num_round": "5", "objective": "binary:logistc"}, None,
                              "Hyperparameter objective: binary:logistc is not in ["),
        "xgb-wide-validation": ({"num_round": "5", "objective": "binary:logistic"}, f"s3://{bucket}/wide/",
                                "Number of columns does not match number of features in booster"),
    }
    for name, (hps, validation, _) in cases.items():
        sm.create_training_job(**_job(name, bucket, hps, validation))
    for name, (_, _, message) in cases.items():
        job = wait(sm, name, timeout=180)
        assert job["TrainingJobStatus"] == "Failed", name
        assert job["FailureReason"].startswith("AlgorithmError: ") and message in job["FailureReason"], job
        assert "ModelArtifacts" not in job or not job["ModelArtifacts"].get("S3ModelArtifacts")


def test_request_with_too_many_columns_is_refused(server, s3, bucket, spam):
    sm = server.client("sagemaker")
    runtime = server.client("sagemaker-runtime")
    s3.put_object(Bucket=bucket, Key="train/train.csv", Body=csv_text(spam[0][:500]).encode())
    sm.create_training_job(**_job("xgb-columns", bucket, {"num_round": "3", "objective": "binary:logistic"}))
    job = wait(sm, "xgb-columns", timeout=180)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    image = job["AlgorithmSpecification"]["TrainingImage"]
    sm.create_model(ModelName="xgb-columns", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": image, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName="xgb-columns", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "xgb-columns", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="xgb-columns", EndpointConfigName="xgb-columns")
    deadline = time.monotonic() + 120
    while sm.describe_endpoint(EndpointName="xgb-columns")["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    try:
        good = ",".join("0" for _ in range(64))
        answer = runtime.invoke_endpoint(EndpointName="xgb-columns", ContentType="text/csv", Body=good)
        assert 0.0 <= float(answer["Body"].read()) <= 1.0
        with pytest.raises(runtime.exceptions.ModelError) as refused:
            runtime.invoke_endpoint(EndpointName="xgb-columns", ContentType="text/csv", Body=good + ",0")
        error = refused.value.response
        assert error["OriginalStatusCode"] == 400
        assert "Unable to evaluate payload provided" in error["OriginalMessage"]
        assert "Number of columns does not match number of features in booster" in error["OriginalMessage"]
    finally:
        sm.delete_endpoint(EndpointName="xgb-columns")


def test_two_hosts_train_one_model(server, s3, bucket, spam):
    """InstanceCount=2 with the train channel sharded by S3 key: both hosts join XGBoost's collective
    (tracker on algo-1) and algo-1 keeps the one model."""
    import xgboost as xgb

    sm = server.client("sagemaker")
    train = spam[0]
    half = len(train) // 2
    s3.put_object(Bucket=bucket, Key="train/part-1.csv", Body=csv_text(train[:half]).encode())
    s3.put_object(Bucket=bucket, Key="train/part-2.csv", Body=csv_text(train[half:]).encode())
    params = _job("xgb-two-hosts", bucket, {"num_round": "10", "objective": "binary:logistic", "eval_metric": "auc"})
    params["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    params["ResourceConfig"]["InstanceCount"] = 2
    sm.create_training_job(**params)
    job = wait(sm, "xgb-two-hosts", timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    text = log_text(server, "xgb-two-hosts")
    assert "joined as worker 0 of 2" in text and "joined as worker 1 of 2" in text
    booster = xgb.Booster()
    booster.load_model(bytearray(_model_file(s3, job["ModelArtifacts"]["S3ModelArtifacts"])))
    validation = spam[1]
    predictions = booster.predict(xgb.DMatrix(validation[:, 1:]))
    assert np.mean((predictions > 0.5) == validation[:, 0]) > 0.9
