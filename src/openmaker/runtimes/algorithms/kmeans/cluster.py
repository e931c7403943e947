"""The K-Means mathematics on NumPy: squared distances, k-means++ seeding, streamed mini-batch updates and
weighted Lloyd iterations. Rows may be a dense ndarray or a SciPy CSR matrix; centers are dense float64.

Kept apart from the training flow so the model server (which only needs :func:`closest`) and the tests
can use it without the channels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

Matrix = Any  # np.ndarray | scipy.sparse.csr_matrix
CHUNK = 8192  # rows per distance block when a whole channel is scored


def is_sparse(X: Matrix) -> bool:
    return not isinstance(X, np.ndarray)


def dense(X: Matrix) -> np.ndarray:
    """A float64 dense block of rows (centers are always float64)."""
    array = X.toarray() if is_sparse(X) else X
    return np.asarray(array, dtype=np.float64)


def floats(X: Matrix) -> Matrix:
    """Dense rows as float32 or float64 (integer records, e.g. Int32 tensors, become float64)."""
    if is_sparse(X) or X.dtype in (np.float32, np.float64):
        return X
    return np.asarray(X, dtype=np.float64)


def row_norms(X: Matrix) -> np.ndarray:
    if is_sparse(X):
        return np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


def squared_distances(X: Matrix, C: np.ndarray, norms: np.ndarray | None = None) -> np.ndarray:
    """``|x - c|^2`` for every row and center, clipped at 0 against rounding. Dense rows keep their dtype
    for the product (float32 data reads half the memory; the rounding is far below any msd of interest)."""
    X = floats(X)
    norms = row_norms(X) if norms is None else norms
    if is_sparse(X):
        product = np.asarray(X @ C.T, dtype=np.float64)
    else:
        product = np.asarray(X @ C.T.astype(X.dtype, copy=False), dtype=np.float64)
    distances = norms[:, None] - 2.0 * product + np.einsum("ij,ij->i", C, C)[None, :]
    return np.maximum(distances, 0.0, out=distances)


def closest(X: Matrix, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's closest center and the squared distance to it, in blocks of :data:`CHUNK` rows. For dense
    rows the distance to the chosen center is recomputed as ``|x - c|^2`` (summed in float64), free of the
    cancellation the expanded form suffers for a row close to its center."""
    labels = np.empty(X.shape[0], dtype=np.int64)
    best = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], CHUNK):
        rows = floats(X[start:start + CHUNK])
        block = squared_distances(rows, C)
        found = block.argmin(axis=1)
        labels[start:start + CHUNK] = found
        if is_sparse(rows):
            best[start:start + CHUNK] = block[np.arange(found.size), found]
        else:
            difference = rows - C[found].astype(rows.dtype, copy=False)
            best[start:start + CHUNK] = np.einsum("ij,ij->i", difference, difference, dtype=np.float64)
    return labels, best


