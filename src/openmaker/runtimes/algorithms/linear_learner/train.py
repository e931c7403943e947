"""Training: the epochs, early stopping, the choice of one model and its scores, with the container's lines.

Per epoch every parallel model (:mod:`.trainer`) takes one pass over the shuffled rows, then the models are
scored on the validation channel (else by their training loss): each model's best epoch is kept, and
training stops early when the best model has not improved by ``early_stopping_tolerance`` (relative) for
``early_stopping_patience`` epochs. The printed per-epoch objective is model 0's (the one trained with the
given hyperparameters), in the training space for ``train`` and in the label's units for ``validation``,
as the container prints them. At the end the best model on the validation data (else the training data)
is chosen: lowest loss for a regressor and a multiclass classifier, the best
``binary_classifier_model_selection_criteria`` at its calibrated threshold for a binary classifier; its
``validation`` and ``test`` scores are the final metric lines.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty import quality
from openmaker.runtimes.algorithms.linear_learner import evaluation
from openmaker.runtimes.algorithms.linear_learner.hyperparameters import BINARY, MULTICLASS, REGRESSOR
from openmaker.runtimes.algorithms.linear_learner.losses import Loss
from openmaker.runtimes.algorithms.linear_learner.model import LinearLearnerModel
from openmaker.runtimes.algorithms.linear_learner.trainer import Data, Trainer, calibration_sample

logger = logging.getLogger("openmaker.algorithms.linear_learner")
__all__ = ["Data", "Result", "train"]


@dataclass
class Result:
    model: LinearLearnerModel
    final: dict[str, list[evaluation.Metric]] = field(default_factory=dict)
    epochs: int = 0
    chosen: int = 0


def check_labels(data: Data, predictor: str, classes: int) -> None:
    """Finite features and labels; 0/1 labels for a binary classifier, 0…num_classes-1 for multiclass."""
    values = data.X if isinstance(data.X, np.ndarray) else data.X.data
    if not np.all(np.isfinite(values)):
        raise UserError(f"The {data.name} channel has missing or infinite feature values; Linear Learner needs "
                        "every feature to be a finite number.")
    if not np.all(np.isfinite(data.y)):
        raise UserError(f"The {data.name} channel has missing or infinite labels.")
    if predictor == BINARY:
        bad = np.flatnonzero((data.y != 0) & (data.y != 1))
        if bad.size:
            raise UserError(f"The labels of a binary_classifier must be 0 or 1: record {int(bad[0]) + 1} of the "
                            f"{data.name} channel has the label {data.y[bad[0]]:g}.")
    elif predictor == MULTICLASS:
        bad = np.flatnonzero((data.y != np.round(data.y)) | (data.y < 0) | (data.y >= classes))
        if bad.size:
            raise UserError(f"The labels of a multiclass_classifier must be integers from 0 to num_classes - 1 "
                            f"({classes - 1}): record {int(bad[0]) + 1} of the {data.name} channel has the label "
                            f"{data.y[bad[0]]:g}.")


class EarlyStopping:
    """Stop when the best model's criterion has not improved by ``tolerance`` (relative) for ``patience``
    epochs in a row."""

    def __init__(self, patience: int, tolerance: float) -> None:
        self.patience, self.tolerance = patience, tolerance
        self.best, self.stale = math.inf, 0

    def stop(self, value: float) -> bool:
        if not math.isfinite(self.best) or value < self.best - self.tolerance * abs(self.best):
            self.best, self.stale = value, 0
        else:
            self.stale += 1
        return self.stale >= self.patience


def _epoch_lines(trainer: Trainer, epoch: int, epochs: int, value: float, on_validation: bool,
                 throughput: float) -> None:
    """The container's bookkeeping lines: the criterion early stopping watches, progress, throughput."""
    criterion, shown = trainer.loss.objective_name, value
    if trainer.predictor == BINARY and not trainer.criterion.uses_loss and on_validation:
        criterion, shown = trainer.criterion.log_name, -value  # a score, negated to be minimised
    host = quality.HOST
    print(f"#early_stopping_criteria_metric: host={host}, epoch={epoch}, criteria={criterion}, value={shown!r}\n"
          f"#progress_metric: host={host}, completed {100 * (epoch + 1) // epochs} % of epochs\n"
          f"#throughput_metric: host={host}, train throughput={throughput!r} records/second", flush=True)


