"""Hyperparameter tuning through boto3's low-level client: requests the service refuses, the Grid
strategy, StopHyperParameterTuningJob, Hyperband and Auto early stopping on a script whose learning curve
is known, and the listings."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tuninghelp import (
    BOOK_RANGES,
    SCRIPTS,
    children,
    overlap,
    script_definition,
    tuning_config,
    wait_tuning,
    xgboost_definition,
)

from enginehelp import sourcedir

XGB_STATIC = {"objective": "binary:logistic", "num_round": "10", "eval_metric": "auc"}
def _refused(sm, name: str, config: dict, definition: dict) -> str:
    with pytest.raises(ClientError) as refused:
        sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, HyperParameterTuningJobConfig=config,
                                             TrainingJobDefinition=definition)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    return error["Message"]


def test_bad_requests_are_refused(server, sm, spam_s3):
    definition = xgboost_definition(spam_s3, XGB_STATIC, {})
    flipped = copy.deepcopy(BOOK_RANGES)
    flipped["ContinuousParameterRanges"][1].update(MinValue="0.5", MaxValue="0.1")
    assert "is greater than its MaxValue (0.1)" in _refused(sm, "bad-minmax", tuning_config(ranges=flipped), definition)

    static_eta = xgboost_definition(spam_s3, {**XGB_STATIC, "eta": "0.2"}, {})
    assert "'eta' is specified as both static and tunable" in _refused(sm, "bad-static", tuning_config(), static_eta)

    message = _refused(sm, "bad-metric", tuning_config(metric="validation:nonsense"), definition)
    assert "[validation:nonsense]" in message and "isn't valid for the [xgboost] algorithm" in message

    logarithmic = copy.deepcopy(BOOK_RANGES)
    logarithmic["ContinuousParameterRanges"][0]["ScalingType"] = "Logarithmic"
    assert "Logarithmic scaling" in _refused(sm, "bad-log", tuning_config(ranges=logarithmic), definition)

    reverse = copy.deepcopy(BOOK_RANGES)
    reverse["ContinuousParameterRanges"][1]["ScalingType"] = "ReverseLogarithmic"
    reverse["ContinuousParameterRanges"][1]["MaxValue"] = "1.5"
    assert "0<=x<1.0" in _refused(sm, "bad-reverse", tuning_config(ranges=reverse), definition)

    assert "Only categorical parameters are supported" in _refused(sm, "bad-grid", tuning_config("Grid", None), definition)
    assert "MaxParallelTrainingJobs (5) must be less than or equal" in _refused(
        sm, "bad-parallel", tuning_config(jobs=2, parallel=5), definition)
    few = {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["3", "5", "7"]}]}
    assert "You don't have enough combinations of hyperparameter ranges" in _refused(
        sm, "bad-few", tuning_config(jobs=10, ranges=few), definition)
    assert "MaxResource parameter is not provided and could not be inferred" in _refused(
        sm, "bad-hyperband", tuning_config("Hyperband"), definition)
    assert "must be Off to use the Hyperband strategy" in _refused(
        sm, "bad-hyperband-auto",
        tuning_config("Hyperband", TrainingJobEarlyStoppingType="Auto",
                StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 10}}), definition)

    script = script_definition(spam_s3, "curve.py", {"epochs": "3"}, [{"Name": "loss", "Regex": r"loss=(\S+)"}])
    assert "A metric is required for this hyperparameter tuning job objective" in _refused(
        sm, "bad-script-metric", tuning_config(metric="validation:loss", ranges={}), script)

    # A categorical range with no values: boto3 refuses it before sending, so send it unchecked.
    raw = server.client("sagemaker", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    empty = {"CategoricalParameterRanges": [{"Name": "booster", "Values": []}]}
    message = _refused(raw, "bad-empty", tuning_config(ranges=empty), definition)
    assert "Values" in message or "values" in message

    with pytest.raises(ClientError) as missing:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="no-such-tuning")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    assert "can't find a tuning job called no-such-tuning" in missing.value.response["Error"]["Message"]
    names = [j["HyperParameterTuningJobName"] for j in sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]]
    assert not any(name.startswith("bad-") for name in names)


@pytest.fixture(scope="module")
def curve(s3, spam_s3) -> None:
    s3.put_object(Bucket=spam_s3["bucket"], Key="scripts/curve.py.tar.gz",
                  Body=sourcedir({"curve.py": (SCRIPTS / "curve.py").read_text()}))


def test_grid_enumerates_every_combination(sm, spam_s3):
    ranges = {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "4"]},
                                             {"Name": "eta", "Values": ["0.1", "0.3", "0.5"]}]}
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="grid-xgb", HyperParameterTuningJobConfig=tuning_config("Grid", None, 3, ranges),
        TrainingJobDefinition=xgboost_definition(spam_s3, XGB_STATIC, {}))
    job = wait_tuning(sm, "grid-xgb")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6
    assert job["TrainingJobStatusCounters"]["Completed"] == 6
    jobs = children(sm, "grid-xgb")
    tried = sorted((j["TunedHyperParameters"]["max_depth"], j["TunedHyperParameters"]["eta"]) for j in jobs)
    assert tried == sorted((d, e) for d in ("2", "4") for e in ("0.1", "0.3", "0.5"))
    assert overlap(jobs) <= 3
    assert all(re.fullmatch(r"grid-xgb-\d{3}-[0-9a-f]{8}", j["TrainingJobName"]) for j in jobs)
    ranked = children(sm, "grid-xgb", SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    values = [j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in ranked]
    assert values == sorted(values, reverse=True)
    assert job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == values[0]
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains="GRID-x", StatusEquals="Completed")
    [summary] = listed["HyperParameterTuningJobSummaries"]
    assert summary["HyperParameterTuningJobName"] == "grid-xgb" and summary["Strategy"] == "Grid"
    assert summary["TrainingJobStatusCounters"]["Completed"] == 6
    assert summary["ObjectiveStatusCounters"]["Succeeded"] == 6
    assert summary["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6



def test_cli_shows_the_trials_and_the_best(server, sm):
    """``openmaker tuning show`` / ``ls`` on the grid job above: one row a trial, the best marked."""
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="grid-xgb")
    best = job["BestTrainingJob"]
    env = {**server.env(), "COLUMNS": "250"}
    shown = subprocess.run([sys.executable, "-m", "openmaker", "tuning", "show", "grid-xgb"], env=env,
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert "grid-xgb" in shown and "Completed" in shown and "validation:auc" in shown
    assert "max_depth" in shown and "eta" in shown
    rows = [line for line in shown.splitlines() if line.startswith("│") and re.search(r"…\d{3}-[0-9a-f]{8}", line)]
    assert len(rows) == 6
    suffix = best["TrainingJobName"].removeprefix("grid-xgb-")
    [marked] = [line for line in rows if f"…{suffix} *" in line]
    assert f"{best['FinalHyperParameterTuningJobObjectiveMetric']['Value']:.6g}" in marked
    assert f"best: {best['TrainingJobName']}" in shown
    listed = subprocess.run([sys.executable, "-m", "openmaker", "tuning", "ls"], env=env, capture_output=True,
                            text=True, check=True, timeout=60).stdout
    assert "grid-xgb" in listed and "Grid" in listed
    missing = subprocess.run([sys.executable, "-m", "openmaker", "tuning", "show", "no-such-tuning"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "can't find a tuning job called no-such-tuning" in missing.stdout

def test_stop_stops_every_running_child(sm, spam_s3, curve):
    definition = script_definition(spam_s3, "curve.py", {"epochs": "200", "epoch_seconds": "0.5"},
                                    [{"Name": "loss", "Regex": r"loss=(\S+)"}])
    ranges = {"ContinuousParameterRanges": [{"Name": "shift", "MinValue": "0", "MaxValue": "1"}]}
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="stop-me", TrainingJobDefinition=definition,
        HyperParameterTuningJobConfig=tuning_config("Random", 6, 2, ranges, metric="loss", kind="Minimize"),
        Tags=[{"Key": "team", "Value": "tuning"}])
    with pytest.raises(ClientError) as duplicate:
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="STOP-me", TrainingJobDefinition=definition,
            HyperParameterTuningJobConfig=tuning_config("Random", 6, 2, ranges, metric="loss", kind="Minimize"))
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    running = _wait_for_running(sm, "stop-me", 2)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")
    job = wait_tuning(sm, "stop-me")
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    jobs = children(sm, "stop-me")
    assert {j["TrainingJobName"] for j in jobs} >= set(running)
    assert all(j["TrainingJobStatus"] == "Stopped" for j in jobs), [j["TrainingJobStatus"] for j in jobs]
    assert job["TrainingJobStatusCounters"]["Stopped"] == len(jobs) and len(jobs) < 6
    child = sm.describe_training_job(TrainingJobName=running[0])
    assert child["TuningJobArn"] == job["HyperParameterTuningJobArn"]
    assert child["HyperParameters"]["_tuning_objective_metric"] == "loss"
    tags = sm.list_tags(ResourceArn=child["TrainingJobArn"])["Tags"]
    assert {"Key": "team", "Value": "tuning"} in tags
    with pytest.raises(ClientError) as again:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")
    assert again.value.response["Error"]["Code"] == "ValidationException"


def _wait_for_running(sm, name: str, count: int) -> list[str]:
    """The children once ``count`` of them are training."""
    deadline = time.monotonic() + 120
    while True:
        jobs = children(sm, name, StatusEquals="InProgress")
        started = [j["TrainingJobName"] for j in jobs if j.get("TrainingStartTime")]
        if len(started) >= count:
            return started
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)


def test_hyperband_stops_some_jobs_early(sm, spam_s3, curve):
    definition = script_definition(spam_s3, "curve.py", {"epochs": "9", "epoch_seconds": "0.4"},
                                    [{"Name": "loss", "Regex": r"loss=(\S+)"}])
    ranges = {"ContinuousParameterRanges": [{"Name": "shift", "MinValue": "0", "MaxValue": "1"}]}
    config = tuning_config("Hyperband", 9, 3, ranges, metric="loss", kind="Minimize", RandomSeed=7,
                     StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}})
    sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName="hyperband", TrainingJobDefinition=definition,
                                         HyperParameterTuningJobConfig=config)
    job = wait_tuning(sm, "hyperband")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    jobs = children(sm, "hyperband")
    assert len(jobs) == 9 and overlap(jobs) <= 3
    stopped = [j for j in jobs if j["TrainingJobStatus"] == "Stopped"]
    assert stopped and len(stopped) < 9
    counters = job["TrainingJobStatusCounters"]
    assert counters["Stopped"] == len(stopped) and counters["Completed"] == 9 - len(stopped)
    for summary in stopped:  # stopped early, but what they reported still counts
        assert summary["ObjectiveStatus"] == "Succeeded"
        assert summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] > 1 / 9
    best = job["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == min(
        j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in jobs)


def test_auto_early_stopping_stops_jobs_worse_than_the_median(sm, spam_s3, curve):
    definition = script_definition(spam_s3, "curve.py", {"epochs": "6", "epoch_seconds": "0.4"},
                                    [{"Name": "loss", "Regex": r"loss=(\S+)"}])
    ranges = {"CategoricalParameterRanges": [{"Name": "shift", "Values": ["0.3", "0.35", "0.25", "2.0", "3.0"]}]}
    config = tuning_config("Grid", None, 1, ranges, metric="loss", kind="Minimize", TrainingJobEarlyStoppingType="Auto")
    sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName="median-rule", TrainingJobDefinition=definition,
                                         HyperParameterTuningJobConfig=config)
    job = wait_tuning(sm, "median-rule")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    jobs = {j["TunedHyperParameters"]["shift"]: j for j in children(sm, "median-rule")}
    # One at a time: the first three are good and run to the end; the bad ones are stopped early.
    assert [jobs[x]["TrainingJobStatus"] for x in ("0.3", "0.35", "0.25")] == ["Completed"] * 3
    assert jobs["2.0"]["TrainingJobStatus"] == jobs["3.0"]["TrainingJobStatus"] == "Stopped"
    assert job["BestTrainingJob"]["TunedHyperParameters"] == {"shift": "0.3"}
