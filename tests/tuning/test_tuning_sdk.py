"""Hyperparameter tuning through the official SageMaker SDK v2.

- the book's chapter 14 tuner: the built-in XGBoost, ``validation:auc``, lambda 0-1000, max_depth 3-7,
  eta 0.1-0.5, ``max_jobs=10, max_parallel_jobs=3`` on the SMS spam data; ``best_training_job()``,
  ``analytics().dataframe()``, ``attach`` and ``deploy()``;
- a scikit-learn script tuned at random, its objective read from the logs by MetricDefinitions;
- warm start from that tuning job; a multi-algorithm tuner (XGBoost and the script).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from tuninghelp import SCRIPTS, children, overlap

SK_METRICS = [{"Name": "validation:accuracy", "Regex": r"validation-accuracy: ([0-9.]+)"}]


def _xgboost(sdk, role, spam_s3):
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator

    estimator = Estimator(image_uri=image_uris.retrieve("xgboost", sdk.boto_region_name, "1.7-1"), role=role,
                          instance_count=1, instance_type="ml.m5.large", sagemaker_session=sdk, max_run=600,
                          output_path=spam_s3["output"])
    estimator.set_hyperparameters(objective="binary:logistic", num_round=20, eval_metric="auc")
    return estimator


def _sklearn(sdk, role, spam_s3):
    from sagemaker.sklearn import SKLearn

    return SKLearn(entry_point="sk_spam.py", source_dir=str(SCRIPTS), framework_version="1.2-1", role=role,
                   instance_type="ml.m5.large", sagemaker_session=sdk, output_path=spam_s3["output"],
                   hyperparameters={"max_iter": 200}, metric_definitions=SK_METRICS)


def _inputs(spam_s3):
    from sagemaker.inputs import TrainingInput

    return {channel: TrainingInput(spam_s3[channel], content_type="text/csv") for channel in ("train", "validation")}


def _value(summary: dict) -> float:
    return summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]


def test_book_tuner_on_builtin_xgboost(sm, sdk, role, spam, spam_s3):
    from sagemaker.serializers import CSVSerializer
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    ranges = {"lambda": ContinuousParameter(0, 1000), "max_depth": IntegerParameter(3, 7),
              "eta": ContinuousParameter(0.1, 0.5)}
    tuner = HyperparameterTuner(_xgboost(sdk, role, spam_s3), objective_metric_name="validation:auc",
                                hyperparameter_ranges=ranges, max_jobs=10, max_parallel_jobs=3,
                                tags=[{"Key": "book", "Value": "ch14"}])
    tuner.fit(_inputs(spam_s3), job_name="book-xgb-tune")
    job = tuner.describe()
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["Strategy"] == "Bayesian"
    assert job["TrainingJobStatusCounters"]["Completed"] == 10
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 10, "Pending": 0, "Failed": 0}
    assert job["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    assert job["ConsumedResources"]["RuntimeInSeconds"] >= 1

    jobs = children(sm, "book-xgb-tune")
    assert len(jobs) == 10 and overlap(jobs) <= 3
    assert sorted(int(j["TrainingJobName"].split("-")[3]) for j in jobs) == list(range(1, 11))
    for summary in jobs:
        assert re.fullmatch(r"book-xgb-tune-\d{3}-[0-9a-f]{8}", summary["TrainingJobName"])
        tuned = summary["TunedHyperParameters"]
        assert set(tuned) == {"lambda", "max_depth", "eta"}
        assert 0 <= float(tuned["lambda"]) <= 1000 and 3 <= int(tuned["max_depth"]) <= 7
        assert 0.1 <= float(tuned["eta"]) <= 0.5
        assert summary["TuningJobName"] == "book-xgb-tune" and summary["ObjectiveStatus"] == "Succeeded"
    best_name = tuner.best_training_job()
    best_value = max(_value(j) for j in jobs)
    assert _value(job["BestTrainingJob"]) == best_value and 0.9 < best_value <= 1
    assert best_name == next(j["TrainingJobName"] for j in jobs if _value(j) == best_value)

    child = sm.describe_training_job(TrainingJobName=best_name)
    assert child["TuningJobArn"] == job["HyperParameterTuningJobArn"]
    assert child["HyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    assert child["HyperParameters"]["num_round"] == "20"
    final = {m["MetricName"]: m["Value"] for m in child["FinalMetricDataList"]}
    assert final["validation:auc"] == best_value
    assert {"Key": "book", "Value": "ch14"} in sm.list_tags(ResourceArn=child["TrainingJobArn"])["Tags"]

    frame = tuner.analytics().dataframe()
    assert len(frame) == 10 and {"lambda", "max_depth", "eta", "FinalObjectiveValue"} <= set(frame.columns)
    assert frame["FinalObjectiveValue"].max() == best_value

    attached = HyperparameterTuner.attach("book-xgb-tune", sagemaker_session=sdk)
    assert attached.objective_metric_name == "validation:auc" and attached.max_jobs == 10
    assert set(attached.hyperparameter_ranges()["ContinuousParameterRanges"][0]) >= {"Name", "MinValue", "MaxValue"}
    assert attached.best_training_job() == best_name

    predictor = tuner.deploy(initial_instance_count=1, instance_type="ml.m5.large", serializer=CSVSerializer())
    try:
        validation = spam[1]
        scores = np.array(predictor.predict(validation[:20, 1:]).split(), dtype=float)
        assert len(scores) == 20 and ((scores > 0.5) == validation[:20, 0]).mean() >= 0.9
    finally:
        predictor.delete_endpoint()


@pytest.fixture(scope="module")
def sklearn_tuning(sdk, role, spam_s3):
    """A Random tuning job over the scikit-learn script (the warm start test's parent)."""
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner

    tuner = HyperparameterTuner(_sklearn(sdk, role, spam_s3), objective_metric_name="validation:accuracy",
                                hyperparameter_ranges={"C": ContinuousParameter(0.001, 10, "Logarithmic")},
                                metric_definitions=SK_METRICS, strategy="Random", max_jobs=3, max_parallel_jobs=2,
                                random_seed=3)
    tuner.fit(_inputs(spam_s3), job_name="sk-random")
    return tuner


def test_script_tuned_with_metric_definitions(server, sm, sklearn_tuning):
    job = sklearn_tuning.describe()
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["Strategy"] == "Random"
    definition = job["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == SK_METRICS
    assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:accuracy"
    jobs = children(sm, "sk-random")
    assert len(jobs) == 3 and all(0.8 < _value(j) <= 1 for j in jobs)
    logs = server.client("logs")
    for summary in jobs:  # the tuned value reached the script's argparse
        stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                           logStreamNamePrefix=summary["TrainingJobName"] + "/")["logStreams"][0]
        text = "\n".join(e["message"] for e in logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True)["events"])
        c = float(summary["TunedHyperParameters"]["C"])
        assert 0.001 <= c <= 10 and f"training with C={c} max_iter=200" in text
    assert _value(job["BestTrainingJob"]) == max(_value(j) for j in jobs)


