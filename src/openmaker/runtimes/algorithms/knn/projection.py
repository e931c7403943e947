"""k-NN's dimension reduction: a seeded random linear map from ``feature_dim`` to the target dimension.

Both kinds are one dense ``feature_dim x target`` float32 matrix, so the model stores it and applies it
to every query with one matrix product:

- ``sign``: the random-projection kind the algorithm documents, a matrix of random signs scaled by
  ``1/sqrt(target)`` (squared lengths are preserved in expectation);
- ``fjlt``: the fast Johnson-Lindenstrauss transform in its subsampled randomized Hadamard form: random
  signs, the Walsh-Hadamard transform of the input padded to a power of two, then ``target`` coordinates
  sampled without replacement, scaled by ``1/sqrt(target)``. The real algorithm applies the transform in
  O(d log d) per point; openmaker materialises the same linear map (entry ``(i, c)`` of the Hadamard
  matrix is ``(-1)^popcount(i & c)``), which gives the same projection at O(d * target) per point.

Both preserve L2 distances and inner products approximately, as the documentation says, and add the
noise it warns about.
"""

from __future__ import annotations

import numpy as np

SEED = 1729  # fixed: the same hyperparameters and data give the same model


def sign_matrix(dim: int, target: int, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(dim, target), dtype=np.int8) * 2 - 1
    return (signs / np.sqrt(target)).astype(np.float32)


def _popcount_parity(values: np.ndarray) -> np.ndarray:
    """1 where a non-negative integer has an odd number of set bits."""
    parity = np.zeros(values.shape, dtype=np.int64)
    values = values.astype(np.int64)
    while values.any():
        parity ^= values & 1
        values = values >> 1
    return parity


def fjlt_matrix(dim: int, target: int, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    padded = 1 << max(0, (dim - 1).bit_length())
    if target > padded:
        raise ValueError(f"target dimension {target} exceeds the padded dimension {padded}")
    signs = rng.integers(0, 2, size=dim, dtype=np.int8) * 2 - 1
    columns = np.sort(rng.choice(padded, size=target, replace=False))
    hadamard = 1 - 2 * _popcount_parity(np.arange(dim)[:, None] & columns[None, :])
    return (signs[:, None] * hadamard / np.sqrt(target)).astype(np.float32)


def matrix(kind: str, dim: int, target: int) -> np.ndarray:
    """The projection for ``dimension_reduction_type`` ``kind`` (``sign`` or ``fjlt``)."""
    if kind == "sign":
        return sign_matrix(dim, target)
    if kind == "fjlt":
        return fjlt_matrix(dim, target)
    raise ValueError(f"unknown dimension reduction type {kind!r}")
