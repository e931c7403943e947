"""The trained factorization machine, its scores and its artifact.

The model is Rendle's second-order FM: ``ŷ(x) = w0 + Σ wᵢxᵢ + ½ Σ_f [(Σ vᵢ_f xᵢ)² - Σ vᵢ_f² xᵢ²]``, computed
in O(k·nnz) with sparse rows. A regressor answers ``{"score": ŷ}``; a binary classifier
``{"score": sigmoid(ŷ), "predicted_label": 1 if sigmoid(ŷ) >= 0.5 else 0}``, as the algorithm's endpoints do.

Artifact (``model.tar.gz`` → ``model_algo-1``, the name the real algorithm uses; its content is openmaker's
own since the real one is an MXNet checkpoint): a zip archive of

- ``manifest.json``: ``{"format": "openmaker-factorization-machines", "version": 1, "predictor_type",
  "feature_dim", "num_factors"}``;
- ``w0_weight.npy`` (shape ``(1,)``), ``w1_weight.npy`` (``(feature_dim, 1)``) and ``v.npy``
  (``(feature_dim, num_factors)``), float32, named as the MXNet model's parameters are.

Being a zip of ``.npy`` members it is also an ``.npz``: ``numpy.load("model_algo-1")["v"]`` gives the factor
matrix (the user and item embeddings of a recommender).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model_algo-1"
FORMAT = "openmaker-factorization-machines"
VERSION = 1
Matrix = Any  # np.ndarray | scipy.sparse.csr_matrix


def fm_scores(X: Matrix, w0: float, w: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Raw FM outputs ŷ for the rows of ``X`` (dense or CSR, ``X.shape[1] == len(w)``), float64."""
    XV = np.asarray(X @ V, dtype=np.float64)
    if isinstance(X, np.ndarray):
        squares = (X * X) @ np.einsum("ij,ij->i", V, V)
    else:
        squared = X.copy()
        squared.data = squared.data * squared.data
        squares = squared @ np.einsum("ij,ij->i", V, V)
    linear = np.asarray(X @ w, dtype=np.float64).ravel()
    pairwise = 0.5 * (np.einsum("ij,ij->i", XV, XV) - np.asarray(squares, dtype=np.float64).ravel())
    return w0 + linear + pairwise


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow warnings for large |z|."""
    out = np.empty_like(z, dtype=np.float64)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out


class FactorizationMachinesModel:
    """The FM's parameters, ``predict`` for the model server and ``save``/``load`` of the artifact."""

    def __init__(self, predictor_type: str, w0: float, w: np.ndarray, V: np.ndarray) -> None:
        self.predictor_type = predictor_type
        self.w0 = float(w0)
        self.w = np.ascontiguousarray(w, dtype=np.float32).ravel()
        self.V = np.ascontiguousarray(V, dtype=np.float32)
        self.feature_dim: int | None = int(self.V.shape[0])

    @property
    def num_factors(self) -> int:
        return int(self.V.shape[1])

    def scores(self, X: Matrix) -> np.ndarray:
        """ŷ for a regressor, P(label = 1) for a binary classifier."""
        raw = fm_scores(_as_float32(X), self.w0, self.w, self.V)
        return sigmoid(raw) if self.predictor_type == "binary_classifier" else raw

    def predict(self, X: Matrix, configuration: dict | None = None) -> list[dict[str, Any]]:
        scores = self.scores(X)
        if self.predictor_type == "binary_classifier":
            labels = (scores >= 0.5).astype(int).tolist()
            return [{"score": s, "predicted_label": lab} for s, lab in zip(scores.tolist(), labels, strict=True)]
        return [{"score": s} for s in scores.tolist()]

    def save(self, model_dir: Path) -> None:
        manifest = {"format": FORMAT, "version": VERSION, "predictor_type": self.predictor_type,
                    "feature_dim": self.feature_dim, "num_factors": self.num_factors}
        arrays = {"w0_weight": np.array([self.w0], dtype=np.float32), "w1_weight": self.w.reshape(-1, 1),
                  "v": self.V}
        target = Path(model_dir) / MODEL_FILE
        staging = target.with_name(f".{MODEL_FILE}.tmp")
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, array, allow_pickle=False)
                archive.writestr(f"{name}.npy", buffer.getvalue())
        staging.replace(target)

    @classmethod
    def load(cls, model_dir: str | Path) -> FactorizationMachinesModel:
        path = Path(model_dir)
        path = path if path.is_file() else path / MODEL_FILE
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            if manifest.get("format") != FORMAT:
                raise ValueError(f"{path} is not an openmaker Factorization Machines model")

            def array(name: str) -> np.ndarray:
                return np.load(io.BytesIO(archive.read(f"{name}.npy")), allow_pickle=False)

            return cls(manifest["predictor_type"], float(array("w0_weight")[0]), array("w1_weight"), array("v"))


def _as_float32(X: Matrix) -> Matrix:
    """Requests arrive as float64; the parameters are float32, and so is the arithmetic (as in training).
    Sparse rows are made canonical (sorted, no repeated key)."""
    if isinstance(X, np.ndarray):
        return X.astype(np.float32, copy=False)
    X = X.tocsr() if X.format != "csr" else X
    X = X if X.dtype == np.float32 else X.astype(np.float32)
    if not X.has_canonical_format:  # a key given twice is one feature: its values add up before squaring
        X = X.copy()
        X.sum_duplicates()
    return X
