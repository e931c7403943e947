"""``fit``: the XGBoost algorithm's training, as the container runs ``xgboost.train``.

The validated hyperparameters become ``xgboost.train``'s params unchanged except for the algorithm's own
keys (``num_round``, ``early_stopping_rounds``, ``csv_weights``, ``_tuning_objective_metric``, …) and what
today's XGBoost no longer takes (``gpu_hist`` -> ``hist``, ``predictor``); nothing is added that changes
the model, so ``xgboost.train`` with the same params and data gives the same trees. ``nthread`` defaults to
the host's cores.

Per round, one line ``[i]#011train-<m>:<v>#011validation-<m>:<v>`` (:mod:`..metrics`). The metrics are
``eval_metric`` united with the tuning objective's (sorted when both are given, as the container does);
images before 1.3 default classification to ``error``/``merror`` (XGBoost's default then, which the book's
``train-error``/``validation-error`` lines show), later ones to XGBoost's own default. With
``early_stopping_rounds`` training stops when the tuning objective (else the last ``eval_metric``, else
XGBoost's last metric) on ``validation`` has not improved for that many rounds; the saved model ends at the
best round.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from openmaker.runtimes.algorithms import metrics
from openmaker.runtimes.algorithms.base import image_version
from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import AlgorithmError, UserError
from openmaker.runtimes.algorithms.xgboost import custom_metrics, data
from openmaker.runtimes.algorithms.xgboost.hyperparameters import MAXIMIZE_METRICS
from openmaker.runtimes.algorithms.xgboost.model import SAVE_MODEL_FROM, XGBoostModel, pickles
from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms.xgboost")

ALGORITHM_KEYS = ("num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric", "_kfold",
                  "_num_cv_round", "save_model_on_termination", "use_dask_gpu_training")
LEGACY_DEFAULT_METRIC = {"binary:logistic": "error", "binary:logitraw": "error", "binary:hinge": "error",
                         "multi:softmax": "merror", "multi:softprob": "merror"}
# XGBoost messages that mean the data or parameters are wrong (the container reports them as user errors).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression", "label must be in [0, num_class)",
    "Target is multiclass but average='binary'", "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()", "the dataset only contains pos or neg samples",
    "base_score must be in (0,1)", "label must be nonnegative", "Parameter reg_lambda should be greater equal to 0",
    "Number of columns does not match number of features in booster",
)


def _round_callback(legacy: bool) -> Any:
    import xgboost as xgb

    class RoundPrinter(xgb.callback.TrainingCallback):
        """Prints each round's evaluation in the container's line format, on the first worker only."""

        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            if evals_log and xgb.collective.get_rank() == 0:
                scores = [(name, metric, history[-1] if not isinstance(history[-1], tuple) else history[-1][0])
                          for name, logs in evals_log.items() for metric, history in logs.items()]
                metrics.emit(metrics.round_line(epoch, scores, "g" if legacy else ".5f"))
            return False

    return RoundPrinter()


def evaluation_metrics(hps: dict[str, Any], tuning: str | None, legacy: bool) -> tuple[list[str], str | None]:
    """(metrics to evaluate, the early-stopping metric) from eval_metric and the tuning objective."""
    eval_metric = list(hps.get("eval_metric") or [])
    tuned = tuning.split(":", 1)[1] if tuning else None
    if tuned and eval_metric:
        union = sorted(set(eval_metric) | {tuned})
    else:
        union = eval_metric or ([tuned] if tuned else [])
    if not union and legacy:
        default = LEGACY_DEFAULT_METRIC.get(hps.get("objective") or "")
        union = [default] if default else []
    stopping = tuned or (eval_metric[-1] if eval_metric else None)
    return union, stopping


def train_params(hps: dict[str, Any], env: TrainingEnv, native_metrics: list[str]) -> dict[str, Any]:
    """``xgboost.train`` params from the validated hyperparameters."""
    params = {key: value for key, value in hps.items() if key not in ALGORITHM_KEYS and key != "eval_metric"}
    if params.get("tree_method") == "gpu_hist":
        logger.warning("tree_method gpu_hist: no GPU here, training with hist on the CPU")
        params["tree_method"] = "hist"
    params.pop("predictor", None)  # XGBoost 2 removed it; prediction is the same
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    if "monotone_constraints" in params:
        params["monotone_constraints"] = "(" + ",".join(str(v) for v in params["monotone_constraints"]) + ")"
    if "interaction_constraints" in params:
        params["interaction_constraints"] = json.dumps(params["interaction_constraints"])
    params.setdefault("nthread", env.num_cpus)
    if native_metrics:
        params["eval_metric"] = native_metrics
    return params


def _load(channels: dict[str, Channel], csv_weights: int, nthread: int) -> tuple[Any, Any]:
    train = channels["train"]
    loaded = data.load(train, csv_weights)
    if loaded is None:
        raise UserError(f"No data in training channel path {train.path}")
    dtrain = data.to_dmatrix(loaded, nthread)
    dval = None
    if "validation" in channels:
        val = channels["validation"]
        loaded_val = data.load(val, csv_weights, loaded.zero_based)
        if loaded_val is None:
            raise UserError(f"No data in validation channel path {val.path}")
        dval = data.to_dmatrix(loaded_val, nthread)
    logger.info("Train matrix has %d rows and %d columns", dtrain.num_row(), dtrain.num_col())
    if dval is not None:
        logger.info("Validation matrix has %d rows", dval.num_row())
    return dtrain, dval


def _xgboost_message(error: Exception) -> str:
    """XGBoost's error without its native stack trace."""
    text = str(error)
    return text.split("\nStack trace:", 1)[0].strip()


