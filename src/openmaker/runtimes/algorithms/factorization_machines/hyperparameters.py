"""Factorization Machines' hyperparameters, as the algorithm documents them.

Required: ``feature_dim``, ``num_factors``, ``predictor_type``. Optional, with the documented defaults:
``epochs`` (1), ``mini_batch_size`` (1000), the optimizer's ``clip_gradient``/``eps``/``rescale_grad``
(no default: no clipping, Adam's 1e-8, 1/batch rows), and for each of the three parameter groups
(``bias``, ``linear``, ``factors``) a learning rate, a weight decay and an initialisation
(``*_init_method`` normal/uniform/constant with ``*_init_sigma``/``*_init_scale``/``*_init_value``).
Failures are worded as the first-party containers' JSON-schema validation words them (:mod:`..firstparty.schema`).
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty.schema import MESSAGES, NON_NEGATIVE, POSITIVE, PREFIX
from openmaker.runtimes.algorithms.hyperparameters import (
    Categorical,
    Continuous,
    FreeText,
    Hyperparameter,
    Integer,
    Schema,
)

PREDICTOR_TYPES = ["binary_classifier", "regressor"]
INIT_METHODS = ["normal", "uniform", "constant"]
GROUPS = ("bias", "linear", "factors")
# The documented defaults: learning rate, weight decay and the normal initialisation's sigma per group.
DEFAULT_LR = {"bias": 0.1, "linear": 0.001, "factors": 0.0001}
DEFAULT_WD = {"bias": 0.01, "linear": 0.001, "factors": 0.00001}
DEFAULT_SIGMA = {"bias": 0.01, "linear": 0.01, "factors": 0.001}


def _group(group: str) -> list[Hyperparameter]:
    """The seven hyperparameters of one parameter group; the method's companion is checked in :func:`init_of`."""
    method = f"{group}_init_method"
    return [
        Continuous(f"{group}_lr", range=NON_NEGATIVE, default=DEFAULT_LR[group], tunable=True),
        Continuous(f"{group}_wd", range=NON_NEGATIVE, default=DEFAULT_WD[group], tunable=True),
        Categorical(method, range=INIT_METHODS, default="normal", tunable=True),
        Continuous(f"{group}_init_scale", range=NON_NEGATIVE, tunable=True),
        Continuous(f"{group}_init_sigma", range=NON_NEGATIVE, default=DEFAULT_SIGMA[group], tunable=True),
        Continuous(f"{group}_init_value", tunable=True),
    ]


SCHEMA = Schema(
    [
        Integer("feature_dim", range=POSITIVE, required=True),
        Integer("num_factors", range=POSITIVE, required=True),
        Categorical("predictor_type", range=PREDICTOR_TYPES, required=True),
        Integer("epochs", range=POSITIVE, default=1, tunable=True),
        Integer("mini_batch_size", range=POSITIVE, default=1000, tunable=True),
        Continuous("clip_gradient"),
        Continuous("eps"),
        Continuous("rescale_grad"),
        *[hp for group in GROUPS for hp in _group(group)],
        FreeText("_tuning_objective_metric"),
    ],
    messages=MESSAGES,
)


def init_of(hps: dict[str, Any], group: str) -> tuple[str, float]:
    """``(method, number)`` of a group's initialisation: sigma for normal, scale for uniform, value for
    constant. A uniform or constant method without its companion hyperparameter is the user's mistake."""
    method = hps[f"{group}_init_method"]
    companion = {"normal": "sigma", "uniform": "scale", "constant": "value"}[method]
    number = hps.get(f"{group}_init_{companion}")
    if number is None:
        raise UserError(f"{PREFIX}'{group}_init_{companion}' is required when '{group}_init_method' is "
                        f"'{method}'")
    return method, float(number)


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema's checks, then the initialisation companions (so a bad job fails before reading data)."""
    hps = SCHEMA.validate(raw)
    for group in GROUPS:
        init_of(hps, group)
    return hps
