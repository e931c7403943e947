"""PCA hyperparameters, as the ``pca:1`` image takes them.

``feature_dim``, ``num_components`` and ``mini_batch_size`` are required (the SDK's ``PCA`` estimator
sends ``mini_batch_size``: at most 500, fewer for a small record set). ``extra_components`` -1 means
``max(10, num_components)`` and matters only in ``randomized`` mode. ``num_components`` may not exceed
``feature_dim``.
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty.schema import MESSAGES, POSITIVE, Boolean, private_settings
from openmaker.runtimes.algorithms.hyperparameters import Categorical, FreeText, Integer, Interval, Schema

MODES = ["regular", "randomized"]


def _within_feature_dim(value: int, others: dict[str, Any]) -> None:
    feature_dim = others.get("feature_dim")
    if feature_dim is not None and value > feature_dim:
        raise UserError(f"num_components ({value}) must not be larger than feature_dim ({feature_dim}): "
                        "there are at most as many principal components as features.")


SCHEMA = Schema(
    [
        Integer("feature_dim", POSITIVE, required=True),
        Integer("mini_batch_size", POSITIVE, required=True),
        Integer("num_components", POSITIVE, required=True, depends_on=("feature_dim",),
                check=_within_feature_dim),
        Categorical("algorithm_mode", MODES, default="regular"),
        Boolean("subtract_mean", default=True),
        Integer("extra_components", Interval(min_closed=-1), default=-1),
        FreeText("_tuning_objective_metric"),
        *private_settings(),
    ],
    messages=MESSAGES,
)


def sketch_size(hps: dict[str, Any]) -> int:
    """``num_components + extra_components`` with -1 resolved to ``max(10, num_components)``."""
    extra = hps["extra_components"]
    if extra < 0:
        extra = max(10, hps["num_components"])
    return hps["num_components"] + extra
