"""Linear Learner's hyperparameters, as the algorithm documents them, and the checks between them.

Only ``predictor_type`` is required (``num_classes`` too for a multiclass classifier). Everything else has
the container's default; many default to ``auto`` (the algorithm decides: see :mod:`.grid`). The values
the SDK cannot know are accepted as the real container accepts them: ``positive_example_weight_mult`` is a
number, ``auto`` or ``balanced``; the booleans that may be ``auto`` (``normalize_data``…) take all three.
The container's private ``_``-prefixed settings (``_kvstore``, ``_num_gpus``…) are accepted and ignored,
``_tuning_objective_metric`` turns the internal search off (one model), as under automatic model tuning.

Failures read like the first-party containers' JSON-schema validation (:mod:`..firstparty.schema`) and
always name the hyperparameter.
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty.schema import (
    MESSAGES,
    NON_NEGATIVE,
    POSITIVE,
    PREFIX,
    Boolean,
    ContinuousOrAuto,
    IntegerOrAuto,
    private_settings,
)
from openmaker.runtimes.algorithms.hyperparameters import (
    Categorical,
    Continuous,
    FreeText,
    Hyperparameter,
    Integer,
    Interval,
    Schema,
)

REGRESSOR, BINARY, MULTICLASS = "regressor", "binary_classifier", "multiclass_classifier"
PREDICTOR_TYPES = [BINARY, MULTICLASS, REGRESSOR]
REGRESSION_LOSSES = ("squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
                     "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss")
LOSSES_BY_TYPE = {
    REGRESSOR: REGRESSION_LOSSES,
    BINARY: ("logistic", "hinge_loss"),
    MULTICLASS: ("softmax_loss", "logistic", "hinge_loss"),
}
DEFAULT_LOSS = {REGRESSOR: "squared_loss", BINARY: "logistic", MULTICLASS: "softmax_loss"}
LOSSES = ["auto", *sorted({loss for losses in LOSSES_BY_TYPE.values() for loss in losses})]
SELECTION_CRITERIA = ["accuracy", "f_beta", "f1", "precision_at_target_recall", "recall_at_target_precision",
                      "loss_function", "cross_entropy_loss"]
UNIT_OPEN = Interval(min_open=0, max_open=1)
BELOW_ONE = Interval(min_closed=0, max_open=1)
PROBABILITY = Interval(min_open=0, max_closed=1)
GREATER_THAN_ZERO = Interval(min_open=0)
# Settings of the container that change nothing here (devices, parameter servers, logging).


class BooleanOrAuto(Boolean):
    """``true``/``false`` or ``auto`` (normalize_data, normalize_label, unbias_data, unbias_label)."""

    def parse(self, value: Any) -> bool | str:
        if str(value).strip().lower() == "auto":
            return "auto"
        return super().parse(value)


class PositiveWeight(Hyperparameter):
    """``positive_example_weight_mult``: a positive number, ``auto`` or ``balanced``."""

    def parse(self, value: Any) -> float | str:
        text = str(value).strip().lower()
        if text in ("auto", "balanced"):
            return text
        return float(text)

    def in_range(self, value: Any) -> bool:
        return isinstance(value, str) or value > 0


SCHEMA = Schema(
    [
        Categorical("predictor_type", range=PREDICTOR_TYPES, required=True),
        IntegerOrAuto("feature_dim", range=POSITIVE, default="auto"),
        Integer("num_classes", range=Interval(min_closed=1, max_closed=1_000_000)),
        Integer("mini_batch_size", range=POSITIVE, default=1000, tunable=True),
        Integer("epochs", range=POSITIVE, default=15),
        ContinuousOrAuto("learning_rate", range=GREATER_THAN_ZERO, default="auto", tunable=True),
        ContinuousOrAuto("wd", range=NON_NEGATIVE, default="auto", tunable=True),
        ContinuousOrAuto("l1", range=NON_NEGATIVE, default="auto", tunable=True),
        Categorical("loss", range=LOSSES, default="auto"),
        Categorical("optimizer", range=["auto", "sgd", "adam", "rmsprop"], default="auto"),
        ContinuousOrAuto("momentum", range=BELOW_ONE, default="auto"),
        ContinuousOrAuto("beta_1", range=BELOW_ONE, default="auto"),
        ContinuousOrAuto("beta_2", range=BELOW_ONE, default="auto"),
        ContinuousOrAuto("bias_lr_mult", range=GREATER_THAN_ZERO, default="auto"),
        ContinuousOrAuto("bias_wd_mult", range=NON_NEGATIVE, default="auto"),
        Boolean("use_bias", default=True, tunable=True),
        Boolean("use_lr_scheduler", default=True),
        IntegerOrAuto("lr_scheduler_step", range=POSITIVE, default="auto"),
        ContinuousOrAuto("lr_scheduler_factor", range=UNIT_OPEN, default="auto"),
        ContinuousOrAuto("lr_scheduler_minimum_lr", range=GREATER_THAN_ZERO, default="auto"),
        Categorical("init_method", range=["uniform", "normal"], default="uniform"),
        Continuous("init_scale", range=GREATER_THAN_ZERO, default=0.07),
        Continuous("init_sigma", range=GREATER_THAN_ZERO, default=0.01),
        Continuous("init_bias", default=0.0),
        BooleanOrAuto("normalize_data", default=True),
        BooleanOrAuto("normalize_label", default="auto"),
        BooleanOrAuto("unbias_data", default="auto"),
        BooleanOrAuto("unbias_label", default="auto"),
        Integer("num_point_for_scaler", range=POSITIVE, default=10000),
        IntegerOrAuto("num_models", range=POSITIVE, default="auto"),
        IntegerOrAuto("num_calibration_samples", range=POSITIVE, default="auto"),
        Categorical("binary_classifier_model_selection_criteria", range=SELECTION_CRITERIA, default="accuracy"),
        Continuous("target_recall", range=PROBABILITY, default=0.8),
        Continuous("target_precision", range=PROBABILITY, default=0.8),
        PositiveWeight("positive_example_weight_mult", range="a positive number, 'auto' or 'balanced'",
                       default=1.0, tunable=True),
        Continuous("f_beta", range=GREATER_THAN_ZERO, default=1.0),
        Continuous("margin", range=NON_NEGATIVE, default=1.0),
        Continuous("quantile", range=UNIT_OPEN, default=0.5),
        Continuous("loss_insensitivity", range=GREATER_THAN_ZERO, default=0.01),
        Continuous("huber_delta", range=NON_NEGATIVE, default=1.0),
        Integer("early_stopping_patience", range=POSITIVE, default=3),
        Continuous("early_stopping_tolerance", range=GREATER_THAN_ZERO, default=0.001),
        Integer("accuracy_top_k", range=Interval(min_closed=1, max_closed=1_000_000), default=3),
        Boolean("balance_multiclass_weights", default=False),
        FreeText("_tuning_objective_metric", default=""),
        *private_settings(),
    ],
    messages=MESSAGES,
)


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema's checks, then the ones between hyperparameters; ``loss`` comes back resolved."""
    hps = SCHEMA.validate(raw)
    predictor = hps["predictor_type"]
    if predictor == MULTICLASS:
        classes = hps.get("num_classes")
        if classes is None:
            raise UserError(f"{PREFIX}'num_classes' is a required property when 'predictor_type' is "
                            f"'{MULTICLASS}'")
        if classes < 3:
            raise UserError(f"{PREFIX}{classes!r} is not valid for 'num_classes': a multiclass_classifier needs "
                            "at least 3 classes (use predictor_type binary_classifier for 2)")
    loss = DEFAULT_LOSS[predictor] if hps["loss"] == "auto" else hps["loss"]
    if loss not in LOSSES_BY_TYPE[predictor]:
        raise UserError(f"{PREFIX}{loss!r} is not valid for 'loss' when 'predictor_type' is '{predictor}': "
                        f"expected one of {['auto', *LOSSES_BY_TYPE[predictor]]}")
    hps["loss"] = loss
    return hps


def tuning(hps: dict[str, Any]) -> bool:
    """True under automatic model tuning, which turns the internal search off (``num_models`` = 1)."""
    return bool(str(hps.get("_tuning_objective_metric") or "").strip())
