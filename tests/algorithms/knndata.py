"""Real data for the k-NN tests: MNIST test-set digits (IDX files read with numpy) and Boston housing."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np


def mnist(datasets: Path, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set's first ``rows`` digits as (pixels 0-255 as float64, n x 784; labels 0-9)."""
    folder = datasets / "mnist"
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as handle:
        images = np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as handle:
        labels = np.frombuffer(handle.read(), dtype=np.uint8, offset=8)
    rows = len(labels) if rows is None else rows
    return images[:rows].astype(np.float64), labels[:rows].astype(np.float64)


def boston(datasets: Path) -> tuple[np.ndarray, np.ndarray]:
    """BostonHousing.csv (mlbench): 13 features and ``medv`` as the target, in file order."""
    with open(datasets / "boston-housing" / "BostonHousing.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    table = np.array(rows[1:], dtype=np.float64)
    return table[:, :-1], table[:, -1]


def csv_bytes(table: np.ndarray) -> bytes:
    """Rows as CSV without a header; integers written without a fraction."""
    buffer = io.BytesIO()
    np.savetxt(buffer, table, fmt="%.10g", delimiter=",")
    return buffer.getvalue()


def labelled_csv(X: np.ndarray, y: np.ndarray) -> bytes:
    """The algorithms' training CSV: the label first."""
    return csv_bytes(np.column_stack([y, X]))
