"""One training run's state: the data in the training space, every model's weights and optimizer state,
each model's best epoch so far.

Every model is a column block of one weight matrix, so a mini-batch costs two matrix products whatever
``num_models`` is (NumPy's BLAS uses the cores); rows are shuffled each epoch with a fixed seed, so the
same data gives the same model. Models whose weights overflow are dropped, never chosen.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.linear_learner import evaluation, grid, scaler
from openmaker.runtimes.algorithms.linear_learner.hyperparameters import BINARY, MULTICLASS, REGRESSOR
from openmaker.runtimes.algorithms.linear_learner.losses import Loss
from openmaker.runtimes.algorithms.linear_learner.optimizer import Optimizer, scheduled

logger = logging.getLogger("openmaker.algorithms.linear_learner")
SEED = 0
CALIBRATION_SAMPLES = 100_000  # num_calibration_samples=auto


@dataclass
class Data:
    """One channel's records: features (dense or CSR) and labels."""

    name: str
    X: Any
    y: np.ndarray


def make_loss(hps: dict[str, Any]) -> Loss:
    predictor = hps["predictor_type"]
    return Loss(predictor, hps["loss"], outputs=int(hps["num_classes"]) if predictor == MULTICLASS else 1,
                margin=hps["margin"], quantile=hps["quantile"], insensitivity=hps["loss_insensitivity"],
                huber_delta=hps["huber_delta"])


def criterion_of(hps: dict[str, Any]) -> evaluation.Criterion:
    return evaluation.Criterion(hps["binary_classifier_model_selection_criteria"], hps["f_beta"],
                                hps["target_recall"], hps["target_precision"])