def train(hps: dict[str, Any], train_data: Data, validation: Data | None = None,
          test: Data | None = None) -> Result:
    """Train, choose, evaluate; prints the container's metric lines. ``hps`` are validated."""
    predictor = hps["predictor_type"]
    classes = int(hps["num_classes"]) if predictor == MULTICLASS else 2
    for data in (train_data, validation, test):
        if data is not None:
            check_labels(data, predictor, classes)
    validation, test = _contiguous(validation), _contiguous(test)
    trainer = Trainer(hps, train_data)
    logger.info("Training %d model(s) of %s on %d records of %d features, mini-batch size %d",
                trainer.count, predictor, train_data.X.shape[0], train_data.X.shape[1], trainer.batch)
    judged = calibration_sample(validation, hps) if validation is not None else None
    objective = trainer.loss.objective_name
    epochs = int(hps["epochs"])
    stopping = EarlyStopping(int(hps["early_stopping_patience"]), hps["early_stopping_tolerance"])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            started = time.monotonic()
            train_loss = trainer.epoch()
            throughput = train_data.X.shape[0] / max(time.monotonic() - started, 1e-9)
            trainer.bury_diverged(train_loss)
            quality.emit("train", objective, train_loss[0], epoch=epoch)
            if judged is not None:
                validation_loss, value, _ = trainer.judge(judged, trainer.W, trainer.b, trainer.alive)
                quality.emit("validation", objective, validation_loss[0], epoch=epoch)
            else:
                value = np.where(trainer.alive, train_loss, np.inf)
            trainer.keep_best(value)
            stop = stopping.stop(float(np.min(value)))
            if stopping.stale:
                logger.info("Epoch %d: Loss has not improved for %d epochs.", epoch, stopping.stale)
            _epoch_lines(trainer, epoch, epochs, float(np.min(value)), judged is not None, throughput)
            if stop:
                logger.info("Early stop condition met. Stopping training.")
                break
        if not np.isfinite(trainer.best_value).any():
            raise UserError("Every model diverged during training (the loss became infinite). Lower the "
                            "learning_rate or turn on normalize_data.")
        result = _choose(trainer, judged if judged is not None else calibration_sample(train_data, hps))
        result.epochs = epoch + 1
        for data in (validation, test):
            if data is not None:
                result.final[data.name] = final_metrics(result.model, trainer.loss, data, hps)
    for name, metrics in result.final.items():
        for metric, value, _ in metrics:
            logger.info("#%s_score (%s) : %s", name, quality.HOST, (metric, value))
        for metric, value, kind in metrics:
            quality.emit(name, metric, value, kind=kind)
    return result


def _contiguous(data: Data | None) -> Data | None:
    """Dense rows as one C-ordered float64 block: evaluated every epoch, a strided view costs twice."""
    if data is None or not isinstance(data.X, np.ndarray):
        return data
    return Data(data.name, np.ascontiguousarray(data.X, dtype=np.float64), data.y)


def _choose(trainer: Trainer, data: Data) -> Result:
    """The best model (at its best epoch) on ``data``, with its threshold."""
    _, value, thresholds = trainer.judge(data, trainer.best_W, trainer.best_b, np.isfinite(trainer.best_value))
    chosen = int(np.argmin(value))
    threshold = float(thresholds[chosen]) if thresholds is not None else None
    columns = slice(chosen * trainer.outputs, (chosen + 1) * trainer.outputs)
    raw_W, raw_b = trainer.raw(trainer.best_W[:, columns], trainer.best_b[columns])
    described = trainer.models.describe(chosen, trainer.settings)
    logger.info("Best model found for hyperparameters: %s", json.dumps(described, sort_keys=True))
    model = LinearLearnerModel(raw_W, raw_b, trainer.predictor, trainer.loss.name, threshold=threshold,
                               hyperparameters=described)
    return Result(model=model, chosen=chosen)


def final_metrics(model: LinearLearnerModel, loss: Loss, data: Data, hps: dict[str, Any]) -> list[evaluation.Metric]:
    """The chosen model's scores on a channel, in the order the container prints them."""
    Z = model.outputs(data.X)
    objective = (loss.objective_name, float(loss.evaluate(Z[:, None, :], data.y)[0].mean()))
    scores = model.loss.scores(Z[:, None, :])[:, 0]
    if model.predictor_type == REGRESSOR:
        return evaluation.regression(scores, data.y, objective)
    if model.predictor_type == BINARY:
        return evaluation.binary(scores, data.y, model.threshold, hps["f_beta"], objective)
    return evaluation.multiclass(scores, data.y, int(hps["accuracy_top_k"]), hps["f_beta"], objective)
