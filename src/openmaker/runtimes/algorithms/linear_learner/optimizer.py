"""SGD (with momentum), Adam and RMSProp over all the parallel models' weights in one array each.

Weights are ``(feature_dim, models * outputs)`` and biases ``(models * outputs,)``: a column per model
output, so a learning rate per model is a row vector and one update moves every model. The learning rate
decays by ``lr_scheduler_factor`` every ``lr_scheduler_step`` updates, never below
``lr_scheduler_minimum_lr`` (nor below a model's own starting rate when that is smaller).
"""

from __future__ import annotations

import numpy as np

from openmaker.runtimes.algorithms.linear_learner.grid import Settings

EPSILON = 1e-8
RMSPROP_DECAY = 0.9


class Optimizer:
    """The update rule and its state for one parameter array."""

    def __init__(self, settings: Settings, shape: tuple[int, ...]) -> None:
        self.settings = settings
        self.kind = settings.optimizer
        self.first = np.zeros(shape) if self.kind in ("adam", "sgd") else None
        self.second = np.zeros(shape) if self.kind in ("adam", "rmsprop") else None
        self.steps = 0

    def forget(self, columns: np.ndarray) -> None:
        """Clear the state of some columns (models dropped after overflowing)."""
        for state in (self.first, self.second):
            if state is not None:
                state[..., columns] = 0.0

    def step(self, param: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> None:
        """Move ``param`` in place; ``lr`` broadcasts against it (one value a column)."""
        self.steps += 1
        s = self.settings
        if self.kind == "adam":
            assert self.first is not None and self.second is not None
            self.first *= s.beta_1
            self.first += (1.0 - s.beta_1) * grad
            self.second *= s.beta_2
            self.second += (1.0 - s.beta_2) * grad * grad
            correction = np.sqrt(1.0 - s.beta_2 ** self.steps) / (1.0 - s.beta_1 ** self.steps)
            param -= (lr * correction) * self.first / (np.sqrt(self.second) + EPSILON)
        elif self.kind == "rmsprop":
            assert self.second is not None
            self.second *= RMSPROP_DECAY
            self.second += (1.0 - RMSPROP_DECAY) * grad * grad
            param -= lr * grad / (np.sqrt(self.second) + EPSILON)
        else:
            assert self.first is not None
            self.first *= s.momentum
            self.first -= lr * grad
            param += self.first


def scheduled(base: np.ndarray, settings: Settings, updates: int) -> np.ndarray:
    """Each model's learning rate after ``updates`` updates."""
    if not settings.use_lr_scheduler:
        return base
    decayed = base * settings.lr_scheduler_factor ** (updates // settings.lr_scheduler_step)
    return np.maximum(decayed, np.minimum(settings.lr_scheduler_minimum_lr, base))
