"""Scores of a model on labelled data, and the binary classifier's threshold calibration.

The final ``validation``/``test`` lines carry the container's metrics: for a regressor the objective, mse,
rmse, absolute_loss and r2; for a binary classifier the objective, binary_classification_accuracy,
``binary_f_<beta>`` (``binary_f_1.000``), precision, recall and roc_auc_score at the calibrated threshold;
for a multiclass classifier the objective, multiclass_accuracy, ``multiclass_top_k_accuracy_<k>``, dcg,
macro_recall, macro_precision and ``macro_f_<beta>``.

Calibration follows the container: on a sample of (score, label) pairs every cut between two distinct
scores is tried and the one maximising the selection criterion kept (accuracy, F-beta, precision at the
target recall or recall at the target precision), for all the parallel models in one sorted pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Metric = tuple[str, float, str]  # (name in the log line, value, "loss" | "score")
LOSS_CRITERIA = ("loss_function", "cross_entropy_loss")


@dataclass(frozen=True)
class Criterion:
    """The binary model-selection criterion and its parameters."""

    name: str = "accuracy"
    beta: float = 1.0
    target_recall: float = 0.8
    target_precision: float = 0.8

    @property
    def uses_loss(self) -> bool:
        return self.name in LOSS_CRITERIA

    @property
    def log_name(self) -> str:
        return {"accuracy": "sampled_accuracy", "f_beta": "sampled_f_beta", "f1": "sampled_f_beta"}.get(
            self.name, self.name)


def _f_beta(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return np.divide((1 + b2) * tp, denominator, out=np.zeros_like(tp, dtype=np.float64), where=denominator > 0)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64),
                     where=denominator > 0)


def calibrate(scores: np.ndarray, labels: np.ndarray, criterion: Criterion) -> tuple[np.ndarray, np.ndarray]:
    """For scores ``(rows, models)``: each model's best criterion value and the threshold reaching it
    (a row is predicted positive when its score >= the threshold)."""
    rows, count = scores.shape
    order = np.argsort(-scores, axis=0, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=0)
    positives = labels[order] > 0.5
    tp = np.vstack([np.zeros((1, count)), np.cumsum(positives, axis=0)])  # cut k: the top k rows positive
    predicted = np.arange(rows + 1, dtype=np.float64)[:, None]
    fp = predicted - tp
    total_positive = float(np.count_nonzero(labels > 0.5))
    fn = total_positive - tp
    tn = (rows - total_positive) - fp
    if criterion.name == "accuracy":
        value = (tp + tn) / max(rows, 1)
    elif criterion.name in ("f_beta", "f1"):
        value = _f_beta(tp, fp, fn, 1.0 if criterion.name == "f1" else criterion.beta)
    else:
        precision = _ratio(tp, predicted + np.zeros_like(tp))
        recall = _ratio(tp, np.full_like(tp, total_positive))
        if criterion.name == "precision_at_target_recall":
            feasible, goal, fallback = recall >= criterion.target_recall, precision, recall
        else:
            feasible, goal, fallback = precision >= criterion.target_precision, recall, precision
        # Infeasible cuts rank below every feasible one, and among themselves by the other measure.
        value = np.where(feasible, 1.0 + goal, fallback)
    # Only cuts between distinct scores can be realised by a threshold.
    valid = np.ones((rows + 1, count), dtype=bool)
    if rows > 1:
        valid[1:rows] = ranked[:-1] != ranked[1:]
    value = np.where(valid, value, -np.inf)
    best = np.argmax(value, axis=0)
    columns = np.arange(count)
    upper = np.vstack([np.full((1, count), np.inf), ranked])[best, columns]  # the score of row k-1
    lower = np.vstack([ranked, np.full((1, count), -np.inf)])[best, columns]  # the score of row k
    threshold = np.where(np.isinf(upper), np.nextafter(lower, np.inf),
                         np.where(np.isinf(lower), upper, (upper + lower) / 2.0))
    threshold = np.where(np.isinf(upper) & np.isinf(lower), 0.5, threshold)
    achieved = value[best, columns]
    if criterion.name in ("precision_at_target_recall", "recall_at_target_precision"):
        achieved = np.where(achieved >= 1.0, achieved - 1.0, 0.0)
    return achieved, threshold


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), 0.5 when only one class is present."""
    from scipy.stats import rankdata

    positive = labels > 0.5
    n_pos = int(np.count_nonzero(positive))
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def regression(predictions: np.ndarray, labels: np.ndarray, objective: tuple[str, float]) -> list[Metric]:
    residual = predictions - labels
    mse = float(np.mean(residual * residual))
    total = float(np.sum((labels - labels.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual * residual)) / total if total > 0 else 0.0
    return [(objective[0], objective[1], "loss"), ("mse", mse, "loss"), ("rmse", float(np.sqrt(mse)), "loss"),
            ("absolute_loss", float(np.mean(np.abs(residual))), "loss"), ("r2", r2, "score")]


def binary(scores: np.ndarray, labels: np.ndarray, threshold: float, beta: float,
           objective: tuple[str, float]) -> list[Metric]:
    predicted = scores >= threshold
    actual = labels > 0.5
    tp = float(np.count_nonzero(predicted & actual))
    fp = float(np.count_nonzero(predicted & ~actual))
    fn = float(np.count_nonzero(~predicted & actual))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f_beta = float(_f_beta(np.array(tp), np.array(fp), np.array(fn), beta))
    return [(objective[0], objective[1], "loss"),
            ("binary_classification_accuracy", float(np.mean(predicted == actual)), "score"),
            (f"binary_f_{beta:.3f}", f_beta, "score"), ("precision", precision, "score"),
            ("recall", recall, "score"), ("roc_auc_score", roc_auc(scores, labels), "score")]


def multiclass(scores: np.ndarray, labels: np.ndarray, top_k: int, beta: float,
               objective: tuple[str, float]) -> list[Metric]:
    classes = scores.shape[1]
    truth = labels.astype(np.int64)
    predicted = np.argmax(scores, axis=1)
    # The true class' rank (1 = best); ties rank optimistically, as argmax picks the first.
    true_scores = scores[np.arange(truth.size), truth]
    rank = 1 + np.count_nonzero(scores > true_scores[:, None], axis=1)
    recalls, precisions, f_scores = [], [], []
    for cls in range(classes):
        tp = float(np.count_nonzero((predicted == cls) & (truth == cls)))
        fp = float(np.count_nonzero((predicted == cls) & (truth != cls)))
        fn = float(np.count_nonzero((predicted != cls) & (truth == cls)))
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
        precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        f_scores.append(float(_f_beta(np.array(tp), np.array(fp), np.array(fn), beta)))
    return [(objective[0], objective[1], "loss"),
            ("multiclass_accuracy", float(np.mean(predicted == truth)), "score"),
            (f"multiclass_top_k_accuracy_{top_k}", float(np.mean(rank <= top_k)), "score"),
            ("dcg", float(np.mean(1.0 / np.log2(rank + 1.0))), "score"),
            ("macro_recall", float(np.mean(recalls)), "score"),
            ("macro_precision", float(np.mean(precisions)), "score"),
            (f"macro_f_{beta:.3f}", float(np.mean(f_scores)), "score")]