def cluster_sums(X: Matrix, labels: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per cluster, the (weighted) float64 sum of its rows: a sparse one-hot product for CSR rows; for dense
    rows one gather per cluster, so the rows are read once whatever the number of clusters."""
    if is_sparse(X):
        from scipy import sparse as sp

        values = np.ones(labels.size) if weights is None else np.asarray(weights, dtype=np.float64)
        onehot = sp.csr_matrix((values, (labels, np.arange(labels.size))), shape=(size, labels.size))
        return np.asarray((onehot @ X).toarray(), dtype=np.float64)
    sums = np.zeros((size, X.shape[1]))
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(size + 1))
    for j in np.flatnonzero(np.diff(bounds)):
        rows = order[bounds[j]:bounds[j + 1]]
        if weights is None:
            sums[j] = X[rows].sum(axis=0, dtype=np.float64)
        else:
            sums[j] = weights[rows] @ np.asarray(X[rows], dtype=np.float64)
    return sums


def kmeans_plus_plus(X: Matrix, count: int, rng: np.random.Generator,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """``count`` rows chosen by greedy k-means++: each next center is the best of ``2 + ln(count)``
    candidates drawn with probability proportional to weight x squared distance to the chosen ones."""
    n = X.shape[0]
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    norms = row_norms(X)
    chosen = [int(rng.choice(n, p=weights / weights.sum()))]
    nearest = squared_distances(X, dense(X[chosen]), norms).ravel()
    tries = 2 + int(np.log(count))
    for _ in range(1, count):
        mass = weights * nearest
        total = mass.sum()
        candidates = (rng.choice(n, size=tries, p=mass / total) if total > 0
                      else rng.choice(n, size=tries, p=weights / weights.sum()))
        options = np.minimum(nearest[:, None], squared_distances(X, dense(X[candidates]), norms))
        pick = int(np.argmin(weights @ options))
        chosen.append(int(candidates[pick]))
        nearest = options[:, pick]
    return dense(X[chosen])


def random_rows(X: Matrix, count: int, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    """``count`` distinct rows at random (by weight when given)."""
    p = None if weights is None else weights / weights.sum()
    return dense(X[np.sort(rng.choice(X.shape[0], size=count, replace=False, p=p))])


def seed(X: Matrix, count: int, method: str, rng: np.random.Generator,
         weights: np.ndarray | None = None) -> np.ndarray:
    if method == "kmeans++":
        return kmeans_plus_plus(X, count, rng, weights)
    return random_rows(X, count, rng, weights)


@dataclass
class Stream:
    """Web-scale mini-batch k-means state: the centers and the (decayed) number of rows each has absorbed.

    A batch moves center ``c`` toward the mean ``d`` of the rows assigned to it by ``p = new / (seen +
    new)``: ``c <- (1 - p) c + p d``. With ``half_life_time_size`` h > 0, past rows' weight halves every
    h rows seen, so later data moves the centers more.
    """

    centers: np.ndarray
    counts: np.ndarray
    decay: float = 1.0

    @classmethod
    def start(cls, centers: np.ndarray, half_life: int) -> Stream:
        decay = 0.5 ** (1.0 / half_life) if half_life > 0 else 1.0
        return cls(centers, np.zeros(centers.shape[0]), decay)

    def update(self, batch: Matrix) -> float:
        """Absorb one mini-batch; the sum of its rows' squared distances to the centers before the move."""
        distances = squared_distances(batch, self.centers)
        labels = distances.argmin(axis=1)
        loss = float(distances[np.arange(labels.size), labels].sum())
        size = self.centers.shape[0]
        new = np.bincount(labels, minlength=size).astype(np.float64)
        sums = cluster_sums(batch, labels, size)
        if self.decay != 1.0:
            self.counts *= self.decay ** batch.shape[0]
        moved = new > 0
        self.counts[moved] += new[moved]
        rate = new[moved] / self.counts[moved]
        means = sums[moved] / new[moved, None]
        self.centers[moved] = (1.0 - rate)[:, None] * self.centers[moved] + rate[:, None] * means
        return loss


def batches(rows: int, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(rows)
    for start in range(0, rows, size):
        yield np.sort(order[start:start + size])


def lloyd(points: np.ndarray, weights: np.ndarray, k: int, *, max_iter: int, tol: float, init: str,
          rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One trial of weighted Lloyd's EM from ``init`` seeding; stops when the weighted loss improves by at
    most ``tol`` of itself. An emptied center restarts at the point that costs most."""
    centers = seed(points, k, init, rng, weights)
    norms = row_norms(points)
    previous = np.inf
    loss = np.inf
    for _ in range(max_iter):
        distances = squared_distances(points, centers, norms)
        labels = distances.argmin(axis=1)
        cost = weights * distances[np.arange(labels.size), labels]
        loss = float(cost.sum())
        if previous < np.inf and previous - loss <= tol * previous:
            break
        previous = loss
        mass = np.bincount(labels, weights=weights, minlength=k)
        sums = cluster_sums(points, labels, k, weights)
        filled = mass > 0
        centers[filled] = sums[filled] / mass[filled, None]
        for empty in np.flatnonzero(~filled):
            worst = int(np.argmax(cost))
            centers[empty] = points[worst]
            cost[worst] = 0.0
    return centers, loss


def refine(X: Matrix, centers: np.ndarray, *, max_iter: int, tol: float) -> np.ndarray:
    """Lloyd's iterations over the rows themselves from ``centers``, until the msd improves by at most
    ``tol`` of itself; each step lowers (never raises) the msd."""
    centers = centers.copy()
    previous = np.inf
    k = centers.shape[0]
    for _ in range(max_iter):
        labels, best = closest(X, centers)
        msd = float(best.mean())
        if previous < np.inf and previous - msd <= tol * previous:
            break
        previous = msd
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        sums = cluster_sums(X, labels, k)
        filled = counts > 0
        centers[filled] = sums[filled] / counts[filled, None]
    return centers
