"""Exact nearest-neighbour search over the sampled points: brute force with BLAS, for the three metrics.

The real algorithm builds a FAISS index (``faiss.Flat``, ``faiss.IVFFlat`` or ``faiss.IVFPQ``). openmaker
answers every index type with the exact search ``faiss.Flat`` does: the inverted-file and
product-quantized indexes approximate it, so exact search is at least as accurate (it costs more time
only on very large samples). Queries go in row blocks; each block is one matrix product against all
points (OpenBLAS uses every core), then a partial sort picks the ``k`` best:

- ``L2``: Euclidean distances, nearest first, from ``|q|^2 - 2 q.p + |p|^2`` (scikit-learn's brute-force
  formula, so integer features such as pixels give exactly its distances and its neighbours);
- ``COSINE``: the cosine distance ``1 - cos(q, p)``, nearest first (a zero vector is at distance 1);
- ``INNER_PRODUCT``: the largest inner products; the "distances" are the inner products themselves,
  largest first, as FAISS reports them for this metric.

Equal distances are broken in favour of the earlier point in the training data. Points are searched in
float64 while the sample holds at most :data:`FLOAT64_LIMIT` values, in float32 above it (half the
memory). numpy only: no scikit-learn import, so endpoints start quickly.
"""

from __future__ import annotations

import numpy as np

FLOAT64_LIMIT = 64_000_000  # values of the sample searched in float64 (512 MB)
BLOCK_BYTES = 64 * 1024 * 1024  # the score block of one query batch
METRICS = ("L2", "COSINE", "INNER_PRODUCT")


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1.0
    return matrix / norms[:, None]


class ExactIndex:
    """The k nearest sampled points of each query row under ``metric``."""

    def __init__(self, points: np.ndarray, metric: str) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown index metric {metric!r}")
        dtype = np.float64 if points.size <= FLOAT64_LIMIT else np.float32
        points = np.ascontiguousarray(points, dtype=dtype)
        self.metric = metric
        self.points = _unit_rows(points) if metric == "COSINE" else points
        self.size = int(points.shape[0])
        self.norms = np.einsum("ij,ij->i", points, points) if metric == "L2" else None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances, indices), each ``len(queries) x k``, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=self.points.dtype)
        k = min(k, self.size)
        rows = max(1, BLOCK_BYTES // (8 * max(1, self.size)))
        distances = np.empty((len(queries), k))
        indices = np.empty((len(queries), k), dtype=np.int64)
        for start in range(0, len(queries), rows):
            block = slice(start, start + rows)
            cost = self._cost(queries[block])
            indices[block], best = _smallest(cost, k)
            distances[block] = self._reported(best)
        return distances, indices

    def _cost(self, queries: np.ndarray) -> np.ndarray:
        """Smaller is nearer: squared L2, cosine distance, or the negated inner product."""
        if self.metric == "L2":
            cost = queries @ self.points.T
            cost *= -2.0
            cost += np.einsum("ij,ij->i", queries, queries)[:, None]
            cost += self.norms[None, :]
            return np.maximum(cost, 0.0, out=cost)
        if self.metric == "COSINE":
            return np.clip(1.0 - _unit_rows(queries) @ self.points.T, 0.0, 2.0)
        return -(queries @ self.points.T)

    def _reported(self, cost: np.ndarray) -> np.ndarray:
        if self.metric == "L2":
            return np.sqrt(cost)
        return -cost if self.metric == "INNER_PRODUCT" else cost


def _smallest(cost: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest entries of each row, ascending; a tie goes to the smaller column."""
    columns = cost.shape[1]
    if k < columns:
        picked = np.argpartition(cost, k - 1, axis=1)[:, :k]
    else:
        picked = np.broadcast_to(np.arange(columns), cost.shape).copy()
    values = np.take_along_axis(cost, picked, axis=1)
    order = np.lexsort((picked, values), axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    if k < columns:  # a tie at the k-th distance may have left out an earlier point: redo those rows
        crowded = np.flatnonzero(np.count_nonzero(cost <= values[:, -1:], axis=1) > k)
        for row in crowded:
            best = np.argsort(cost[row], kind="stable")[:k]
            picked[row], values[row] = best, cost[row, best]
    return picked, values
