"""The parallel models: which learning rate, weight decay, L1 and positive weight each one trains with.

The container trains ``num_models`` models at once (32 by default) and keeps the best on the validation
data: "one model is trained according to the given training parameters, and the rest by close
parameters". Here every hyperparameter left at ``auto`` among ``learning_rate``, ``wd``, ``l1`` and
``positive_example_weight_mult`` is an axis of candidate values; model 0 takes each axis' default, the
others a seeded sample of the remaining combinations (the same models every run). A value the user set is
kept by every model; when more models are asked for than the axes can give, the extra ones use the given
values with the learning rate and weight decay moved by factors of 2 ("close parameters").
Under automatic model tuning (``_tuning_objective_metric``) there is one model, as the service sets it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.linear_learner.hyperparameters import BINARY, tuning

AUTO_MODELS = 32
SEED = 0
# Candidate values of the auto axes; the first of each is model 0's.
LEARNING_RATES = {"adam": (0.1, 0.01, 0.001, 0.03), "rmsprop": (0.01, 0.001, 0.1, 0.003),
                  "sgd": (0.01, 0.1, 0.001, 0.03)}
WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1)
L1S = (0.0, 1e-3)
POSITIVE_WEIGHTS: tuple[float | str, ...] = (1.0, "balanced")
CLOSE_FACTORS = (0.5, 2.0, 0.25, 4.0)


@dataclass
class Models:
    """Per-model values, one entry a model."""

    learning_rate: np.ndarray
    wd: np.ndarray
    l1: np.ndarray
    positive_weight: list[float | str]

    @property
    def count(self) -> int:
        return int(self.learning_rate.size)

    def describe(self, index: int, settings: Settings) -> dict[str, Any]:
        """The model's hyperparameters, as the container's "Best model found" line lists them."""
        described: dict[str, Any] = {"optimizer": settings.optimizer,
                                     "learning_rate": float(self.learning_rate[index]),
                                     "wd": float(self.wd[index]), "l1": float(self.l1[index])}
        if settings.use_lr_scheduler:
            described.update(lr_scheduler_step=settings.lr_scheduler_step,
                             lr_scheduler_factor=settings.lr_scheduler_factor,
                             lr_scheduler_minimum_lr=settings.lr_scheduler_minimum_lr)
        if settings.predictor == BINARY:
            described["positive_example_weight_mult"] = self.positive_weight[index]
        return described


@dataclass
class Settings:
    """What every model shares: the optimizer and its schedule, the bias' multipliers."""

    predictor: str
    optimizer: str
    beta_1: float
    beta_2: float
    momentum: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_bias: bool
    use_lr_scheduler: bool
    lr_scheduler_step: int
    lr_scheduler_factor: float
    lr_scheduler_minimum_lr: float


def _auto(value: Any, default: float) -> float:
    return default if value == "auto" else float(value)


def settings(hps: dict[str, Any], batches_per_epoch: int) -> Settings:
    """The shared settings with ``auto`` resolved (the schedule's step follows the epoch's length)."""
    optimizer = "adam" if hps["optimizer"] == "auto" else hps["optimizer"]
    step = hps["lr_scheduler_step"]
    return Settings(
        predictor=hps["predictor_type"],
        optimizer=optimizer,
        beta_1=_auto(hps["beta_1"], 0.9),
        beta_2=_auto(hps["beta_2"], 0.999),
        momentum=_auto(hps["momentum"], 0.9 if optimizer == "sgd" else 0.0),
        bias_lr_mult=_auto(hps["bias_lr_mult"], 1.0),
        bias_wd_mult=_auto(hps["bias_wd_mult"], 0.0),
        use_bias=bool(hps["use_bias"]),
        use_lr_scheduler=bool(hps["use_lr_scheduler"]),
        lr_scheduler_step=int(step) if step != "auto" else (10 if batches_per_epoch < 50 else 100),
        lr_scheduler_factor=_auto(hps["lr_scheduler_factor"], 0.99),
        lr_scheduler_minimum_lr=_auto(hps["lr_scheduler_minimum_lr"], 1e-5),
    )


def models(hps: dict[str, Any], optimizer: str) -> Models:
    """The per-model values for ``num_models`` (auto: up to 32) models."""
    axes: list[tuple[Any, ...]] = [
        LEARNING_RATES[optimizer] if hps["learning_rate"] == "auto" else (float(hps["learning_rate"]),),
        WEIGHT_DECAYS if hps["wd"] == "auto" else (float(hps["wd"]),),
        L1S if hps["l1"] == "auto" else (float(hps["l1"]),),
        POSITIVE_WEIGHTS if hps["positive_example_weight_mult"] == "auto" and hps["predictor_type"] == BINARY
        else (hps["positive_example_weight_mult"] if hps["positive_example_weight_mult"] != "auto" else 1.0,),
    ]
    combos = list(itertools.product(*axes))
    wanted = 1 if tuning(hps) else (min(AUTO_MODELS, len(combos)) if hps["num_models"] == "auto"
                                    else int(hps["num_models"]))
    chosen = [combos[0]]
    rest = combos[1:]
    if wanted > 1 and rest:
        picks = np.random.default_rng(SEED).permutation(len(rest))[: wanted - 1]
        chosen += [rest[i] for i in sorted(picks)]
    for extra in range(wanted - len(chosen)):
        lr, wd, l1, weight = combos[0]
        factor = CLOSE_FACTORS[extra % len(CLOSE_FACTORS)] ** (1 + extra // len(CLOSE_FACTORS))
        chosen.append((lr * factor, wd * factor if extra % 2 else wd, l1, weight))
    return Models(learning_rate=np.array([c[0] for c in chosen], dtype=np.float64),
                  wd=np.array([c[1] for c in chosen], dtype=np.float64),
                  l1=np.array([c[2] for c in chosen], dtype=np.float64),
                  positive_weight=[c[3] for c in chosen])
