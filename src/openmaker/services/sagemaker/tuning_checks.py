"""What CreateHyperParameterTuningJob checks beyond the shapes, worded as the service words it.

Each definition is also checked the way CreateTrainingJob would check its children (the same
function, on a child request made with representative tuned values), so a tuning job never starts
children that would be refused one by one.
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.engine import builtin_metrics
from openmaker.engine.tuning.definitions import (
    OBJECTIVE_HYPERPARAMETER,
    TUNING_KIND,
    Definition,
    child_request,
    definitions,
    representative_tuned,
)
from openmaker.engine.tuning.runner import EPOCH_KEYS, max_resource
from openmaker.engine.tuning.space import Param, RangeError, combinations, parse_ranges
from openmaker.services.sagemaker import training
from openmaker.services.sagemaker.common import jobs

MAX_HYPERPARAMETERS = 100
MAX_HYPERBAND_RESOURCE = 20000


def check_request(ctx: RequestContext, params: dict[str, Any]) -> None:
    if ("TrainingJobDefinition" in params) == ("TrainingJobDefinitions" in params):
        raise validation_error(
            "Specify either TrainingJobDefinition or TrainingJobDefinitions (for tuning several "
            "algorithms), but not both."
        )
    if params.get("Autotune"):
        raise validation_error(
            "openmaker does not provide Autotune; give the strategy, resource limits and parameter ranges."
        )
    config = params["HyperParameterTuningJobConfig"]
    defs = definitions(params)
    spaces = [_check_definition(ctx, definition, len(defs) > 1) for definition in defs]
    if len({d.objective.get("Type") for d in defs}) > 1:
        raise validation_error("Every training job definition must use the same objective Type (Maximize or Minimize).")
    _check_strategy(config, defs, spaces)
    if params.get("WarmStartConfig"):
        _check_warm_start(ctx, params, defs)


def _check_definition(ctx: RequestContext, definition: Definition, multi: bool) -> list[Param]:
    where = f"training job definition '{definition.name}'" if multi else "the tuning job"
    if multi and not definition.name:
        raise validation_error("Every entry of TrainingJobDefinitions must have a DefinitionName.")
    if not definition.objective.get("MetricName") or not definition.objective.get("Type"):
        raise validation_error(
            f"An objective is required for {where}: give HyperParameterTuningJobObjective "
            "(or TuningObjective in each training job definition)."
        )
    try:
        space = parse_ranges(definition.ranges)
    except RangeError as error:
        raise validation_error(str(error)) from None
    static = definition.static
    for param in space:
        if param.name == OBJECTIVE_HYPERPARAMETER:
            raise validation_error(f"The hyperparameter '{OBJECTIVE_HYPERPARAMETER}' is reserved and cannot be tuned.")
        if param.name in static:
            raise validation_error(
                f"The hyperparameter '{param.name}' is specified as both static and tunable. A hyperparameter "
                "can be either static (StaticHyperParameters) or tunable (ParameterRanges), not both."
            )
    total = len(space) + len([key for key in static if key != OBJECTIVE_HYPERPARAMETER])
    if total > MAX_HYPERPARAMETERS:
        raise validation_error(
            f"The tuning job has {total} static and tunable hyperparameters; the limit is {MAX_HYPERPARAMETERS}."
        )
    request = child_request(definition, "validation", representative_tuned(definition), "", 1)
    request.pop("TuningJobArn")
    request.pop("TuningTrial")
    training.validate(ctx, request)
    _check_objective_metric(ctx, definition, where)
    return space


def _check_objective_metric(ctx: RequestContext, definition: Definition, where: str) -> None:
    """The objective must be a metric the jobs emit: one of the MetricDefinitions, or for a built-in
    algorithm one of the algorithm's own metrics."""
    metric = definition.metric
    algorithm = definition.body.get("AlgorithmSpecification") or {}
    given = algorithm.get("MetricDefinitions") or []
    if given:
        if metric not in {item.get("Name") for item in given}:
            raise validation_error(
                f"A metric is required for this hyperparameter tuning job objective ({metric}). "
                "Provide a metric in the metric definitions."
            )
        return
    name, builtin = _builtin_metrics(ctx, algorithm.get("TrainingImage") or "", definition.static)
    if name is None:
        raise validation_error(
            f"A metric is required for this hyperparameter tuning job objective ({metric}). "
            "Provide a metric in the metric definitions."
        )
    if builtin is not None and metric not in builtin:
        raise validation_error(
            f"The objective metric type, [{metric}], that you specified for {where} isn't valid for the "
            f"[{name}] algorithm. Choose a valid objective metric type: {', '.join(sorted(builtin))}."
        )


def _algorithm(ctx: RequestContext, image: str, static: dict[str, str]) -> str | None:
    """The built-in algorithm ``image`` runs with these hyperparameters, or None (a script, BYO)."""
    from openmaker.engine.images import UnknownImage, resolve_image

    try:
        spec = resolve_image(image, ctx.app.settings.home)
    except UnknownImage:
        return None
    return builtin_metrics.algorithm_of(spec.command("train", "python3", static) or [])


def _builtin_metrics(ctx: RequestContext, image: str, static: dict[str, str]) -> tuple[str | None, set[str] | None]:
    """(algorithm, its metric names) when ``image`` runs a built-in algorithm, (None, None) when it
    does not; the names are None when openmaker does not know that algorithm's metrics."""
    algorithm = _algorithm(ctx, image, static)
    if algorithm is None:
        return None, None
    known = builtin_metrics.DEFINITIONS.get(algorithm)
    return algorithm, ({item["Name"] for item in known} if known else None)


