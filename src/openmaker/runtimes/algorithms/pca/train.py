"""PCA training in the two modes of the real algorithm.

- ``regular``: accumulate ``sum x^T x`` and ``sum x`` over mini-batches of ``mini_batch_size`` rows (in
  float64), form the scatter matrix ``sum x^T x - (1/n) (sum x)^T (sum x)`` (no centering when
  ``subtract_mean`` is false) and take its top ``num_components`` eigenpairs: the singular values are the
  square roots of the eigenvalues, exactly those of the centered data matrix. Needs a
  ``feature_dim x feature_dim`` matrix in memory.
- ``randomized``: a randomized SVD (Halko, Martinsson and Tropp) of the centered matrix with a sketch of
  ``num_components + extra_components`` columns and :data:`POWER_ITERATIONS` power iterations, computed
  without ever centering (or densifying) the rows. The real algorithm sums one random-sign sketch over
  the mini-batches and reports that sketch's singular values; openmaker's power iterations make the
  singular values those of the data (within about 1e-6 relative for the leading components), so both
  modes give the same kind of model.

The model keeps the components in ascending order of singular value (the largest last), as the real
algorithm does. A ``test`` channel is projected and the share of its variance the components explain is
logged (the real algorithm publishes no PCA metric, so none is printed as one).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty.features import read_features
from openmaker.runtimes.algorithms.firstparty.hosts import trains_here
from openmaker.runtimes.algorithms.pca.hyperparameters import sketch_size
from openmaker.runtimes.algorithms.pca.model import PCAModel
from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms.pca")
SEED = 1729
POWER_ITERATIONS = 4
MAX_SCATTER_BYTES = 4 << 30  # regular mode's feature_dim^2 float64 matrix
MIN_CHUNK = 4096  # rows per product at least: fewer, larger BLAS calls; the sums are the same


def _dense(X: Any) -> np.ndarray:
    return np.asarray(X.toarray() if not isinstance(X, np.ndarray) else X, dtype=np.float64)


def oriented(components: np.ndarray) -> np.ndarray:
    """Columns signed so each one's entry of largest magnitude is positive (scikit-learn's convention)."""
    rows = np.argmax(np.abs(components), axis=0)
    signs = np.sign(components[rows, np.arange(components.shape[1])])
    signs[signs == 0] = 1.0
    return components * signs


def regular(X: Any, num_components: int, subtract_mean: bool, batch: int) -> tuple[np.ndarray, ...]:
    """(components ascending, singular values ascending, mean or None) from the exact scatter matrix."""
    rows, dim = X.shape
    if dim * dim * 8 > MAX_SCATTER_BYTES:
        raise UserError(f"feature_dim {dim} is too large for algorithm_mode regular (a {dim}x{dim} matrix); "
                        "use algorithm_mode randomized.")
    scatter = np.zeros((dim, dim))
    total = np.zeros(dim)
    if isinstance(X, np.ndarray):
        step = max(batch, MIN_CHUNK)
        for start in range(0, rows, step):
            block = np.asarray(X[start:start + step], dtype=np.float64)
            scatter += block.T @ block
            total += block.sum(axis=0)
    else:
        X = X.astype(np.float64)  # float32 records would accumulate in float32
        scatter += (X.T @ X).toarray()
        total += np.asarray(X.sum(axis=0)).ravel()
    mean = total / rows if subtract_mean else None
    if mean is not None:
        scatter -= np.outer(total, mean)
    eigenvalues, eigenvectors = np.linalg.eigh(scatter)  # ascending, as the model keeps them
    values = np.sqrt(np.clip(eigenvalues[-num_components:], 0.0, None))
    return oriented(eigenvectors[:, -num_components:]), values, mean


def randomized(X: Any, num_components: int, subtract_mean: bool, sketch: int,
               rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The same triple from a randomized SVD of the (implicitly) centered rows."""
    rows, dim = X.shape
    if num_components > min(rows, dim):
        raise UserError(f"num_components ({num_components}) must not exceed the number of training records "
                        f"({rows}) in algorithm_mode randomized.")
    sketch = min(sketch, rows, dim)
    if isinstance(X, np.ndarray):
        X = np.asarray(X, dtype=np.float64)  # once, for the 2 + 2 x POWER_ITERATIONS products
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel() if subtract_mean else None

    def times(M: np.ndarray) -> np.ndarray:  # (X - 1 mean^T) @ M
        product = np.asarray(X @ M, dtype=np.float64)
        return product if mean is None else product - mean @ M

    def transposed_times(Q: np.ndarray) -> np.ndarray:  # (X - 1 mean^T)^T @ Q
        product = np.asarray((Q.T @ X).T if isinstance(X, np.ndarray) else X.T @ Q, dtype=np.float64)
        return product if mean is None else product - np.outer(mean, Q.sum(axis=0))

    Q, _ = np.linalg.qr(times(rng.standard_normal((dim, sketch))))
    for _ in range(POWER_ITERATIONS):
        Z, _ = np.linalg.qr(transposed_times(Q))
        Q, _ = np.linalg.qr(times(Z))
    _, values, vt = np.linalg.svd(transposed_times(Q).T, full_matrices=False)
    components = vt[:num_components].T[:, ::-1]
    return oriented(components), values[:num_components][::-1], mean


def score(model: PCAModel, channel: Channel) -> None:
    """Log the share of the test channel's variance the components explain."""
    test = read_features(channel, model.feature_dim)
    X = _dense(test.X)
    centered = X - (model.mean if model.mean is not None else 0.0)
    total = float(np.einsum("ij,ij->", centered, centered))
    kept = float(np.square(model.project(test.X)).sum())
    logger.info("Test channel: %d records; the components explain %.4f of their variance",
                test.n_rows, kept / total if total > 0 else 1.0)


def fit(hps: dict[str, Any], channels: dict[str, Channel], env: TrainingEnv) -> PCAModel | None:
    if not trains_here(env, "PCA"):
        return None
    train = read_features(channels["train"], hps["feature_dim"])
    logger.info("Read %d training records of %d features (%s); mode %s", train.n_rows, train.n_features,
                "sparse" if train.is_sparse else "dense", hps["algorithm_mode"])
    if hps["algorithm_mode"] == "randomized":
        components, values, mean = randomized(train.X, hps["num_components"], hps["subtract_mean"],
                                              sketch_size(hps), np.random.default_rng(SEED))
    else:
        components, values, mean = regular(train.X, hps["num_components"], hps["subtract_mean"],
                                           hps["mini_batch_size"])
    model = PCAModel(components, values, mean)
    logger.info("Singular values (ascending): %s", np.array2string(model.s, precision=4, max_line_width=200))
    if "test" in channels:
        score(model, channels["test"])
    return model
