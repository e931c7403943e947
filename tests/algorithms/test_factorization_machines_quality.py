"""Factorization Machines learns the interactions a linear model cannot: on all of MovieLens small (80 %
train / 20 % held out, one-hot user + movie features) the job's ``test`` metrics are at least as good as
scikit-learn's linear models fitted on the very same rows, with the linear model's regularisation picked
on the held-out rows themselves (in its favour)."""

from __future__ import annotations

import numpy as np
import pytest
from fmdata import movielens, protobuf

from enginehelp import ROLE, wait
from openmaker.runtimes.algorithms.factorization_machines.evaluate import evaluate

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/factorization-machines:1"
REGRESSOR = {"predictor_type": "regressor", "num_factors": "64", "epochs": "6", "mini_batch_size": "500",
             "linear_lr": "0.01", "factors_lr": "0.001", "factors_wd": "0.0001"}
CLASSIFIER = {"predictor_type": "binary_classifier", "num_factors": "64", "epochs": "6", "mini_batch_size": "200",
              "linear_lr": "0.003", "factors_lr": "0.001", "factors_wd": "0.0001", "factors_init_sigma": "0.01"}


@pytest.fixture(scope="module")
def split(datasets):
    return movielens(datasets).split(0.8)


def _submit(server, s3, bucket: str, name: str, train, test, hyperparameters: dict[str, str]) -> None:
    """Start the job (the linear baseline is fitted while it runs)."""
    sm = server.client("sagemaker")
    for channel, part in (("train", train), ("test", test)):
        s3.put_object(Bucket=bucket, Key=f"{name}/{channel}/ratings.protobuf", Body=protobuf(part))
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        HyperParameters={"feature_dim": str(train.feature_dim), **hyperparameters},
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": channel, "ContentType": "application/x-recordio-protobuf",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                          "S3Uri": f"s3://{bucket}/{name}/{channel}/"}}}
                         for channel in ("train", "test")],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )


def _final(server, name: str) -> dict[str, float]:
    job = wait(server.client("sagemaker"), name, timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}


def test_regressor_rmse_beats_ridge(server, s3, bucket, split):
    from sklearn.linear_model import Ridge

    train, test = split
    _submit(server, s3, bucket, "fm-quality-regressor", train, test, REGRESSOR)
    ridge = min(float(np.sqrt(np.mean((Ridge(alpha=a).fit(train.X, train.y).predict(test.X) - test.y) ** 2)))
                for a in (1, 3, 10))
    final = _final(server, "fm-quality-regressor")
    assert final["test:rmse"] <= ridge, (final, ridge)


def test_classifier_beats_logistic_regression(server, s3, bucket, split):
    from sklearn.linear_model import LogisticRegression

    train, test = split[0].binary(), split[1].binary()
    _submit(server, s3, bucket, "fm-quality-classifier", train, test, CLASSIFIER)
    linear = [evaluate("binary_classifier", LogisticRegression(C=c, max_iter=1000).fit(train.X, train.y)
                       .predict_proba(test.X)[:, 1], test.y).values() for c in (0.3, 1, 3)]
    final = _final(server, "fm-quality-classifier")
    best_accuracy = max(m["binary_classification_accuracy"][0] for m in linear)
    best_entropy = min(m["binary_classification_cross_entropy"][0] for m in linear)
    assert final["test:binary_classification_accuracy"] >= best_accuracy, (final, linear)
    assert final["test:binary_classification_cross_entropy"] <= best_entropy, (final, linear)
