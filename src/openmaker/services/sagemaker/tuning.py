"""Hyperparameter tuning jobs: Create, Describe, List, ListTrainingJobsFor, Stop.

Create checks the request (``tuning_checks``), records it as the service keeps it (each definition's
StaticHyperParameters gain ``_tuning_objective_metric``) and hands it to the engine's tuner, which
launches the children as ordinary training jobs. Describe and the listings are built from the durable
records through ``engine.tuning.trials`` — the same view the CLI and the benchmarks read.
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError, validation_error
from openmaker.aws.handlers import handler
from openmaker.engine.tuning import trials as trial_views
from openmaker.engine.tuning.definitions import TUNING_KIND, definitions, with_objective_hyperparameter
from openmaker.engine.tuning.runner import max_jobs
from openmaker.services.sagemaker.common import (
    arn,
    check_tags,
    drop_none,
    in_use,
    jobs,
    json_safe,
    list_records,
    paginate,
)
from openmaker.services.sagemaker.tuning_checks import builtin_metric_definitions, check_request
from openmaker.storage.jobs import JobExists


def _not_found(name: str) -> AwsError:
    return AwsError("ResourceNotFound", f"Amazon SageMaker can't find a tuning job called {name}. Type another name.", 400)


def _exists(name: str) -> AwsError:
    return in_use(f"A hyperparameter tuning job with the name, {name}, already exists. Choose a different name.")


@handler("sagemaker", "CreateHyperParameterTuningJob")
def create_tuning_job(ctx: RequestContext, params: dict) -> dict:
    name = params["HyperParameterTuningJobName"]
    job_arn = arn(ctx, "hyper-parameter-tuning-job", name)
    if any(record.arn == job_arn for record in jobs(ctx).list(TUNING_KIND, name_contains=name)):
        raise _exists(name)
    check_request(ctx, params)
    tags = check_tags(params.get("Tags"))
    spec = with_objective_hyperparameter(json_safe({key: value for key, value in params.items() if key != "Tags"}))
    try:
        jobs(ctx).create(TUNING_KIND, name, job_arn, spec, secondary_status=None, tags=tags)
    except JobExists:
        raise _exists(name) from None
    ctx.app.engine.tuning.submit(name)
    return {"HyperParameterTuningJobArn": job_arn}


@handler("sagemaker", "DescribeHyperParameterTuningJob")
def describe_tuning_job(ctx: RequestContext, params: dict) -> dict:
    name = params["HyperParameterTuningJobName"]
    view = trial_views.load(jobs(ctx), name)
    if view is None:
        raise _not_found(name)
    record, spec = view.record, view.record.spec
    config = dict(spec["HyperParameterTuningJobConfig"])
    config.setdefault("TrainingJobEarlyStoppingType", "Off")
    limits = dict(config.get("ResourceLimits") or {})
    limits.setdefault("MaxNumberOfTrainingJobs", max_jobs(config, definitions(spec)))
    config["ResourceLimits"] = limits
    state = record.state or {}
    best = view.best()
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": _described(ctx, spec.get("TrainingJobDefinition")),
        "TrainingJobDefinitions": [_described(ctx, d) for d in spec["TrainingJobDefinitions"]]
        if spec.get("TrainingJobDefinitions")
        else None,
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": record.creation_time,
        "HyperParameterTuningEndTime": record.end_time,
        "LastModifiedTime": record.last_modified_time,
        "TrainingJobStatusCounters": view.status_counters(),
        "ObjectiveStatusCounters": view.objective_counters(),
        "BestTrainingJob": summary(view, best) if best else None,
        "WarmStartConfig": spec.get("WarmStartConfig"),
        "FailureReason": record.failure_reason,
        "TuningJobCompletionDetails": state.get("TuningJobCompletionDetails"),
        "ConsumedResources": state.get("ConsumedResources") or _consumed(record),
    }
    warm = spec.get("WarmStartConfig") or {}
    if warm.get("WarmStartType") == "IdenticalDataAndAlgorithm":
        out["OverallBestTrainingJob"] = _overall_best(ctx, view, warm)
    return drop_none(out)


def _described(ctx: RequestContext, definition: dict[str, Any] | None) -> dict[str, Any] | None:
    """A definition as Describe shows it, with what the service fills in (``HyperparameterTuner.attach``
    reads both unconditionally): a built-in algorithm's own MetricDefinitions, and a given
    HyperParameterTuningResourceConfig repeated as ResourceConfig."""
    if definition is None:
        return None
    definition = dict(definition)
    algorithm = dict(definition.get("AlgorithmSpecification") or {})
    if "MetricDefinitions" not in algorithm:
        algorithm["MetricDefinitions"] = builtin_metric_definitions(
            ctx, algorithm.get("TrainingImage") or "", definition.get("StaticHyperParameters") or {}
        )
        definition["AlgorithmSpecification"] = algorithm
    flexible = definition.get("HyperParameterTuningResourceConfig") or {}
    if "ResourceConfig" not in definition and flexible.get("InstanceType"):
        keys = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")
        definition["ResourceConfig"] = {key: flexible[key] for key in keys if key in flexible}
    return definition


def summary(view: trial_views.TuningView, trial: trial_views.Trial) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary."""
    objective = None
    if trial.objective is not None:
        objective = {"Type": trial.objective_type, "MetricName": trial.objective_metric, "Value": trial.objective}
    return drop_none(
        {
            "TrainingJobDefinitionName": trial.definition,
            "TrainingJobName": trial.name,
            "TrainingJobArn": trial.arn,
            "TuningJobName": view.record.name,
            "CreationTime": trial.creation_time,
            "TrainingStartTime": trial.start_time,
            "TrainingEndTime": trial.end_time,
            "TrainingJobStatus": trial.status,
            "TunedHyperParameters": trial.tuned,
            "FailureReason": trial.failure_reason,
            "FinalHyperParameterTuningJobObjectiveMetric": objective,
            "ObjectiveStatus": trial.objective_status,
        }
    )