def test_warm_start_from_a_parent(sm, sdk, role, spam_s3, sklearn_tuning):
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, WarmStartConfig, WarmStartTypes

    warm = WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"sk-random"})
    tuner = HyperparameterTuner(_sklearn(sdk, role, spam_s3), objective_metric_name="validation:accuracy",
                                hyperparameter_ranges={"C": ContinuousParameter(0.001, 10, "Logarithmic")},
                                metric_definitions=SK_METRICS, max_jobs=2, max_parallel_jobs=2,
                                warm_start_config=warm)
    tuner.fit(_inputs(spam_s3), job_name="sk-warm")
    job = tuner.describe()
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["WarmStartConfig"] == {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "sk-random"}],
                                      "WarmStartType": "IdenticalDataAndAlgorithm"}
    mine, parents = children(sm, "sk-warm"), children(sm, "sk-random")
    assert len(mine) == 2
    overall = job["OverallBestTrainingJob"]
    assert _value(overall) == max(_value(j) for j in mine + parents)
    assert _value(job["BestTrainingJob"]) == max(_value(j) for j in mine)


def test_multi_algorithm_tuner(sm, sdk, role, spam_s3):
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    tuner = HyperparameterTuner.create(
        estimator_dict={"xgboost": _xgboost(sdk, role, spam_s3), "sklearn": _sklearn(sdk, role, spam_s3)},
        objective_metric_name_dict={"xgboost": "validation:auc", "sklearn": "validation:accuracy"},
        hyperparameter_ranges_dict={"xgboost": {"max_depth": IntegerParameter(2, 6)},
                                    "sklearn": {"C": ContinuousParameter(0.01, 10, "Logarithmic")}},
        metric_definitions_dict={"sklearn": SK_METRICS},
        strategy="Random", max_jobs=4, max_parallel_jobs=2, random_seed=11)
    tuner.fit(inputs={"xgboost": _inputs(spam_s3), "sklearn": _inputs(spam_s3)}, job_name="multi-algo",
              include_cls_metadata={})
    job = tuner.describe()
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert "TrainingJobDefinition" not in job
    assert {d["DefinitionName"] for d in job["TrainingJobDefinitions"]} == {"xgboost", "sklearn"}
    jobs = children(sm, "multi-algo")
    by_definition = {j["TrainingJobDefinitionName"] for j in jobs}
    assert by_definition == {"xgboost", "sklearn"}
    for summary in jobs:
        expected = {"xgboost": {"max_depth"}, "sklearn": {"C"}}[summary["TrainingJobDefinitionName"]]
        assert set(summary["TunedHyperParameters"]) == expected
        metric = {"xgboost": "validation:auc", "sklearn": "validation:accuracy"}[summary["TrainingJobDefinitionName"]]
        assert summary["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == metric
    best = job["BestTrainingJob"]
    assert best["TrainingJobDefinitionName"] in {"xgboost", "sklearn"}
    assert _value(best) == max(_value(j) for j in jobs)
    assert tuner.best_estimator().latest_training_job.name == best["TrainingJobName"]