class Trainer:
    """The state of one training run: data in the training space, the models' weights, their best epochs."""

    def __init__(self, hps: dict[str, Any], data: Data) -> None:
        self.hps = hps
        self.loss = make_loss(hps)
        self.predictor = hps["predictor_type"]
        self.outputs = self.loss.outputs
        self.criterion = criterion_of(hps)
        self.scaler = scaler.fit(data.X, data.y, hps)
        self.X = self.scaler.transform(data.X)
        self.y = self.scaler.label(data.y) if self.predictor == REGRESSOR else data.y
        rows, dim = self.X.shape
        self.batch = max(1, min(int(hps["mini_batch_size"]), rows))
        self.settings = grid.settings(hps, math.ceil(rows / self.batch))
        self.models = grid.models(hps, self.settings.optimizer)
        self.count = self.models.count
        columns = self.count * self.outputs
        self.rng = np.random.default_rng(SEED)
        if hps["init_method"] == "normal":
            self.W = self.rng.normal(0.0, hps["init_sigma"], size=(dim, columns))
        else:
            self.W = self.rng.uniform(-hps["init_scale"], hps["init_scale"], size=(dim, columns))
        self.b = np.full(columns, float(hps["init_bias"]) if self.settings.use_bias else 0.0)
        self.lr = np.repeat(self.models.learning_rate, self.outputs)
        self.wd = np.repeat(self.models.wd, self.outputs)
        self.l1 = np.repeat(self.models.l1, self.outputs)
        self.weights = self._class_weights(data.y)
        self.optimizer_W = Optimizer(self.settings, self.W.shape)
        self.optimizer_b = Optimizer(self.settings, self.b.shape)
        self.updates = 0
        self.alive = np.ones(self.count, dtype=bool)
        self.best_W, self.best_b = self.W.copy(), self.b.copy()
        self.best_value = np.full(self.count, np.inf)

    def _class_weights(self, y: np.ndarray) -> np.ndarray | None:
        """Loss weight of each label value for each model ``(classes, models)``: positive_example_weight_mult
        for a binary classifier, equal class importance under balance_multiclass_weights; None: all 1."""
        if self.predictor == BINARY:
            positives = max(int(np.count_nonzero(y == 1)), 1)
            balanced = (y.size - positives) / positives
            mult = np.array([balanced if w == "balanced" else float(w) for w in self.models.positive_weight])
            return None if np.all(mult == 1.0) else np.vstack([np.ones(self.count), mult])
        if self.predictor == MULTICLASS and self.hps["balance_multiclass_weights"]:
            counts = np.bincount(y.astype(np.int64), minlength=self.outputs).astype(np.float64)
            per_class = np.where(counts > 0, y.size / (self.outputs * np.maximum(counts, 1)), 0.0)
            return np.repeat(per_class[:, None], self.count, axis=1)
        return None

    def epoch(self) -> np.ndarray:
        """One pass over the shuffled rows; each model's mean training loss."""
        rows = self.X.shape[0]
        order = self.rng.permutation(rows)
        total = np.zeros(self.count)
        regularized = bool(np.any(self.l1 > 0))
        bias_lr = self.settings.bias_lr_mult
        bias_wd = self.settings.bias_wd_mult * self.wd
        for start in range(0, rows, self.batch):
            index = order[start:start + self.batch]
            Xb = self.X[index]
            size = index.size
            Z = np.asarray(Xb @ self.W)
            Z += self.b
            losses, G = self.loss.evaluate(Z.reshape(size, self.count, self.outputs), self.y[index], grad=True)
            assert G is not None
            if self.weights is not None:
                w = self.weights[self.y[index].astype(np.int64)]
                losses = losses * w
                G = G * w[:, :, None]
            total += losses.sum(axis=0)
            G = G.reshape(size, -1)
            G /= size
            grad_W = np.asarray(Xb.T @ G)
            grad_W += self.wd * self.W
            if regularized:
                grad_W += self.l1 * np.sign(self.W)
            lr = scheduled(self.lr, self.settings, self.updates)
            self.optimizer_W.step(self.W, grad_W, lr)
            if self.settings.use_bias:
                self.optimizer_b.step(self.b, G.sum(axis=0) + bias_wd * self.b, lr * bias_lr)
            self.updates += 1
        return total / rows

    def bury_diverged(self, train_loss: np.ndarray) -> None:
        """Models whose weights overflowed stop training and can no longer be chosen."""
        finite = np.isfinite(self.W).all(axis=0) & np.isfinite(self.b)
        ok = finite.reshape(self.count, self.outputs).all(axis=1) & np.isfinite(train_loss)
        dead = self.alive & ~ok
        if dead.any():
            logger.info("%d model(s) diverged and were dropped", int(dead.sum()))
            columns = np.repeat(dead, self.outputs)
            self.W[:, columns] = 0.0
            self.b[columns] = 0.0
            self.lr[columns] = 0.0
            self.optimizer_W.forget(columns)
            self.optimizer_b.forget(columns)
            self.alive &= ~dead

    def raw(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights on raw features giving outputs in the label's units."""
        return self.scaler.fold(W, b)

    def outputs_on(self, data: Data, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Every model's outputs on ``data``: ``(rows, models, outputs)`` in the label's units."""
        raw_W, raw_b = self.raw(W, b)
        Z = np.asarray(data.X @ raw_W) + raw_b
        return Z.reshape(Z.shape[0], self.count, self.outputs)

    def judge(self, data: Data, W: np.ndarray, b: np.ndarray,
              eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(mean loss, criterion to minimise, thresholds)`` of every model on ``data``; the criterion of a
        model not ``eligible`` is infinite."""
        Z = self.outputs_on(data, W, b)
        loss = self.loss.evaluate(Z, data.y)[0].mean(axis=0)
        thresholds = None
        value = loss
        if self.predictor == BINARY and not self.criterion.uses_loss:
            achieved, thresholds = evaluation.calibrate(self.loss.scores(Z), data.y, self.criterion)
            value = -achieved
        value = np.where(eligible & np.isfinite(value), value, np.inf)
        return loss, value, thresholds

    def keep_best(self, value: np.ndarray) -> None:
        """Remember each model's weights at its best criterion so far (what a diverging model had too)."""
        improved = value < self.best_value
        if improved.any():
            columns = np.repeat(improved, self.outputs)
            self.best_W[:, columns] = self.W[:, columns]
            self.best_b[columns] = self.b[columns]
            self.best_value[improved] = value[improved]


def calibration_sample(data: Data, hps: dict[str, Any]) -> Data:
    """Up to ``num_calibration_samples`` rows (seeded) to score and calibrate on."""
    limit = CALIBRATION_SAMPLES if hps["num_calibration_samples"] == "auto" else int(hps["num_calibration_samples"])
    rows = data.X.shape[0]
    if rows <= limit:
        return data
    index = np.sort(np.random.default_rng(SEED).choice(rows, size=limit, replace=False))
    return Data(data.name, data.X[index], data.y[index])
