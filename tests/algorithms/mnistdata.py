"""The MNIST test set (10,000 handwritten digits) read from its idx gz files with NumPy, for K-Means and
PCA: pixels as float32 in [0, 1], one 784-wide row per image, in file order. Also the reader of their
``model.tar.gz`` (one MXNet NDArray file, ``model_algo-1``)."""

from __future__ import annotations

import gzip
import io
import tarfile
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from openmaker.runtimes.algorithms.firstparty import ndarray

IMAGES = "mnist/t10k-images-idx3-ubyte.gz"
LABELS = "mnist/t10k-labels-idx1-ubyte.gz"


def _idx(path: Path) -> np.ndarray:
    """An idx file: magic (2 zero bytes, type 0x08 = uint8, number of dimensions), sizes, data."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an idx file of unsigned bytes")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(datasets: Path, rows: int | None = None) -> np.ndarray:
    """The first ``rows`` images as float32 rows of 784 pixels scaled to [0, 1]."""
    pixels = _idx(datasets / IMAGES)[:rows]
    return pixels.reshape(pixels.shape[0], -1).astype(np.float32) / 255


def labels(datasets: Path, rows: int | None = None) -> np.ndarray:
    return _idx(datasets / LABELS)[:rows].astype(np.float32)


def csv_bytes(rows: np.ndarray) -> bytes:
    """Features only, no header, no label column (the unsupervised algorithms' CSV)."""
    return "".join(",".join(f"{value:.9g}" for value in row) + "\n" for row in rows).encode()


def model_arrays(s3, model_data: str) -> ndarray.Arrays:
    """The arrays of ``model_algo-1``, the only file of a K-Means or PCA ``model.tar.gz``."""
    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["model_algo-1"]
        return ndarray.loads(tar.extractfile("model_algo-1").read())


def one_blas_thread() -> AbstractContextManager:
    """One BLAS/OpenMP thread for scikit-learn references: on a shared machine, spinning thread pools cost
    far more than they give. threadpoolctl limits the libraries already loaded, so SciPy's linear algebra
    and scikit-learn's OpenMP are loaded first."""
    import scipy.linalg  # noqa: F401
    import sklearn.cluster
    import sklearn.decomposition  # noqa: F401
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)
