"""MovieLens small ratings as Factorization Machines data: one-hot user + movie rows (the book's chapter 6
shape), ``feature_dim = n_users + n_movies``, written as RecordIO-protobuf by the SDK's own writer."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse as sp


@dataclass
class Ratings:
    X: sp.csr_matrix  # float32 one-hot rows: user column, then n_users + movie column
    y: np.ndarray  # float32 ratings
    n_users: int
    n_movies: int

    @property
    def feature_dim(self) -> int:
        return self.n_users + self.n_movies

    def split(self, fraction: float = 0.8) -> tuple[Ratings, Ratings]:
        cut = int(self.X.shape[0] * fraction)
        first = Ratings(self.X[:cut], self.y[:cut], self.n_users, self.n_movies)
        return first, Ratings(self.X[cut:], self.y[cut:], self.n_users, self.n_movies)

    def binary(self, threshold: float = 4.0) -> Ratings:
        """Liked (rating >= threshold) = 1, else 0."""
        return Ratings(self.X, (self.y >= threshold).astype(np.float32), self.n_users, self.n_movies)


def movielens(datasets: Path, rows: int | None = None, seed: int = 42) -> Ratings:
    """The ratings shuffled with ``seed`` (the first ``rows`` of them when given), one-hot encoded over the
    users and movies of the whole file so every split shares one feature space."""
    with open(datasets / "movielens-small" / "ratings.csv", newline="", encoding="utf-8") as handle:
        table = [(int(r["userId"]), int(r["movieId"]), float(r["rating"])) for r in csv.DictReader(handle)]
    users = {u: i for i, u in enumerate(sorted({u for u, _, _ in table}))}
    movies = {m: i for i, m in enumerate(sorted({m for _, m, _ in table}))}
    order = np.random.default_rng(seed).permutation(len(table))
    if rows is not None:
        order = order[:rows]
    user_col = np.array([users[table[i][0]] for i in order])
    movie_col = np.array([len(users) + movies[table[i][1]] for i in order])
    n = len(order)
    indices = np.column_stack([user_col, movie_col]).ravel()
    X = sp.csr_matrix((np.ones(2 * n, dtype=np.float32), indices, np.arange(0, 2 * n + 1, 2)),
                      shape=(n, len(users) + len(movies)))
    y = np.array([table[i][2] for i in order], dtype=np.float32)
    return Ratings(X, y, len(users), len(movies))


def protobuf(ratings: Ratings) -> bytes:
    """The rows as the SDK writes them for the algorithm (``write_spmatrix_to_sparse_tensor``)."""
    from sagemaker.amazon.common import write_spmatrix_to_sparse_tensor

    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, ratings.X, ratings.y)
    return buffer.getvalue()


def sparse_instances(ratings: Ratings, rows: int) -> dict:
    """The first ``rows`` as the book's JSON request: ``{"instances": [{"data": {"features": {...}}}]}``."""
    instances = []
    for row in range(rows):
        start, stop = ratings.X.indptr[row], ratings.X.indptr[row + 1]
        instances.append({"data": {"features": {"shape": [ratings.feature_dim],
                                                "keys": ratings.X.indices[start:stop].tolist(),
                                                "values": ratings.X.data[start:stop].tolist()}}})
    return {"instances": instances}