def _consumed(record: Any) -> dict[str, int]:
    from datetime import UTC, datetime

    end = record.end_time or datetime.now(UTC)
    return {"RuntimeInSeconds": max(0, int((end - record.creation_time).total_seconds()))}


def _overall_best(ctx: RequestContext, view: trial_views.TuningView, warm: dict) -> dict[str, Any] | None:
    """The best job of this tuning job and its IdenticalDataAndAlgorithm parents."""
    candidates: list[tuple[trial_views.TuningView, trial_views.Trial]] = []
    best = view.best()
    if best is not None:
        candidates.append((view, best))
    for parent in warm.get("ParentHyperParameterTuningJobs") or []:
        other = trial_views.load(jobs(ctx), parent.get("HyperParameterTuningJobName") or "")
        if other is not None and (found := other.best()) is not None:
            candidates.append((other, found))
    if not candidates:
        return None
    sign = -1.0 if view.maximize else 1.0
    owner, trial = min(candidates, key=lambda pair: sign * float(pair[1].objective))  # type: ignore[arg-type]
    return summary(owner, trial)


@handler("sagemaker", "ListHyperParameterTuningJobs")
def list_tuning_jobs(ctx: RequestContext, params: dict) -> dict:
    params = {"SortBy": "Name", "SortOrder": "Ascending", **params}
    records, token = list_records(ctx, TUNING_KIND, params)
    summaries = []
    for record in records:
        view = trial_views.TuningView(record, trial_views.trials_of(jobs(ctx), record))
        config = record.spec["HyperParameterTuningJobConfig"]
        limits = dict(config.get("ResourceLimits") or {})
        limits.setdefault("MaxNumberOfTrainingJobs", max_jobs(config, definitions(record.spec)))
        summaries.append(
            drop_none(
                {
                    "HyperParameterTuningJobName": record.name,
                    "HyperParameterTuningJobArn": record.arn,
                    "HyperParameterTuningJobStatus": record.status,
                    "Strategy": config.get("Strategy"),
                    "CreationTime": record.creation_time,
                    "HyperParameterTuningEndTime": record.end_time,
                    "LastModifiedTime": record.last_modified_time,
                    "TrainingJobStatusCounters": view.status_counters(),
                    "ObjectiveStatusCounters": view.objective_counters(),
                    "ResourceLimits": limits,
                }
            )
        )
    return drop_none({"HyperParameterTuningJobSummaries": summaries, "NextToken": token})


@handler("sagemaker", "ListTrainingJobsForHyperParameterTuningJob")
def list_training_jobs_for_tuning_job(ctx: RequestContext, params: dict) -> dict:
    name = params["HyperParameterTuningJobName"]
    view = trial_views.load(jobs(ctx), name)
    if view is None:
        raise _not_found(name)
    sort_by = params.get("SortBy") or "Name"
    descending = (params.get("SortOrder") or "Ascending") == "Descending"
    trials = view.trials
    if params.get("StatusEquals"):
        trials = [t for t in trials if t.status == params["StatusEquals"]]
    if sort_by == "FinalObjectiveMetricValue":
        trials = sorted((t for t in trials if t.objective is not None), key=lambda t: (t.objective, t.name))
    elif sort_by == "CreationTime":
        trials = sorted(trials, key=lambda t: (t.creation_time, t.index))
    elif sort_by == "Status":
        trials = sorted(trials, key=lambda t: (t.status, t.name))
    else:
        trials = sorted(trials, key=lambda t: t.name)
    if descending:
        trials.reverse()
    filters = {key: params.get(key) for key in ("HyperParameterTuningJobName", "StatusEquals", "SortBy", "SortOrder")}
    page, token = paginate(trials, params, filters)
    return drop_none({"TrainingJobSummaries": [summary(view, t) for t in page], "NextToken": token})


@handler("sagemaker", "StopHyperParameterTuningJob")
def stop_tuning_job(ctx: RequestContext, params: dict) -> dict:
    name = params["HyperParameterTuningJobName"]
    record = jobs(ctx).get(TUNING_KIND, name)
    if record is None:
        raise _not_found(name)
    if record.status != "InProgress":
        raise validation_error(
            f"The hyperparameter tuning job {name} is {record.status}; only a job InProgress can be stopped."
        )
    jobs(ctx).request_stop(TUNING_KIND, name)
    ctx.app.engine.tuning.stop(name)
    return {}
