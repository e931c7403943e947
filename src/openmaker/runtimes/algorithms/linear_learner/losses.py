"""The loss functions, evaluated for every parallel model at once.

Outputs are ``Z`` of shape ``(rows, models, outputs)`` (one output for a regressor or a binary classifier,
``num_classes`` for a multiclass one); labels are one value a row. :meth:`Loss.evaluate` returns the loss of
each row under each model ``(rows, models)`` and, when asked, its gradient with respect to ``Z``. The
objective printed in the logs is the mean of that loss, named as the container names it
(``mse_objective``, ``binary_classification_cross_entropy_objective``…), which is what the service's
``…:objective_loss`` regexes read. A regressor trains on the normalised label, so ``loss_insensitivity``
and ``huber_delta`` are in those units during training and in the label's own when a channel is scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openmaker.runtimes.algorithms.linear_learner.hyperparameters import BINARY, MULTICLASS, REGRESSOR

OBJECTIVE_NAMES = {
    (REGRESSOR, "squared_loss"): "mse_objective",
    (BINARY, "logistic"): "binary_classification_cross_entropy_objective",
    (MULTICLASS, "softmax_loss"): "multiclass_cross_entropy_objective",
    (MULTICLASS, "logistic"): "multiclass_logistic_objective",
    (MULTICLASS, "hinge_loss"): "multiclass_hinge_loss_objective",
}


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function without overflow warnings for large margins."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))``, stable for any z."""
    return np.logaddexp(0.0, z)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = z - z.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


@dataclass(frozen=True)
class Loss:
    """One loss of one predictor type with its parameters (margin, quantile, …)."""

    predictor: str
    name: str
    outputs: int = 1
    margin: float = 1.0
    quantile: float = 0.5
    insensitivity: float = 0.01
    huber_delta: float = 1.0

    @property
    def objective_name(self) -> str:
        return OBJECTIVE_NAMES.get((self.predictor, self.name), f"{self.name}_objective")

    def evaluate(self, Z: np.ndarray, y: np.ndarray, grad: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """``(loss (rows, models), dloss/dZ (rows, models, outputs) or None)``."""
        if self.predictor == REGRESSOR:
            loss, g = self._regression(Z[..., 0] - y[:, None], grad)
        elif self.predictor == BINARY:
            loss, g = self._binary(Z[..., 0], y[:, None], grad)
        else:
            return self._multiclass(Z, y.astype(np.int64), grad)
        return loss, (g[..., None] if g is not None else None)

    def _regression(self, r: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        name, g = self.name, None
        if name == "squared_loss":
            loss = r * r
            g = 2.0 * r if grad else None
        elif name == "absolute_loss":
            loss = np.abs(r)
            g = np.sign(r) if grad else None
        elif name in ("eps_insensitive_squared_loss", "eps_insensitive_absolute_loss"):
            excess = np.maximum(np.abs(r) - self.insensitivity, 0.0)
            if name == "eps_insensitive_squared_loss":
                loss = excess * excess
                g = 2.0 * excess * np.sign(r) if grad else None
            else:
                loss = excess
                g = np.sign(r) * (excess > 0) if grad else None
        elif name == "quantile_loss":
            q = self.quantile
            loss = np.where(r < 0, -q * r, (1.0 - q) * r)  # r = prediction - label
            g = np.where(r < 0, -q, 1.0 - q) if grad else None
        else:  # huber_loss
            delta = self.huber_delta
            absolute = np.abs(r)
            loss = np.where(absolute <= delta, 0.5 * r * r, delta * (absolute - 0.5 * delta))
            g = np.clip(r, -delta, delta) if grad else None
        return loss, g

    def _binary(self, z: np.ndarray, y: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if self.name == "logistic":
            loss = softplus(z) - y * z
            return loss, (sigmoid(z) - y if grad else None)
        sign = 2.0 * y - 1.0  # hinge_loss
        slack = self.margin - sign * z
        return np.maximum(slack, 0.0), (-sign * (slack > 0) if grad else None)

    def _multiclass(self, Z: np.ndarray, y: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        rows = np.arange(y.size)
        onehot = np.zeros((y.size, 1, Z.shape[-1]))
        onehot[rows, 0, y] = 1.0
        if self.name == "softmax_loss":
            shifted = Z - Z.max(axis=-1, keepdims=True)
            log_norm = np.log(np.exp(shifted).sum(axis=-1))
            loss = log_norm - shifted[rows, :, y]
            return loss, (softmax(Z) - onehot if grad else None)
        if self.name == "logistic":  # one binary logistic loss per class
            loss = (softplus(Z) - onehot * Z).sum(axis=-1)
            return loss, (sigmoid(Z) - onehot if grad else None)
        sign = 2.0 * onehot - 1.0  # hinge_loss, one versus all
        slack = self.margin - sign * Z
        return np.maximum(slack, 0.0).sum(axis=-1), (-sign * (slack > 0) if grad else None)

    def scores(self, Z: np.ndarray) -> np.ndarray:
        """What the model answers as ``score``: the value for a regressor, the probability of class 1 (the
        margin for hinge loss) for a binary classifier, the class probabilities for softmax loss."""
        if self.predictor == REGRESSOR:
            return Z[..., 0]
        if self.predictor == BINARY:
            return sigmoid(Z[..., 0]) if self.name == "logistic" else Z[..., 0]
        if self.name == "softmax_loss":
            return softmax(Z)
        return sigmoid(Z) if self.name == "logistic" else Z

    @property
    def default_threshold(self) -> float:
        """The binary cut when no calibration applies: probability 0.5, or margin 0 for hinge loss."""
        return 0.5 if self.name == "logistic" else 0.0
