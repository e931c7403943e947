"""Evaluation metrics the XGBoost algorithm computes itself (XGBoost has no ``accuracy``, ``f1``, ``r2``…).

They are passed to ``xgboost.train`` as ``custom_metric``, which receives raw margins for classification:
a class is ``margin > 0`` for binary objectives and the argmax of the row for multi-class, as the
container computes them. Only the evaluation lines change; the model does not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _classes(preds: np.ndarray) -> np.ndarray:
    return np.argmax(preds, axis=-1) if preds.ndim > 1 else (preds > 0.0).astype(int)


def _classification(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[np.ndarray, Any], float]:
    def metric(preds: np.ndarray, dmatrix: Any) -> float:
        return float(score(dmatrix.get_label(), _classes(preds))) if preds.size else 0.0

    return metric


def _sk(name: str, **kwargs: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    def score(labels: np.ndarray, predicted: np.ndarray) -> float:
        from sklearn import metrics

        return getattr(metrics, name)(labels, predicted, **kwargs)

    return score


def _regression(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[np.ndarray, Any], float]:
    def metric(preds: np.ndarray, dmatrix: Any) -> float:
        return float(score(dmatrix.get_label(), preds))

    return metric


def _r2(labels: np.ndarray, preds: np.ndarray) -> float:
    total = float(np.sum((labels - labels.mean()) ** 2))
    residual = float(np.sum((labels - preds) ** 2))
    return 1.0 - residual / total if total else 0.0


CUSTOM: dict[str, Callable[[np.ndarray, Any], float]] = {
    "accuracy": _classification(lambda y, p: float(np.mean(y == p))),
    "balanced_accuracy": _classification(_sk("balanced_accuracy_score")),
    "f1": _classification(_sk("f1_score", average="macro")),
    "f1_binary": _classification(_sk("f1_score", average="binary")),
    "f1_macro": _classification(_sk("f1_score", average="macro")),
    "precision": _classification(_sk("precision_score")),
    "precision_macro": _classification(_sk("precision_score", average="macro")),
    "precision_micro": _classification(_sk("precision_score", average="micro")),
    "recall": _classification(_sk("recall_score")),
    "recall_macro": _classification(_sk("recall_score", average="macro")),
    "recall_micro": _classification(_sk("recall_score", average="micro")),
    "mse": _regression(lambda y, p: float(np.mean((y - p) ** 2))),
    "r2": _regression(_r2),
}


def split(metrics: list[str]) -> tuple[list[str], list[str]]:
    """(XGBoost's own metrics, the ones computed here), each in the given order."""
    return [m for m in metrics if m not in CUSTOM], [m for m in metrics if m in CUSTOM]


def feval(names: list[str]) -> Callable[[np.ndarray, Any], list[tuple[str, float]]] | None:
    """One ``custom_metric`` function evaluating ``names`` (None when there are none)."""
    if not names:
        return None

    def evaluate(preds: np.ndarray, dmatrix: Any) -> list[tuple[str, float]]:
        return [(name, CUSTOM[name](preds, dmatrix)) for name in names]

    return evaluate
