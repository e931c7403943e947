"""Normalisation learnt from a sample of the training data (``num_point_for_scaler`` rows, seeded).

As the container does with ``auto``: features are scaled to unit standard deviation and, when dense,
shifted to mean zero (shifting sparse data would make it dense); the label of a regressor is shifted and
scaled too, a classifier's never. ``normalize_data``/``normalize_label`` false turn the scaling off,
``unbias_data``/``unbias_label`` false the shift. Models train in the normalised space and are folded back
into the data's units when saved (:meth:`Scaler.fold`), so the saved model needs no scaler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.linear_learner.hyperparameters import REGRESSOR

SEED = 0


@dataclass
class Scaler:
    """``x' = (x - mean) * inv_std``; ``y' = (y - label_mean) / label_std``."""

    mean: np.ndarray
    inv_std: np.ndarray
    label_mean: float = 0.0
    label_std: float = 1.0

    def transform(self, X: Any) -> Any:
        """The features in the training space: a new dense array, or a CSR matrix scaled column-wise."""
        if not isinstance(X, np.ndarray):  # CSR: scipy is loaded already (it made the matrix)
            import scipy.sparse as sp

            return (sp.csr_matrix(X) @ sp.diags(self.inv_std)).tocsr()
        return (np.asarray(X, dtype=np.float64) - self.mean) * self.inv_std

    def label(self, y: np.ndarray) -> np.ndarray:
        return (y - self.label_mean) / self.label_std

    def fold(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``(d, columns)`` and biases of the training space as weights on raw features giving
        outputs in the label's units."""
        raw = W * self.inv_std[:, None]
        bias = b - self.mean @ raw
        return raw * self.label_std, bias * self.label_std + self.label_mean


def _flag(value: Any, default: bool) -> bool:
    return default if value == "auto" else bool(value)


def fit(X: Any, y: np.ndarray, hps: dict[str, Any]) -> Scaler:
    """The scaler of the hyperparameters, learnt on up to ``num_point_for_scaler`` rows."""
    rows, dim = X.shape
    sample = min(rows, int(hps["num_point_for_scaler"]))
    index = np.sort(np.random.default_rng(SEED).choice(rows, size=sample, replace=False)) if sample < rows \
        else np.arange(rows)
    sparse = not isinstance(X, np.ndarray)
    Xs = X[index]
    use_bias = bool(hps["use_bias"])
    normalize = _flag(hps["normalize_data"], True)
    if sparse:
        mean = np.asarray(Xs.mean(axis=0)).ravel()
        variance = np.asarray(Xs.multiply(Xs).mean(axis=0)).ravel() - mean * mean
    else:
        Xs = np.asarray(Xs, dtype=np.float64)
        mean = Xs.mean(axis=0)
        variance = Xs.var(axis=0)
    std = np.sqrt(np.maximum(variance, 0.0))
    inv_std = np.where(std > 1e-12, 1.0 / np.where(std > 1e-12, std, 1.0), 1.0) if normalize else np.ones(dim)
    shift = normalize and not sparse and _flag(hps["unbias_data"], use_bias)
    scaler = Scaler(mean=mean if shift else np.zeros(dim), inv_std=inv_std)
    if hps["predictor_type"] == REGRESSOR:
        labels = y[index]
        normalize_label = _flag(hps["normalize_label"], True)
        if normalize_label:
            spread = float(labels.std())
            scaler.label_std = spread if spread > 1e-12 else 1.0
        if _flag(hps["unbias_label"], use_bias and normalize_label):
            scaler.label_mean = float(labels.mean())
    return scaler
