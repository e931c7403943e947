"""The trained Linear Learner and its artifact, ``model_algo-1`` at the root of ``model.tar.gz``.

The container's ``model_algo-1`` is an MXNet module zipped up; openmaker's has the same name and is a
NumPy ``.npz`` archive (also a zip) that ``numpy.load("model_algo-1")`` reads:

- ``weight``: float64 ``(feature_dim, outputs)``, ``bias``: ``(outputs,)`` — the chosen model in the
  units of the raw data (the normalisation of features and label is folded in), so ``X @ weight + bias``
  is the model's output: the prediction of a regressor, the logit (margin for hinge loss) of class 1, or
  one logit per class;
- ``meta``: a JSON document: ``format`` (1), ``predictor_type``, ``loss``, ``feature_dim``,
  ``num_classes``, ``threshold`` (a binary classifier's calibrated cut on ``score``) and
  ``hyperparameters`` (the chosen model's learning rate, wd, l1…).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.errors import PlatformError
from openmaker.runtimes.algorithms.linear_learner.hyperparameters import BINARY, MULTICLASS, REGRESSOR
from openmaker.runtimes.algorithms.linear_learner.losses import Loss

MODEL_FILE = "model_algo-1"
FORMAT = 1


class LinearLearnerModel:
    """A linear model with the algorithm's ``save``/``load``/``predict``."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, predictor_type: str, loss: str,
                 threshold: float | None = None, hyperparameters: dict[str, Any] | None = None) -> None:
        self.weight = np.asarray(weight, dtype=np.float64).reshape(weight.shape[0], -1)
        self.bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        self.predictor_type = predictor_type
        self.loss = Loss(predictor_type, loss, outputs=self.bias.size)
        self.threshold = self.loss.default_threshold if threshold is None else float(threshold)
        self.hyperparameters = dict(hyperparameters or {})

    @property
    def feature_dim(self) -> int:
        return int(self.weight.shape[0])

    @property
    def num_classes(self) -> int:
        return self.bias.size if self.predictor_type == MULTICLASS else (2 if self.predictor_type == BINARY else 1)

    def meta(self) -> dict[str, Any]:
        return {"format": FORMAT, "predictor_type": self.predictor_type, "loss": self.loss.name,
                "feature_dim": self.feature_dim, "num_classes": self.num_classes, "threshold": self.threshold,
                "hyperparameters": self.hyperparameters}

    def save(self, model_dir: Path) -> None:
        target = Path(model_dir) / MODEL_FILE
        staging = target.with_name(f".{MODEL_FILE}.tmp")
        with open(staging, "wb") as handle:  # a file object: numpy adds no ".npz" suffix
            np.savez(handle, weight=self.weight, bias=self.bias, meta=np.array(json.dumps(self.meta())))
        os.replace(staging, target)

    @classmethod
    def load(cls, model_dir: str | Path) -> LinearLearnerModel:
        path = Path(model_dir) / MODEL_FILE
        if not path.is_file():
            raise PlatformError(f"{path} not found: the model directory has no Linear Learner model.")
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            return cls(archive["weight"], archive["bias"], meta["predictor_type"], meta["loss"],
                       threshold=meta.get("threshold"), hyperparameters=meta.get("hyperparameters"))

    def outputs(self, X: Any) -> np.ndarray:
        """``X @ weight + bias``: ``(rows, outputs)`` for dense or CSR rows."""
        return np.asarray(X @ self.weight) + self.bias

    def scores(self, X: Any) -> np.ndarray:
        return self.loss.scores(self.outputs(X)[:, None, :])[:, 0]

    def predict(self, X: Any, configuration: dict | None = None) -> list[dict[str, Any]]:
        """One answer a record: ``{"score"}`` for a regressor, ``{"score", "predicted_label"}`` otherwise."""
        scores = self.scores(X)
        if self.predictor_type == REGRESSOR:
            return [{"score": value} for value in scores.tolist()]
        if self.predictor_type == BINARY:
            labels = (scores >= self.threshold).astype(int).tolist()
            return [{"score": s, "predicted_label": label} for s, label in zip(scores.tolist(), labels, strict=True)]
        labels = np.argmax(scores, axis=1).tolist()
        return [{"score": s, "predicted_label": label} for s, label in zip(scores.tolist(), labels, strict=True)]
