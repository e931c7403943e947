"""Helpers for the tuning tests: the images, definitions and request pieces they share, and waiting for
tuning jobs through boto3 (polling is the client's business; the server never polls)."""

from __future__ import annotations

import copy
import time
from pathlib import Path

SCRIPTS = Path(__file__).parent / "scripts"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::000000000000:role/openmaker-test"
BOOK_RANGES = {
    "ContinuousParameterRanges": [{"Name": "lambda", "MinValue": "0", "MaxValue": "1000", "ScalingType": "Auto"},
                                  {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"}],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "7", "ScalingType": "Auto"}],
}


def tuning_config(strategy: str = "Bayesian", jobs: int | None = 4, parallel: int = 2, ranges: dict | None = None,
                  metric: str = "validation:auc", kind: str = "Maximize", **extra) -> dict:
    """A HyperParameterTuningJobConfig (``jobs=None``: no MaxNumberOfTrainingJobs, as Grid allows)."""
    config = {"Strategy": strategy, "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
              "HyperParameterTuningJobObjective": {"Type": kind, "MetricName": metric},
              "ParameterRanges": copy.deepcopy(ranges if ranges is not None else BOOK_RANGES), **extra}
    if jobs is None:
        del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    return config


def wait_tuning(sm, name: str, timeout: float = 600) -> dict:
    """Describe the tuning job until it has ended (a guard against hanging, not a timing check)."""
    deadline = time.monotonic() + timeout
    while True:
        job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if job["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped"):
            return job
        assert time.monotonic() < deadline, f"tuning job {name} did not end: {job}"
        time.sleep(0.2)


def children(sm, name: str, **filters) -> list[dict]:
    """Every ListTrainingJobsForHyperParameterTuningJob summary, page by page."""
    out, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=4, **filters, **({"NextToken": token} if token else {}))
        out += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return out


def xgboost_definition(spam_s3: dict[str, str], static: dict[str, str], ranges: dict) -> dict:
    """A TrainingJobDefinition for the built-in XGBoost on the spam data."""
    channels = [{"ChannelName": channel, "ContentType": "text/csv",
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": spam_s3[channel]}}}
                for channel in ("train", "validation")]
    return {
        "StaticHyperParameters": static,
        "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": spam_s3["output"]},
        "HyperParameterTuningResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        **({"HyperParameterRanges": ranges} if ranges else {}),
    }


def overlap(jobs: list[dict]) -> int:
    """The most jobs that were ever training at the same moment (from their start and end times)."""
    spans = [(j["TrainingStartTime"], j["TrainingEndTime"]) for j in jobs if j.get("TrainingStartTime")]
    return max((sum(1 for s, e in spans if s <= start < e) for start, _ in spans), default=0)


def script_definition(spam_s3: dict, program: str, static: dict, metrics: list[dict]) -> dict:
    """A definition running one of ``scripts/`` with the scikit-learn image, as the SDK stages it."""
    definition = xgboost_definition(spam_s3, {}, {})
    definition["AlgorithmSpecification"] = {"TrainingImage": SKLEARN, "TrainingInputMode": "File",
                                            "MetricDefinitions": metrics}
    definition["StaticHyperParameters"] = {
        "sagemaker_submit_directory": f'"s3://{spam_s3["bucket"]}/scripts/{program}.tar.gz"',
        "sagemaker_program": f'"{program}"', **static}
    return definition
