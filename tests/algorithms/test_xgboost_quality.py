"""The built-in XGBoost gives the model ``xgboost.train`` gives: same params, same data, same seed and
threads -> identical trees and bit-identical predictions. Checked on two real data sets through the real
server: the book's chapter 3 housing CSV (regression) and the SMS spam collection as hashed word counts
(binary classification with the book's chapter 4 hyperparameters)."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from algodata import csv_text, spam_matrix

from enginehelp import ROLE, wait

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
CASES = {
    "housing": {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.1, "subsample": 0.8,
                "colsample_bytree": 0.9, "num_round": 60, "seed": 11, "nthread": 2},
    "spam": {"objective": "binary:logistic", "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6,
             "subsample": 0.7, "num_round": 50, "seed": 3, "nthread": 2, "eval_metric": "auc"},
}


def _rows(name: str, datasets) -> np.ndarray:
    if name == "housing":
        return np.loadtxt(datasets / "book" / "chapter3" / "training-housing.csv", delimiter=",")
    return spam_matrix(datasets)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_model_as_xgboost_train(server, s3, bucket, datasets, name):
    import xgboost as xgb

    rows = _rows(name, datasets)
    cut = int(len(rows) * 0.8)
    train, validation = rows[:cut], rows[cut:]
    s3.put_object(Bucket=bucket, Key="train/train.csv", Body=csv_text(train).encode())
    s3.put_object(Bucket=bucket, Key="validation/validation.csv", Body=csv_text(validation).encode())
    hps = CASES[name]
    sm = server.client("sagemaker")
    job_name = f"xgb-quality-{name}"
    sm.create_training_job(
        TrainingJobName=job_name, RoleArn=ROLE, HyperParameters={k: str(v) for k, v in hps.items()},
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        InputDataConfig=[{"ChannelName": channel, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{channel}/"}}} for channel in ("train", "validation")],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    job = wait(sm, job_name, timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    archive = s3.get_object(Bucket=bucket, Key=f"out/{job_name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        built_in = xgb.Booster()
        built_in.load_model(bytearray(tar.extractfile("xgboost-model").read()))

    # What a user writes: the same CSV rows as numbers, xgboost.train with the same parameters.
    params = {k: v for k, v in hps.items() if k != "num_round"}
    dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
    dvalid = xgb.DMatrix(validation[:, 1:], label=validation[:, 0])
    direct = xgb.train(params, dtrain, num_boost_round=hps["num_round"], evals=[(dtrain, "train"), (dvalid, "validation")],
                       verbose_eval=False)

    assert built_in.get_dump() == direct.get_dump()
    for data in (dtrain, dvalid):
        np.testing.assert_array_equal(built_in.predict(data), direct.predict(data))
