"""The trained k-NN model: the sampled points, their labels, the projection, and how it predicts.

The artifact has the three files the real algorithm writes, with openmaker's contents (the real
``model_algo-1`` is a FAISS index, which openmaker does not use):

- ``model_algo-1``: a NumPy ``.npz`` archive (no suffix; ``np.load`` reads it) with ``points``, the
  sampled training points after dimension reduction (float32, ``n x d``), and ``projection``, the
  ``feature_dim x d`` reduction matrix (float32; ``0 x 0`` without reduction);
- ``model_algo-1.labels``: the points' labels as raw little-endian float32 (``np.fromfile(path,
  "<f4")``), one per point, as the real algorithm stores them;
- ``model_algo-1.json``: the parameters inference needs: ``k``, ``predictor_type``, ``feature_dim``,
  ``index_metric``, ``index_type``, ``dimension_reduction_type``/``_target`` and the format version.

Prediction: the ``k`` nearest points (see :mod:`.index`) vote. A classifier answers the most frequent
label; AWS does not document how it breaks a tie, so openmaker answers the **smallest** of the tied
labels (scikit-learn's rule for ``KNeighborsClassifier``), which makes answers reproducible. A regressor
answers the mean of the ``k`` labels. Verbose answers add the neighbours' ``distances`` (nearest first)
and their ``labels`` in the same order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.knn.index import ExactIndex

MODEL_FILE = "model_algo-1"
LABELS_FILE = MODEL_FILE + ".labels"
PARAMS_FILE = MODEL_FILE + ".json"
FORMAT = "openmaker-knn-1"
PARAMS = ("k", "predictor_type", "feature_dim", "index_metric", "index_type", "dimension_reduction_type",
          "dimension_reduction_target")
QUERY_ROWS = 5000  # rows densified and searched at once
VOTE_CELLS = 8_000_000  # rows x classes counted at once


def vote(neighbour_labels: np.ndarray) -> np.ndarray:
    """The most frequent label of each row; a tie goes to the smallest label."""
    classes, codes = np.unique(neighbour_labels, return_inverse=True)
    codes = codes.reshape(neighbour_labels.shape)
    rows, count = neighbour_labels.shape[0], len(classes)
    out = np.empty(rows, dtype=np.float64)
    step = max(1, VOTE_CELLS // max(1, count))
    for start in range(0, rows, step):
        block = codes[start:start + step]
        flat = block + (np.arange(len(block)) * count)[:, None]
        counts = np.bincount(flat.ravel(), minlength=len(block) * count).reshape(len(block), count)
        out[start:start + step] = classes[counts.argmax(axis=1)]  # argmax: the first (smallest) maximum
    return out


class KNNModel:
    """Sampled points and labels with the search and the vote."""

    def __init__(self, points: np.ndarray, labels: np.ndarray, params: dict[str, Any],
                 projection: np.ndarray | None = None) -> None:
        self.points = np.asarray(points, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.float32).ravel()
        self.params = {name: params.get(name) for name in PARAMS}
        self.projection = projection if projection is not None and projection.size else None
        self.feature_dim: int = int(params["feature_dim"])
        self.k: int = int(params["k"])
        self.classifier = params["predictor_type"] == "classifier"
        self.index = ExactIndex(self.points, str(params.get("index_metric") or "L2"))

    # -- prediction ------------------------------------------------------------------------------

    def _dense(self, X: Any) -> np.ndarray:
        X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        if self.projection is not None:
            X = X.astype(np.float32, copy=False) @ self.projection
        return X

    def neighbours(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """(distances, labels) of the ``k`` nearest points of each row, nearest first."""
        k = min(self.k, self.index.size)
        parts = [self.index.search(self._dense(X[start:start + QUERY_ROWS]), k)
                 for start in range(0, X.shape[0], QUERY_ROWS)]
        distances = np.concatenate([d for d, _ in parts]) if parts else np.empty((0, k))
        indices = np.concatenate([i for _, i in parts]) if parts else np.empty((0, k), dtype=np.int64)
        return distances, self.labels[indices]

    def predict_values(self, X: Any) -> np.ndarray:
        """One predicted label per row (the vote, or the mean for a regressor)."""
        return self._decide(self.neighbours(X)[1])

    def _decide(self, neighbour_labels: np.ndarray) -> np.ndarray:
        if self.classifier:
            return vote(neighbour_labels)
        return neighbour_labels.astype(np.float64).mean(axis=1)

    def predict(self, X: Any, configuration: dict | None = None, verbose: bool = False) -> list[dict[str, Any]]:
        """``{"predicted_label": …}`` per row; ``verbose`` adds ``distances`` and ``labels``. A JSON
        request's ``configuration`` is accepted and ignored: k-NN documents no per-request settings."""
        distances, labels = self.neighbours(X)
        predicted = self._decide(labels).tolist()
        if not verbose:
            return [{"predicted_label": value} for value in predicted]
        return [{"predicted_label": value, "distances": d, "labels": lab}
                for value, d, lab in zip(predicted, distances.tolist(), labels.astype(np.float64).tolist(),
                                         strict=True)]

    # -- artifact --------------------------------------------------------------------------------

    def save(self, model_dir: Path) -> None:
        model_dir = Path(model_dir)
        projection = self.projection if self.projection is not None else np.zeros((0, 0), np.float32)
        staging = model_dir / f".{MODEL_FILE}.tmp"
        with open(staging, "wb") as handle:
            np.savez(handle, points=self.points, projection=projection.astype(np.float32))
        os.replace(staging, model_dir / MODEL_FILE)
        self.labels.astype("<f4").tofile(model_dir / LABELS_FILE)
        (model_dir / PARAMS_FILE).write_text(json.dumps({**self.params, "format": FORMAT}, indent=1) + "\n")

    @classmethod
    def load(cls, model_dir: str | Path) -> KNNModel:
        model_dir = Path(model_dir)
        params = json.loads((model_dir / PARAMS_FILE).read_text())
        with np.load(model_dir / MODEL_FILE, allow_pickle=False) as archive:
            points, projection = archive["points"], archive["projection"]
        labels = np.fromfile(model_dir / LABELS_FILE, dtype="<f4")
        if labels.size != points.shape[0]:
            raise ValueError(f"{LABELS_FILE} has {labels.size} labels for {points.shape[0]} points")
        return cls(points, labels, params, projection)
