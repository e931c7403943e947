"""K-Means and PCA refuse a mistake at once, and say which: every FailureReason starts ``ClientError:``
(Amazon's algorithms mark the user's mistakes so) and names the hyperparameter or the data problem.

Jobs are created with plain boto3 on CSV channels of 200 MNIST digits (no label column), the images
named as ``image_uris.retrieve`` names them (``…/kmeans:1``, ``…/pca:1``).
"""

from __future__ import annotations

import pytest
from mnistdata import csv_bytes, images

from enginehelp import ROLE, wait

REGISTRY = "382416733822.dkr.ecr.us-east-1.amazonaws.com"
GOOD_KMEANS = {"k": "4", "feature_dim": "784", "mini_batch_size": "100"}
GOOD_PCA = {"feature_dim": "784", "num_components": "5", "mini_batch_size": "100"}
SCHEMA = "Unable to initialize the algorithm. Failed to validate input hyperparameters."


def _job(name: str, bucket: str, algorithm: str, hyperparameters: dict[str, str]) -> dict:
    return {
        "TrainingJobName": name, "RoleArn": ROLE, "HyperParameters": hyperparameters,
        "AlgorithmSpecification": {"TrainingImage": f"{REGISTRY}/{algorithm}:1", "TrainingInputMode": "File"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def _without(hyperparameters: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in hyperparameters.items() if key != name}


CASES = {
    "km-no-k": ("kmeans", _without(GOOD_KMEANS, "k"), [SCHEMA, "'k' is a required property"]),
    "km-no-feature-dim": ("kmeans", _without(GOOD_KMEANS, "feature_dim"), ["'feature_dim' is a required property"]),
    "km-k-zero": ("kmeans", {**GOOD_KMEANS, "k": "0"}, ["0 is not valid for 'k'"]),
    "km-tol-range": ("kmeans", {**GOOD_KMEANS, "local_lloyd_tol": "2"}, ["2.0 is not valid for 'local_lloyd_tol'"]),
    "km-init-method": ("kmeans", {**GOOD_KMEANS, "init_method": "kmeans"}, ["'init_method'"]),
    "km-eval-metrics": ("kmeans", {**GOOD_KMEANS, "eval_metrics": '["mse"]'}, ["'eval_metrics'"]),
    "km-unknown": ("kmeans", {**GOOD_KMEANS, "num_clusters": "4"},
                   ["Additional properties are not allowed ('num_clusters' was unexpected)"]),
    "km-not-a-number": ("kmeans", {**GOOD_KMEANS, "epochs": "many"}, ["'epochs'"]),
    "km-feature-dim": ("kmeans", {**GOOD_KMEANS, "feature_dim": "100"},
                       ["channel train", "784 features per record but feature_dim is 100"]),
    "km-k-too-large": ("kmeans", {**GOOD_KMEANS, "k": "500"},
                       ["k (500) is larger than the number of training records (200)"]),
    "pca-no-batch": ("pca", _without(GOOD_PCA, "mini_batch_size"), ["'mini_batch_size' is a required property"]),
    "pca-no-components": ("pca", _without(GOOD_PCA, "num_components"),
                          ["'num_components' is a required property"]),
    "pca-mode": ("pca", {**GOOD_PCA, "algorithm_mode": "fast"}, ["'algorithm_mode'"]),
    "pca-extra": ("pca", {**GOOD_PCA, "extra_components": "-2"}, ["-2 is not valid for 'extra_components'"]),
    "pca-too-many": ("pca", {**GOOD_PCA, "num_components": "900"},
                     ["num_components (900) must not be larger than feature_dim (784)"]),
    "pca-feature-dim": ("pca", {**GOOD_PCA, "feature_dim": "785"}, ["784 features per record but feature_dim is 785"]),
    "pca-unknown": ("pca", {**GOOD_PCA, "k": "3"}, ["Additional properties are not allowed ('k' was unexpected)"]),
}


@pytest.fixture(scope="module")
def jobs(server, s3, datasets) -> dict[str, dict]:
    """Every case's finished job (created together, so they run side by side)."""
    bucket = "kmeans-pca-failures"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="train/digits.csv", Body=csv_bytes(images(datasets, 200)))
    sm = server.client("sagemaker")
    for name, (algorithm, hyperparameters, _) in CASES.items():
        sm.create_training_job(**_job(name, bucket, algorithm, hyperparameters))
    return {name: wait(sm, name, timeout=240) for name in CASES}


@pytest.mark.parametrize("name", list(CASES))
def test_failure_names_the_problem(jobs, name):
    job = jobs[name]
    assert job["TrainingJobStatus"] == "Failed", name
    reason = job["FailureReason"]
    assert reason.startswith("ClientError: "), reason
    for part in CASES[name][2]:
        assert part in reason, reason
    assert not job.get("ModelArtifacts", {}).get("S3ModelArtifacts")


def test_good_hyperparameters_train(server, s3, datasets):
    """The same data and the good hyperparameters (strings as the API carries them) complete."""
    bucket = "kmeans-pca-good"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="train/digits.csv", Body=csv_bytes(images(datasets, 200)))
    sm = server.client("sagemaker")
    hps = {"kmeans": {**GOOD_KMEANS, "eval_metrics": "msd", "extra_center_factor": "3", "local_lloyd_num_trials": "2",
                      "half_life_time_size": "50", "epochs": "2", "force_dense": "False",
                      "_tuning_objective_metric": "test:msd"},
           "pca": {**GOOD_PCA, "subtract_mean": "false", "algorithm_mode": "randomized", "extra_components": "3"}}
    for algorithm, hyperparameters in hps.items():
        sm.create_training_job(**_job(f"{algorithm}-good", bucket, algorithm, hyperparameters))
    for algorithm in hps:
        job = wait(sm, f"{algorithm}-good", timeout=240)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
