"""The hyperparameters SageMaker's XGBoost algorithm accepts, with its ranges and dependency rules.

Names, ranges and messages follow the algorithm container so a job that fails there fails here with the
same FailureReason (an unknown name is "Extraneous hyperparameter found: …", ``num_round`` is required).
Metric names are the container's: XGBoost's own plus the ones it computes itself (accuracy, f1, r2, …).
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.hyperparameters import (
    Categorical,
    CommaList,
    Continuous,
    FreeText,
    Integer,
    Interval,
    Predicate,
    Schema,
)

MAXIMIZE_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
    "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
)
MINIMIZE_METRICS = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
)
METRICS = MAXIMIZE_METRICS + MINIMIZE_METRICS
OBJECTIVES = (
    "aft_loss_distribution", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
    "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear",
    "reg:squarederror", "reg:logistic", "reg:gamma", "reg:pseudohubererror", "reg:squaredlogerror",
    "reg:absoluteerror", "reg:tweedie", "survival:aft", "survival:cox",
)
TREE_METHODS = ("auto", "exact", "approx", "hist", "gpu_hist")
UPDATERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
            "shotgun", "coord_descent", "grow_quantile_histmaker")
TUNING_METRICS = tuple(f"validation:{name}" for name in METRICS) + tuple(f"train:{name}" for name in METRICS)
TRUE_FALSE = ("true", "false")


def _metric_ok(metric: str) -> bool:
    if "<function" in metric:
        raise UserError(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        name, _, threshold = (part.strip() for part in metric.partition("@"))
        if name not in ("error", "ndcg", "map"):
            raise UserError(f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized "
                            "threshold should be one of these options: 'error', 'ndcg', 'map'.")
        try:
            float(threshold)
        except ValueError:
            raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in METRICS


def _check_objective(value: str, deps: dict[str, Any]) -> None:
    if value in ("multi:softmax", "multi:softprob") and deps.get("num_class") is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")


def _check_eval_metric(value: list[str], deps: dict[str, Any]) -> None:
    objective = deps.get("objective") or "reg:squarederror"
    if "auc" in value and not objective.startswith(("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in value and objective != "survival:aft":
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _check_updater(value: list[str], deps: dict[str, Any]) -> None:
    if deps.get("booster") == "gblinear":
        if not (len(value) == 1 and value[0] in ("shotgun", "coord_descent")):
            raise UserError("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
    elif deps.get("process_type") == "update":
        if not all(item in ("refresh", "prune") for item in value):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        growers = {"grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "grow_quantile_histmaker"}
        if sum(1 for item in value if item in growers) > 1:
            raise UserError("Only one tree grow plugin can be selected. Choose one from the following: "
                            "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_skmaker'")


def _needs_tree_method(allowed: tuple[str, ...], name: str):
    def check(value: Any, deps: dict[str, Any]) -> None:
        if value is not None and deps.get("tree_method") not in allowed:
            listed = " or ".join(f"'{method}'" for method in allowed)
            raise UserError(f"{name} can be used only when the tree_method parameter is set to either {listed}.")

    return check


def _tuple(value: Any) -> tuple:
    text = str(value).strip().strip("()[]")
    return tuple(int(part) for part in text.split(",") if part.strip())


class IntTuple(FreeText):
    """``"(1,0,-1)"`` -> ``(1, 0, -1)`` (monotone_constraints)."""

    def parse(self, value: Any) -> Any:
        return _tuple(value)

    def in_range(self, value: Any) -> bool:
        return all(item in (-1, 0, 1) for item in value)


class NestedList(FreeText):
    """``"[[0, 1], [2, 3]]"`` -> nested lists of feature indices (interaction_constraints)."""

    def parse(self, value: Any) -> Any:
        import json

        parsed = json.loads(value) if isinstance(value, str) else value
        if not isinstance(parsed, list) or not all(isinstance(group, list) for group in parsed):
            raise ValueError(f"not a list of lists: {value!r}")
        return parsed

    def in_range(self, value: Any) -> bool:
        return all(isinstance(item, int) and item >= 0 for group in value for item in group)


def _interval(**bounds: float) -> Interval:
    return Interval(**bounds)


SCHEMA = Schema(
    [
        Integer("num_round", range=_interval(min_closed=1), required=True, tunable=True),
        Integer("csv_weights", range=_interval(min_closed=0, max_closed=1)),
        Integer("early_stopping_rounds", range=_interval(min_closed=1)),
        Categorical("booster", range=["gbtree", "gblinear", "dart"]),
        Integer("verbosity", range=_interval(min_closed=0, max_closed=3)),
        Integer("nthread", range=_interval(min_closed=1)),
        Continuous("eta", range=_interval(min_closed=0, max_closed=1), tunable=True),
        Continuous("gamma", range=_interval(min_closed=0), tunable=True),
        Integer("max_depth", range=_interval(min_closed=0), tunable=True),
        Continuous("min_child_weight", range=_interval(min_closed=0), tunable=True),
        Continuous("max_delta_step", range=_interval(min_closed=0), tunable=True),
        Continuous("subsample", range=_interval(min_open=0, max_closed=1), tunable=True),
        Continuous("colsample_bytree", range=_interval(min_open=0, max_closed=1), tunable=True),
        Continuous("colsample_bylevel", range=_interval(min_open=0, max_closed=1), tunable=True),
        Continuous("colsample_bynode", range=_interval(min_open=0, max_closed=1), tunable=True),
        Continuous("lambda", range=_interval(min_closed=0), tunable=True),
        Continuous("alpha", range=_interval(min_closed=0), tunable=True),
        Categorical("tree_method", range=list(TREE_METHODS)),
        Continuous("sketch_eps", range=_interval(min_open=0, max_open=1)),
        Continuous("scale_pos_weight", range=_interval(min_open=0)),
        CommaList("updater", range=list(UPDATERS), depends_on=("booster", "process_type"), check=_check_updater),
        Categorical("dsplit", range=["row", "col"]),
        Integer("refresh_leaf", range=_interval(min_closed=0, max_closed=1)),
        Categorical("process_type", range=["default", "update"]),
        Categorical("grow_policy", range=["depthwise", "lossguide"]),
        Integer("max_leaves", range=_interval(min_closed=0)),
        Integer("max_bin", range=_interval(min_closed=0)),
        Categorical("predictor", range=["auto", "cpu_predictor", "gpu_predictor"]),
        IntTuple("monotone_constraints", range=[-1, 0, 1], depends_on=("tree_method",),
                 check=_needs_tree_method(("exact", "hist"), "monotone_constraints")),
        NestedList("interaction_constraints", range="lists of feature indices >= 0", depends_on=("tree_method",),
                   check=_needs_tree_method(("exact", "hist", "approx"), "interaction_constraints")),
        Categorical("sample_type", range=["uniform", "weighted"]),
        Categorical("normalize_type", range=["tree", "forest"]),
        Continuous("rate_drop", range=_interval(min_closed=0, max_closed=1)),
        Integer("one_drop", range=_interval(min_closed=0, max_closed=1)),
        Continuous("skip_drop", range=_interval(min_closed=0, max_closed=1)),
        Continuous("lambda_bias", range=_interval(min_closed=0, max_closed=1)),
        Continuous("tweedie_variance_power", range=_interval(min_open=1, max_open=2)),
        Categorical("objective", range=list(OBJECTIVES), depends_on=("num_class",), check=_check_objective),
        Integer("num_class", range=_interval(min_closed=2)),
        Continuous("base_score", range=_interval(min_closed=0)),
        Integer("_kfold", range=_interval(min_closed=2)),
        Integer("_num_cv_round", range=_interval(min_closed=1)),
        Categorical("_tuning_objective_metric", range=list(TUNING_METRICS)),
        CommaList("eval_metric", range=Predicate(_metric_ok, METRICS), depends_on=("objective",),
                  check=_check_eval_metric),
        Integer("seed", range=_interval(min_open=-(2**31), max_open=2**31 - 1)),
        Integer("num_parallel_tree", range=_interval(min_closed=1)),
        Categorical("save_model_on_termination", range=list(TRUE_FALSE)),
        Categorical("aft_loss_distribution", range=["normal", "logistic", "extreme"]),
        Continuous("aft_loss_distribution_scale", range=_interval(min_closed=0)),
        Categorical("deterministic_histogram", range=list(TRUE_FALSE)),
        Categorical("sampling_method", range=["uniform", "gradient_based"]),
        Integer("prob_buffer_row", range=_interval(min_open=1.0)),
        Categorical("use_dask_gpu_training", range=list(TRUE_FALSE)),
    ],
    aliases={"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"},
)

# The original (0.72) image also took these; they change nothing in today's XGBoost.
LEGACY_IGNORED = ("silent", "nthreads")
