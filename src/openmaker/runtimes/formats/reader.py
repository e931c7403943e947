"""A training channel (``/opt/ml/input/data/<channel>``) read into one matrix, whatever its content type.

The engine has already staged the channel as plain files: S3Prefix and ManifestFile sources alike
(``engine/staging.py`` copies a manifest's objects under their relative keys) and Gzip objects already
decompressed. So a channel here is simply every file under the directory, recursively, in name order,
skipping hidden files and folders and the ``_SUCCESS``-style markers Spark and Hadoop leave (names
starting with ``.`` or ``_``, as SageMaker XGBoost skips them). Pipe mode does not exist in openmaker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.runtimes.formats.jsonfmt import instances_to_matrix, json_instances, jsonlines_instances
from openmaker.runtimes.formats.protobuf_read import read_protobuf
from openmaker.runtimes.formats.text import parse_csv, parse_libsvm

Matrix = Any  # np.ndarray | scipy.sparse.csr_matrix

TRAINING_TYPES = (ct.CSV, ct.LIBSVM, ct.RECORDIO_PROTOBUF, ct.PARQUET, ct.JSON, ct.JSONLINES)


@dataclass
class Dataset:
    """Features ``X`` (dense ndarray or CSR), labels ``y`` and instance ``weights`` (or ``None``)."""

    X: Matrix
    y: np.ndarray | None = None
    weights: np.ndarray | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def is_sparse(self) -> bool:
        return not isinstance(self.X, np.ndarray)


def data_files(path: Path) -> list[Path]:
    """The data files of a channel directory (or the file itself), in a stable order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataFormatError(f"{path} is not a valid path!")
    files = []
    for item in sorted(path.rglob("*")):
        relative = item.relative_to(path).parts
        if item.is_file() and not any(part.startswith((".", "_")) for part in relative):
            files.append(item)
    return files


def read_training_data(
    path_or_dir: Path | str,
    content_type: str,
    *,
    label: bool = True,
    feature_dim: int | None = None,
    weights: bool = False,
) -> Dataset:
    """Every file of a channel as one :class:`Dataset`.

    ``label``: the first column (CSV, parquet) is the label; ``text/csv;label_size=0`` or ``=1`` overrides
    it. ``weights``: for CSV and parquet the column after the label holds instance weights (XGBoost's
    ``csv_weights=1``); LIBSVM carries weights as ``label:weight``. ``feature_dim`` checks the width and
    gives sparse data its shape. Errors are :class:`DataFormatError` with the message for the user.
    """
    media, params = ct.parse(content_type)
    files = data_files(Path(path_or_dir))
    if not files:
        raise DataFormatError(f"No data files found in {path_or_dir}.")
    if media == ct.CSV:
        label = _label_size(content_type, params, label)
        return _read_csv(files, label, feature_dim, weights)
    if media == ct.LIBSVM:
        return _read_libsvm(files, feature_dim)
    if media == ct.RECORDIO_PROTOBUF:
        X, y = read_protobuf(list(files), feature_dim=feature_dim)
        return Dataset(X, y, None, files)
    if media == ct.PARQUET:
        return _read_parquet(files, label, feature_dim, weights)
    if media in (ct.JSON, ct.JSONLINES):
        instances: list = []
        for file in files:
            body = file.read_bytes()
            instances += json_instances(body)[0] if media == ct.JSON else jsonlines_instances(body)
        X, y = instances_to_matrix(instances, feature_dim)
        return Dataset(X, y, None, files)
    raise UnsupportedContentTypeError(content_type, TRAINING_TYPES)


def _label_size(content_type: str, params: dict[str, str], label: bool) -> bool:
    size = params.get("label_size")
    if size is None:
        return label
    if size not in ("0", "1"):
        raise DataFormatError(
            f"{content_type} is not an accepted csv ContentType. label_size must be 0 or 1."
        )
    return size == "1"


def _split(
    table: np.ndarray, label: bool, weights: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    first = int(label) + int(weights)
    y = table[:, 0].copy() if label else None
    w = table[:, int(label)].copy() if weights else None
    return np.ascontiguousarray(table[:, first:]), y, w


def _read_csv(files: list[Path], label: bool, feature_dim: int | None, weights: bool) -> Dataset:
    extra = int(label) + int(weights)
    expected = None if feature_dim is None else feature_dim + extra
    tables = []
    for file in files:
        table = parse_csv(file.read_bytes(), where=f" in file {file}", expected=expected)
        if table.shape[0]:
            expected = table.shape[1]
            tables.append(table)
    if not tables:
        raise DataFormatError(f"The CSV files in {files[0].parent} have no data rows.")
    if expected is not None and expected < extra:
        raise DataFormatError(f"The CSV data has {expected} columns; a label needs at least {extra}.")
    X, y, w = _split(np.concatenate(tables) if len(tables) > 1 else tables[0], label, weights)
    _check_width(X.shape[1], feature_dim)
    return Dataset(X, y, w, files)


def _check_width(width: int, feature_dim: int | None) -> None:
    if feature_dim is not None and width != feature_dim:
        raise DataFormatError(
            f"The data has {width} features per record but feature_dim is {feature_dim}. "
            "Set feature_dim to the number of features in the data."
        )


def _read_libsvm(files: list[Path], feature_dim: int | None) -> Dataset:
    from scipy import sparse as sp

    parts = [parse_libsvm(file.read_bytes(), where=f" of file {file}") for file in files]
    width = max(part.width for part in parts)
    if feature_dim is not None:
        if width > feature_dim:
            raise DataFormatError(
                f"The LIBSVM data has the feature index {width - 1} but feature_dim is {feature_dim}."
            )
        width = feature_dim
    matrices = [sp.csr_matrix((p.values, p.indices, p.indptr), shape=(p.labels.size, width)) for p in parts]
    X = matrices[0] if len(matrices) == 1 else sp.vstack(matrices, format="csr")
    y = np.concatenate([p.labels for p in parts])
    w = None
    if any(p.weights is not None for p in parts):
        w = np.concatenate([p.weights if p.weights is not None else np.ones(p.labels.size) for p in parts])
    return Dataset(X, y, w, files)


def _read_parquet(files: list[Path], label: bool, feature_dim: int | None, weights: bool) -> Dataset:
    try:
        import pyarrow.parquet as pq
    except ImportError as error:  # pragma: no cover - pyarrow is in the "all" extra
        raise DataFormatError("Reading parquet needs pyarrow (pip install 'openmaker[all]').") from error
    tables = []
    for file in files:
        try:
            table = pq.read_table(file)
        except Exception as error:  # pyarrow raises its own ArrowInvalid and OSError kinds
            raise DataFormatError(f"Failed to load parquet data with exception:\n{error}") from error
        try:
            tables.append(
                np.column_stack([c.to_numpy(zero_copy_only=False) for c in table.columns]).astype(np.float64)
            )
        except (TypeError, ValueError) as error:
            raise DataFormatError(f"The parquet file {file} has non-numeric columns: {error}") from error
    widths = {t.shape[1] for t in tables}
    if len(widths) > 1:
        raise DataFormatError(f"The parquet files have different numbers of columns: {sorted(widths)}.")
    X, y, w = _split(np.concatenate(tables) if len(tables) > 1 else tables[0], label, weights)
    _check_width(X.shape[1], feature_dim)
    return Dataset(X, y, w, files)
