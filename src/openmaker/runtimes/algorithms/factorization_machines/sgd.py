"""The FM training loop: mini-batch Adam on sparse rows, O(k·nnz) per batch.

Per batch only the features present in it matter, so the batch is compacted to its distinct columns
(``np.unique`` of the CSR indices) and every product runs on that slice of ``w`` and ``V``:

- forward ``XV = X_B V_c``, ``ŷ = w0 + X_B w_c + ½ (‖XV‖² - X_B² ‖V_c‖²)``;
- loss gradient ``g = ŷ - y`` (squared loss) or ``sigmoid(ŷ) - y`` (logistic loss);
- ``∂w0 = Σg``, ``∂w_c = X_Bᵀ g``, ``∂V_c = X_Bᵀ (g ⊙ XV) - (X_B²ᵀ g) ⊙ V_c``.

The update is MXNet's Adam as the algorithm's optimizer hyperparameters describe it (per group learning
rate and weight decay; ``rescale_grad`` default 1/batch rows, ``clip_gradient``, ``eps``) applied lazily:
rows of ``w``/``V`` absent from a batch, and their moments, are left alone, as for MXNet's row-sparse
weights. Everything is float32, seeded (initialisation and the per-epoch shuffle), so a job is reproducible.

Threads: the per-batch work is a few small sparse products, too small for a second core to pay, and the
updates are sequential by nature; dense inputs use numpy's BLAS threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse as sp

from openmaker.runtimes.algorithms.factorization_machines.evaluate import Metrics
from openmaker.runtimes.algorithms.factorization_machines.hyperparameters import init_of
from openmaker.runtimes.algorithms.factorization_machines.model import FactorizationMachinesModel, sigmoid

SEED = 7
BETA1, BETA2 = 0.9, 0.999
DEFAULT_EPS = 1e-8


@dataclass(frozen=True)
class Settings:
    """The hyperparameters the loop needs, typed."""

    predictor_type: str
    num_factors: int
    epochs: int
    batch: int
    lr: dict[str, float]
    wd: dict[str, float]
    init: dict[str, tuple[str, float]]
    clip: float | None
    eps: float
    rescale: float | None

    @classmethod
    def from_hps(cls, hps: dict[str, Any]) -> Settings:
        groups = ("bias", "linear", "factors")
        return cls(predictor_type=hps["predictor_type"], num_factors=hps["num_factors"], epochs=hps["epochs"],
                   batch=hps["mini_batch_size"], lr={g: hps[f"{g}_lr"] for g in groups},
                   wd={g: hps[f"{g}_wd"] for g in groups}, init={g: init_of(hps, g) for g in groups},
                   clip=_clip(hps.get("clip_gradient")), eps=hps.get("eps") or DEFAULT_EPS,
                   rescale=hps.get("rescale_grad"))


def _clip(value: float | None) -> float | None:
    """MXNet clips at a non-negative ``clip_gradient`` and takes a negative one for "no clipping"."""
    return value if value is not None and value >= 0 else None


def _initial(rng: np.random.Generator, shape: tuple[int, ...], init: tuple[str, float]) -> np.ndarray:
    method, number = init
    if method == "normal":
        return rng.normal(0.0, number, size=shape).astype(np.float32)
    if method == "uniform":
        return rng.uniform(-number, number, size=shape).astype(np.float32)
    return np.full(shape, number, dtype=np.float32)


EpochCallback = Callable[[int, FactorizationMachinesModel, Metrics], None]


class Trainer:
    """The FM's parameters and Adam moments; :meth:`fit` runs the epochs.

    ``w`` and ``V`` live side by side in one array ``state[feature] = [[w, V…], [m…], [v…]]`` (shape
    ``(feature_dim, 3, 1 + num_factors)``), so one batch gathers and scatters each touched feature once and
    one sparse product serves the linear and the factor terms; per-column learning rates and weight decays
    keep the two groups apart. The bias has its own three numbers.
    """

    def __init__(self, feature_dim: int, settings: Settings, seed: int = SEED) -> None:
        self.settings = settings
        self.rng = np.random.default_rng(seed)
        k = settings.num_factors
        self.bias = np.zeros(3, dtype=np.float64)  # w0, its m, its v
        self.bias[0] = _initial(self.rng, (1,), settings.init["bias"])[0]
        self.state = np.zeros((feature_dim, 3, 1 + k), dtype=np.float32)
        self.state[:, 0, 0] = _initial(self.rng, (feature_dim,), settings.init["linear"])
        self.state[:, 0, 1:] = _initial(self.rng, (feature_dim, k), settings.init["factors"])
        self.lr = np.array([settings.lr["linear"]] + [settings.lr["factors"]] * k, dtype=np.float32)
        self.wd = np.array([settings.wd["linear"]] + [settings.wd["factors"]] * k, dtype=np.float32)
        self.steps = 0
        self.classifier = settings.predictor_type == "binary_classifier"

    def model(self) -> FactorizationMachinesModel:
        return FactorizationMachinesModel(self.settings.predictor_type, float(self.bias[0]),
                                          self.state[:, 0, 0].copy(), self.state[:, 0, 1:].copy())

    def fit(self, X: sp.csr_matrix, y: np.ndarray, on_epoch: EpochCallback | None = None) -> FactorizationMachinesModel:
        """Train ``settings.epochs`` epochs on CSR float32 ``X`` and float32 ``y``; ``on_epoch(epoch, model,
        train_metrics)`` after each (the model shares nothing with the trainer)."""
        for epoch in range(self.settings.epochs):
            metrics = self.epoch(X, y)
            if on_epoch is not None:
                on_epoch(epoch, self.model(), metrics)
        return self.model()

    def epoch(self, X: sp.csr_matrix, y: np.ndarray) -> Metrics:
        """One shuffled pass; the train metrics are those of each batch before its update."""
        order = self.rng.permutation(X.shape[0])
        X, y = X[order], y[order]
        indptr, indices, data = X.indptr, X.indices, X.data
        row_of = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(indptr))
        metrics = Metrics(self.settings.predictor_type)
        size = self.settings.batch
        for start in range(0, X.shape[0], size):
            stop = min(start + size, X.shape[0])
            low, high = indptr[start], indptr[stop]
            batch = (indptr[start:stop + 1] - low, indices[low:high], data[low:high], row_of[low:high] - start)
            scores = self.step(*batch, y[start:stop])
            metrics.update(scores, y[start:stop])
        return metrics

    def step(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, rows_of: np.ndarray,
             y: np.ndarray) -> np.ndarray:
        """One mini-batch update on the batch's CSR arrays (``rows_of``: each entry's row); returns the
        batch's scores (ŷ or P(1)) before it."""
        rows = y.size
        cols, compact = np.unique(indices, return_inverse=True)
        Xb = sp.csr_matrix((data, compact.astype(np.int32, copy=False), indptr), shape=(rows, cols.size))
        S = self.state[cols]
        P = S[:, 0]
        V = P[:, 1:]
        norms = np.einsum("ij,ij->i", V, V)
        squares = data * data
        XP = Xb @ P  # column 0: the linear term, then XV
        XV = XP[:, 1:]
        pairwise = np.einsum("ij,ij->i", XV, XV) - np.bincount(rows_of, squares * norms[compact], minlength=rows)
        raw = self.bias[0] + XP[:, 0] + 0.5 * pairwise
        scores = sigmoid(raw) if self.classifier else raw
        g = (scores - y).astype(np.float32)
        g *= np.float32(self.settings.rescale if self.settings.rescale is not None else 1.0 / rows)
        XP *= g[:, None]
        XP[:, 0] = g
        G = Xb.T @ XP
        G[:, 1:] -= np.bincount(compact, squares * g[rows_of], minlength=cols.size).astype(np.float32)[:, None] * V
        self.steps += 1
        self._adam_bias(float(g.sum()))
        self.state[cols] = self._adam(S, G)
        return scores

    def _correction(self) -> float:
        return math.sqrt(1.0 - BETA2 ** self.steps) / (1.0 - BETA1 ** self.steps)

    def _adam(self, S: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """MXNet's Adam on gathered rows ``S`` (param, m, v): weight decay and clipping into the gradient."""
        settings = self.settings
        grad += self.wd * S[:, 0]
        if settings.clip is not None:
            np.clip(grad, -settings.clip, settings.clip, out=grad)
        S[:, 1] *= BETA1
        S[:, 1] += (1.0 - BETA1) * grad
        S[:, 2] *= BETA2
        S[:, 2] += (1.0 - BETA2) * (grad * grad)
        S[:, 0] -= (self.lr * np.float32(self._correction())) * S[:, 1] / (np.sqrt(S[:, 2]) + np.float32(settings.eps))
        return S

    def _adam_bias(self, grad: float) -> None:
        settings = self.settings
        lr, wd = settings.lr["bias"], settings.wd["bias"]
        w0, m, v = self.bias
        grad += wd * w0
        if settings.clip is not None:
            grad = min(max(grad, -settings.clip), settings.clip)
        m = BETA1 * m + (1.0 - BETA1) * grad
        v = BETA2 * v + (1.0 - BETA2) * grad * grad
        self.bias[:] = (w0 - lr * self._correction() * m / (math.sqrt(v) + settings.eps), m, v)


def train(X: Any, y: np.ndarray, hps: dict[str, Any], on_epoch: EpochCallback | None = None,
          seed: int = SEED) -> FactorizationMachinesModel:
    """Train an FM on ``X`` (CSR or dense, ``feature_dim`` columns) and labels ``y`` with validated hps."""
    X = as_training_matrix(X)
    trainer = Trainer(int(X.shape[1]), Settings.from_hps(hps), seed=seed)
    return trainer.fit(X, np.asarray(y, dtype=np.float32).ravel(), on_epoch)


def as_training_matrix(X: Any) -> sp.csr_matrix:
    """CSR float32 with sorted, int32 indices (what :meth:`Trainer.step` slices)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()
    if X.indices.dtype != np.int32 and X.nnz < np.iinfo(np.int32).max:
        X.indices = X.indices.astype(np.int32)
    return X
