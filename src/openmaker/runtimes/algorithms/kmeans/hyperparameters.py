"""K-Means hyperparameters, as the ``kmeans:1`` image takes them, and the values ``auto`` stands for.

``k`` and ``feature_dim`` are required; the SDK's ``KMeans`` estimator also always sends
``mini_batch_size`` and ``force_dense=True``, and ``eval_metrics`` as a JSON list (``'["msd", "ssd"]'``).
Names are the wire names (the SDK's ``max_iterations``/``tol``/``num_trials``/``local_init_method``/
``center_factor`` arrive as ``local_lloyd_*`` and ``extra_center_factor``).

``auto`` (openmaker's choice, documented because the real image does not say):

- ``extra_center_factor``: ``max(2, min(10, ceil(200 / k)))``, so k=10 streams 100 centers and k>=100
  streams 2k;
- ``local_lloyd_num_trials``: 10 trials, fewer when one trial's Lloyd iteration would cost more than
  2e8 multiply-adds (``K * k * feature_dim``), never fewer than 1.
"""

from __future__ import annotations

import json
import math
from typing import Any

from openmaker.runtimes.algorithms.firstparty.schema import (
    MESSAGES,
    NON_NEGATIVE,
    POSITIVE,
    Boolean,
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

INIT_METHODS = ["random", "kmeans++"]
EVAL_METRICS = ("msd", "ssd")
TRIAL_BUDGET = 2e8
MAX_TRIALS = 10


class MetricList(Hyperparameter):
    """``'["msd","ssd"]'`` (JSON, as the SDK sends it), ``msd,ssd`` or ``msd`` -> ``["msd", "ssd"]``."""

    def parse(self, value: Any) -> list[str]:
        if isinstance(value, list):
            items = value
        else:
            text = str(value).strip()
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = text
            if isinstance(decoded, str):
                items = [part for part in decoded.replace("[", "").replace("]", "").split(",")]
            elif isinstance(decoded, list):
                items = decoded
            else:
                raise ValueError(f"not a list of metrics: {value!r}")
        metrics = [str(item).strip().strip("'\"").strip() for item in items]
        metrics = [metric for metric in metrics if metric]
        if not metrics:
            raise ValueError("no metric given")
        return list(dict.fromkeys(metrics))

    def in_range(self, value: Any) -> bool:
        return all(metric in EVAL_METRICS for metric in value)


SCHEMA = Schema(
    [
        Integer("k", POSITIVE, required=True, tunable=False),
        Integer("feature_dim", POSITIVE, required=True),
        Integer("mini_batch_size", POSITIVE, default=5000, tunable=True),
        Integer("epochs", POSITIVE, default=1, tunable=True),
        Categorical("init_method", INIT_METHODS, default="random", tunable=True),
        IntegerOrAuto("extra_center_factor", POSITIVE, default="auto", tunable=True),
        Integer("local_lloyd_max_iter", POSITIVE, default=300),
        Continuous("local_lloyd_tol", Interval(min_closed=0, max_closed=1), default=0.0001),
        Categorical("local_lloyd_init_method", INIT_METHODS, default="kmeans++"),
        IntegerOrAuto("local_lloyd_num_trials", POSITIVE, default="auto"),
        Integer("half_life_time_size", NON_NEGATIVE, default=0),
        MetricList("eval_metrics", list(EVAL_METRICS), default='["msd"]'),
        Boolean("force_dense", default=True),  # the SDK always sends it; dense and sparse both work
        FreeText("_tuning_objective_metric"),
        *private_settings(),
    ],
    messages=MESSAGES,
)


def centers_factor(hps: dict[str, Any]) -> int:
    """``extra_center_factor``, with ``auto`` resolved."""
    factor = hps["extra_center_factor"]
    if factor != "auto":
        return int(factor)
    return max(2, min(10, math.ceil(200 / hps["k"])))


def num_trials(hps: dict[str, Any], streamed: int, feature_dim: int) -> int:
    """``local_lloyd_num_trials``, with ``auto`` resolved against the size of the reduction."""
    trials = hps["local_lloyd_num_trials"]
    if trials != "auto":
        return int(trials)
    cost = max(1, streamed * hps["k"] * feature_dim)
    return max(1, min(MAX_TRIALS, int(TRIAL_BUDGET // cost)))
