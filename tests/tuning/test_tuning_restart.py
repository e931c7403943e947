"""A tuning job survives a server restart: it is resumed, not lost.

The child that was training when the server stopped ends Failed with the engine's restart reason (a
RetryableError for the tuning job, as an internal failure is on the service); the resumed tuner learns
from the children that ended, launches the rest, and the tuning job completes with its full budget.
"""

from __future__ import annotations

import time

import pytest
from tuninghelp import SCRIPTS, children, script_definition, tuning_config, wait_tuning

from enginehelp import sourcedir
from serverutil import start_server


@pytest.fixture
def own_server(tmp_path):
    server = start_server(tmp_path / "home")
    yield server
    server.stop()


def test_tuning_job_resumes_after_restart(own_server):
    s3, sm = own_server.client("s3"), own_server.client("sagemaker")
    s3.create_bucket(Bucket="restart")
    s3.put_object(Bucket="restart", Key="scripts/curve.py.tar.gz", Body=sourcedir({"curve.py": (SCRIPTS / "curve.py").read_text()}))
    for channel in ("train", "validation"):
        s3.put_object(Bucket="restart", Key=f"{channel}/data.csv", Body=b"0,1\n")
    where = {"bucket": "restart", "train": "s3://restart/train/", "validation": "s3://restart/validation/",
             "output": "s3://restart/out"}
    definition = script_definition(where, "curve.py", {"epochs": "4", "epoch_seconds": "1"},
                                    [{"Name": "loss", "Regex": r"loss=(\S+)"}])
    ranges = {"ContinuousParameterRanges": [{"Name": "shift", "MinValue": "0", "MaxValue": "1"}]}
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="survivor", TrainingJobDefinition=definition,
        HyperParameterTuningJobConfig=tuning_config("Bayesian", 3, 1, ranges, metric="loss", kind="Minimize"))
    deadline = time.monotonic() + 120
    while not any(j.get("TrainingStartTime") for j in children(sm, "survivor")):  # the first child is training
        assert time.monotonic() < deadline
        time.sleep(0.2)

    restarted = own_server.restart()
    try:
        sm = restarted.client("sagemaker")
        job = wait_tuning(sm, "survivor")
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        jobs = children(sm, "survivor")
        assert len(jobs) == 3 and sorted(j["TrainingJobName"].split("-")[1] for j in jobs) == ["001", "002", "003"]
        first = jobs[0]
        assert first["TrainingJobStatus"] == "Failed" and "server stopped" in first["FailureReason"]
        assert job["TrainingJobStatusCounters"] == {"Completed": 2, "InProgress": 0, "RetryableError": 1,
                                                    "NonRetryableError": 0, "Stopped": 0}
        assert job["BestTrainingJob"]["TrainingJobName"] in {j["TrainingJobName"] for j in jobs[1:]}
    finally:
        restarted.stop()