def builtin_metric_definitions(ctx: RequestContext, image: str, static: dict[str, str]) -> list[dict[str, str]]:
    """The MetricDefinitions the service applies to a built-in algorithm's jobs ([] for other images)."""
    algorithm = _algorithm(ctx, image, static)
    return list(builtin_metrics.DEFINITIONS.get(algorithm or "", []))


def _check_strategy(config: dict[str, Any], defs: list[Definition], spaces: list[list[Param]]) -> None:
    strategy = config.get("Strategy")
    limits = config.get("ResourceLimits") or {}
    max_jobs = limits.get("MaxNumberOfTrainingJobs")
    parallel = limits["MaxParallelTrainingJobs"]
    if config.get("StrategyConfig") and strategy != "Hyperband":
        raise validation_error("StrategyConfig should be provided only if Hyperband is selected as the Strategy.")
    counts = [combinations(space) for space in spaces]
    if strategy == "Grid":
        for space in spaces:
            for param in space:
                if param.kind != "Categorical":
                    raise validation_error(
                        "Only categorical parameters are supported when using the Grid strategy; "
                        f"'{param.name}' is a {param.kind.lower()} parameter range."
                    )
        total = sum(count or 0 for count in counts)
        if max_jobs is not None and max_jobs != total:
            raise validation_error(
                f"With the Grid strategy, MaxNumberOfTrainingJobs ({max_jobs}) must equal the number of "
                f"distinct combinations of the categorical ranges ({total}), or be left out."
            )
        max_jobs = total
    elif max_jobs is None:
        raise validation_error("ResourceLimits.MaxNumberOfTrainingJobs must be specified for the "
                               f"{strategy} strategy.")
    elif all(count is not None for count in counts) and sum(counts) < max_jobs:  # type: ignore[arg-type]
        total = sum(counts)  # type: ignore[arg-type]
        raise validation_error(
            "You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter "
            f"combinations for the provided ranges [{float(total)}] must be equal or greater than the value "
            f"of MaxNumberOfJobs, [{max_jobs}]. Provide additional ranges."
        )
    if parallel > max_jobs:
        raise validation_error(
            f"MaxParallelTrainingJobs ({parallel}) must be less than or equal to MaxNumberOfTrainingJobs ({max_jobs})."
        )
    if strategy == "Hyperband":
        if config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
            raise validation_error(
                "TrainingJobEarlyStoppingType must be Off to use the Hyperband strategy, which has its own "
                "early stopping."
            )
        biggest = max_resource(config, defs)
        if biggest is None:
            raise validation_error(
                "MaxResource parameter is not provided and could not be inferred from provided static "
                f"hyperparameters of TrainingJobDefinition ({', '.join(EPOCH_KEYS)})."
            )
        smallest = ((config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}).get("MinResource") or 1
        if biggest > MAX_HYPERBAND_RESOURCE:
            raise validation_error(f"MaxResource ({biggest}) must be at most {MAX_HYPERBAND_RESOURCE}.")
        if smallest > biggest:
            raise validation_error(f"MinResource ({smallest}) must be less than or equal to MaxResource ({biggest}).")


def _check_warm_start(ctx: RequestContext, params: dict[str, Any], defs: list[Definition]) -> None:
    warm = params["WarmStartConfig"]
    if "TrainingJobDefinitions" in params:
        raise validation_error(
            "Warm start is available only when tuning a single algorithm (TrainingJobDefinition)."
        )
    mine = defs[0]
    count = len(parse_ranges(mine.ranges)) + len([k for k in mine.static if k != OBJECTIVE_HYPERPARAMETER])
    for parent in warm["ParentHyperParameterTuningJobs"]:
        name = parent.get("HyperParameterTuningJobName") or ""
        record = jobs(ctx).get(TUNING_KIND, name)
        if record is None:
            raise validation_error(f"Could not find parent hyperparameter tuning job '{name}'.")
        if not record.terminal:
            raise validation_error(
                f"The parent hyperparameter tuning job '{name}' is {record.status}; a parent must have "
                "ended (Completed, Stopped or Failed)."
            )
        theirs = definitions(record.spec)
        if len(theirs) != 1:
            raise validation_error(f"The parent hyperparameter tuning job '{name}' tuned several algorithms; "
                                   "warm start needs a single-algorithm parent.")
        other = theirs[0]
        if other.metric != mine.metric:
            raise validation_error(
                f"The objective metric for the new tuning job ({mine.metric}) must be the same as for all "
                f"parent jobs ('{name}' uses {other.metric})."
            )
        other_count = len(parse_ranges(other.ranges)) + len(
            [k for k in other.static if k != OBJECTIVE_HYPERPARAMETER]
        )
        if other_count != count:
            raise validation_error(
                "The total number of static plus tunable hyperparameters must remain the same as it is in "
                f"all parent jobs ('{name}' has {other_count}, this job {count})."
            )
        if warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
            image = (mine.body.get("AlgorithmSpecification") or {}).get("TrainingImage")
            if image != (other.body.get("AlgorithmSpecification") or {}).get("TrainingImage"):
                raise validation_error(
                    f"IdenticalDataAndAlgorithm warm start needs the same training image as the parent "
                    f"'{name}'; use TransferLearning for another image version."
                )
            if mine.body.get("InputDataConfig") != other.body.get("InputDataConfig"):
                raise validation_error(
                    f"IdenticalDataAndAlgorithm warm start needs the same input data as the parent '{name}'; "
                    "use TransferLearning for new data."
                )