def fit(hps: dict[str, Any], channels: dict[str, Channel], env: TrainingEnv) -> XGBoostModel | None:
    import xgboost as xgb

    from openmaker.runtimes.algorithms.xgboost import distributed

    version = image_version()
    legacy = version is None or version < SAVE_MODEL_FROM
    if "_kfold" in hps:
        raise UserError("Hyperparameter _kfold: k-fold cross-validation is not supported by openmaker yet")
    wanted, stopping = evaluation_metrics(hps, hps.get("_tuning_objective_metric"), legacy)
    native, custom = custom_metrics.split(wanted)
    params = train_params(hps, env, native)
    logger.info("XGBoost %s params: %s", xgb.__version__, json.dumps(params, default=str, sort_keys=True))

    callbacks = [_round_callback(legacy)]
    rounds = hps.get("early_stopping_rounds")
    try:
        with distributed.context(env) as is_master:
            dtrain, dval = _load(channels, int(hps.get("csv_weights") or 0), int(params["nthread"]))
            evals = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
            if rounds and dval is not None:
                callbacks.append(xgb.callback.EarlyStopping(
                    rounds=rounds, data_name="validation", metric_name=stopping,
                    maximize=stopping in MAXIMIZE_METRICS if stopping else None, save_best=True))
            elif rounds:
                logger.warning("early_stopping_rounds needs a validation channel; training all %d rounds",
                               hps["num_round"])
            booster = xgb.train(params, dtrain, num_boost_round=hps["num_round"], evals=evals,
                                custom_metric=custom_metrics.feval(custom), callbacks=callbacks,
                                verbose_eval=False)
    except xgb.core.XGBoostError as error:
        message = _xgboost_message(error)
        if any(known in message for known in CUSTOMER_ERRORS):
            raise UserError(message) from error
        raise AlgorithmError(f"XGB train call failed with exception:\n {message}") from error
    if rounds and dval is not None and getattr(booster, "best_iteration", None) is not None:
        logger.info("Best iteration %d (early stopping on validation-%s)", booster.best_iteration,
                    stopping or "last metric")
    return XGBoostModel(booster, pickled=pickles(version)) if is_master else None
