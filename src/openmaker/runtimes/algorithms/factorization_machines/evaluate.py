"""The metrics Factorization Machines reports: ``rmse`` for a regressor; ``binary_classification_accuracy``,
``binary_classification_cross_entropy`` and ``binary_f_beta`` (F1, threshold 0.5) for a binary classifier.

:class:`Metrics` accumulates over mini-batches (the per-epoch ``train`` figures) or takes a whole channel at
once (``validation``/``test``); :meth:`Metrics.emit` prints the ``#quality_metric`` lines the service's
regexes read.
"""

from __future__ import annotations

import math

import numpy as np

from openmaker.runtimes.algorithms.firstparty import quality

EPSILON = 1e-12  # log(0) guard for the cross entropy


class Metrics:
    """Running sums for one channel's metrics; ``scores`` are ŷ (regressor) or P(1) (classifier)."""

    def __init__(self, predictor_type: str) -> None:
        self.classifier = predictor_type == "binary_classifier"
        self.rows = 0
        self.squared_error = 0.0
        self.correct = 0
        self.log_loss = 0.0
        self.true_pos = self.false_pos = self.false_neg = 0

    def update(self, scores: np.ndarray, y: np.ndarray) -> None:
        self.rows += int(y.size)
        if not self.classifier:
            diff = np.asarray(scores, dtype=np.float64) - y
            self.squared_error += float(diff @ diff)
            return
        p = np.clip(np.asarray(scores, dtype=np.float64), EPSILON, 1.0 - EPSILON)
        positive = y > 0.5
        predicted = p >= 0.5
        self.correct += int(np.count_nonzero(predicted == positive))
        self.log_loss -= float(np.log(p[positive]).sum() + np.log1p(-p[~positive]).sum())
        self.true_pos += int(np.count_nonzero(predicted & positive))
        self.false_pos += int(np.count_nonzero(predicted & ~positive))
        self.false_neg += int(np.count_nonzero(~predicted & positive))

    def values(self) -> dict[str, tuple[float, str]]:
        """``{metric: (value, "loss"|"score")}``."""
        rows = max(self.rows, 1)
        if not self.classifier:
            return {"rmse": (math.sqrt(self.squared_error / rows), "loss")}
        denominator = 2 * self.true_pos + self.false_pos + self.false_neg
        f1 = 2 * self.true_pos / denominator if denominator else 0.0
        return {"binary_classification_accuracy": (self.correct / rows, "score"),
                "binary_classification_cross_entropy": (self.log_loss / rows, "loss"),
                "binary_f_beta": (f1, "score")}

    def emit(self, data: str, epoch: int | None = None) -> dict[str, float]:
        """Print the lines and return the values."""
        values = self.values()
        for name, (value, kind) in values.items():
            quality.emit(data, name, value, kind=kind, epoch=epoch)
        return {name: value for name, (value, _) in values.items()}


def evaluate(predictor_type: str, scores: np.ndarray, y: np.ndarray) -> Metrics:
    """The metrics of a whole channel at once."""
    metrics = Metrics(predictor_type)
    metrics.update(scores, y)
    return metrics
