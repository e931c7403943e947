"""Metrics through the official SDK v2: an estimator with ``metric_definitions`` whose script prints metric
lines; ``training_job_analytics.dataframe()`` reads them back from CloudWatch (GetMetricStatistics), the
final metrics are in DescribeTrainingJob, and ``Estimator.attach`` rebuilds the estimator from the job."""

from __future__ import annotations

from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "training"
METRICS = [
    {"Name": "train:loss", "Regex": r"train_loss=([0-9.]+)"},
    {"Name": "validation:accuracy", "Regex": r"validation_accuracy=([0-9.]+)"},
]

pytestmark = pytest.mark.usefixtures("fast_sdk_clock")


def test_metrics_analytics_and_attach(sagemaker_session, role) -> None:
    from sagemaker.estimator import Estimator
    from sagemaker.sklearn.estimator import SKLearn

    estimator = SKLearn(
        entry_point="metrics.py",
        source_dir=str(SCRIPTS),
        framework_version="1.2-1",
        py_version="py3",
        instance_type="ml.m5.large",
        instance_count=1,
        role=role,
        hyperparameters={"epochs": 3},
        metric_definitions=METRICS,
        sagemaker_session=sagemaker_session,
    )
    estimator.fit(wait=True, logs=False)
    name = estimator.latest_training_job.name
    job = estimator.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final == {"train:loss": pytest.approx(0.125), "validation:accuracy": pytest.approx(0.8)}

    frame = estimator.training_job_analytics.dataframe()
    assert set(frame.columns) == {"timestamp", "metric_name", "value"}
    assert set(frame["metric_name"]) == {"train:loss", "validation:accuracy"}
    # The three lines fall within one or two CloudWatch periods (60 s): compare the averaged values.
    losses = frame[frame["metric_name"] == "train:loss"]["value"]
    accuracies = frame[frame["metric_name"] == "validation:accuracy"]["value"]
    if len(losses) == 1:
        assert losses.iloc[0] == pytest.approx((0.5 + 0.25 + 0.125) / 3)
        assert accuracies.iloc[0] == pytest.approx((0.6 + 0.7 + 0.8) / 3)
    else:
        assert 0.125 <= losses.min() <= losses.max() <= 0.5
        assert 0.6 <= accuracies.min() <= accuracies.max() <= 0.8

    attached = Estimator.attach(name, sagemaker_session=sagemaker_session)
    assert attached.latest_training_job.name == name
    assert attached.model_data == estimator.model_data == job["ModelArtifacts"]["S3ModelArtifacts"]
    # (attach() itself never restores metric_definitions: the SDK looks for a misspelt "MetricDefinitons".)
    assert attached.latest_training_job.describe()["AlgorithmSpecification"]["MetricDefinitions"] == METRICS
    assert attached.role == role
    assert attached.instance_type == "ml.m5.large" and attached.instance_count == 1
    attached_sklearn = SKLearn.attach(name, sagemaker_session=sagemaker_session)
    assert attached_sklearn.entry_point == "metrics.py"
    assert attached_sklearn.framework_version == "1.2-1"
    assert attached_sklearn.hyperparameters()["epochs"] == "3"
