"""Channel files -> ``xgboost.DMatrix``: CSV (label first, no header), LIBSVM, Parquet, RecordIO-protobuf.

The container reads CSV and LIBSVM with XGBoost's own text loader (``DMatrix("dir?format=csv&label_column=0")``).
That loader is deprecated since XGBoost 3.1 and its number parser is not correctly rounded: about 4 % of
the values of a typical CSV come out one float32 ulp away from what ``numpy.loadtxt``/``pandas.read_csv``
give, so a model trained here would not equal the one a user trains on the same file with
``xgboost.train``. CSV is therefore read with Arrow's multi-threaded CSV reader (correctly rounded, and it
reads ``.gz`` files too), LIBSVM with scikit-learn's parser, Parquet with Arrow; the values are then
exactly those of the user's own loading code. RecordIO-protobuf goes through :mod:`openmaker.runtimes.formats`.

Messages for unreadable data follow the container's (``Failed to load csv data with exception: …``).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError

logger = logging.getLogger("openmaker.algorithms.xgboost")

CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF = "csv", "libsvm", "parquet", "recordio-protobuf"
ACCEPTED = {
    CSV: CSV, "text/csv": CSV,
    LIBSVM: LIBSVM, "text/libsvm": LIBSVM, "text/x-libsvm": LIBSVM,
    PARQUET: PARQUET, "application/x-parquet": PARQUET,
    RECORDIO_PROTOBUF: RECORDIO_PROTOBUF, "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}
# The ContentType the container assumes for a channel without one.
DEFAULT_CONTENT_TYPE = LIBSVM


def content_type(value: str | None) -> str:
    """A channel's ContentType as one of csv/libsvm/parquet/recordio-protobuf (libsvm when absent)."""
    if not value:
        return DEFAULT_CONTENT_TYPE
    media, _, rest = value.lower().partition(";")
    params = dict(part.strip().split("=", 1) for part in rest.split(";") if "=" in part)
    kind = ACCEPTED.get(media.strip())
    if kind is None:
        raise UserError(f"{value} is not an accepted ContentType: {', '.join(ACCEPTED)}.")
    if kind == CSV and params.get("label_size", "1").strip() != "1":
        raise UserError(f"{value} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1")
    return kind


@dataclass
class Loaded:
    """Features, labels and optional weights of one channel, before they become a DMatrix."""

    features: Any  # ndarray or CSR matrix
    labels: np.ndarray
    weights: np.ndarray | None = None
    zero_based: bool | None = None  # LIBSVM: how indices were read, so validation reads them alike


def _delimiter(first_line: str) -> str:
    for candidate in (",", "\t", ";", "|", " "):
        if candidate in first_line:
            return candidate
    try:
        return csv.Sniffer().sniff(first_line).delimiter
    except csv.Error:
        return ","  # one column: the delimiter does not matter


def _first_line(path: Path) -> str:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", errors="ignore") as handle:
        return handle.readline().strip()


def read_csv(files: list[Path], csv_weights: int = 0) -> Loaded:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = _delimiter(_first_line(files[0]))
    blocks = []
    for path in files:
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
            )
        except (pa.ArrowInvalid, OSError) as error:
            raise UserError(f"Failed to load csv data with exception:\n{error} (file {path.name})") from error
        if blocks and table.num_columns != blocks[0].shape[1]:
            raise UserError(f"Failed to load csv data with exception:\nfile {path.name} has {table.num_columns} "
                            f"columns, {files[0].name} has {blocks[0].shape[1]}")
        columns = []
        for index, column in enumerate(table.columns):
            if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                    or pa.types.is_null(column.type)):
                sample = next((value for value in column.to_pylist() if value is not None), "")
                raise UserError(f"Failed to load csv data with exception:\ncolumn {index} of {path.name} is not "
                                f"numeric (found {str(sample)[:40]!r}); the CSV must have no header and the label "
                                "in the first column")
            columns.append(column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False))
        blocks.append(np.column_stack(columns) if columns else np.empty((0, 0)))
    data = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    first_feature = 2 if csv_weights == 1 else 1
    weights = data[:, 1].copy() if csv_weights == 1 else None
    return Loaded(features=data[:, first_feature:], labels=data[:, 0].copy(), weights=weights)


def _looks_like_libsvm(line: str) -> bool:
    """``<label>[:<weight>] <index>:<value> …`` (the container checks the first line this way)."""
    tokens = line.split()
    if not tokens:
        return True
    try:
        [float(part) for part in tokens[0].split(":", 1)]
    except ValueError:
        return False
    return all(token.count(":") == 1 for token in tokens[1:])


def read_libsvm(files: list[Path], zero_based: bool | None = None) -> Loaded:
    """LIBSVM lines; indices are 1-based unless an index 0 appears (the model server reads requests alike)."""
    import scipy.sparse
    from sklearn.datasets import load_svmlight_files

    try:
        results = load_svmlight_files([str(f) for f in files], zero_based=True, dtype=np.float64)
    except (ValueError, OSError) as error:
        for path in files:
            line = _first_line(path)
            if not _looks_like_libsvm(line):
                # A channel without ContentType is read as LIBSVM: usually a CSV missing text/csv.
                raise UserError(f"First line '{line[:50]}...' of file '{path.name}' is not 'LIBSVM' format. Please "
                                "ensure the file is in 'LIBSVM' format.") from error
        raise UserError(f"Failed to load libsvm data with exception:\n{error}") from error
    matrices, labels = results[0::2], results[1::2]
    features = matrices[0] if len(matrices) == 1 else scipy.sparse.vstack(matrices, format="csr")
    if zero_based is None:
        zero_based = bool(features.nnz) and int(features.indices.min()) == 0
    if not zero_based and features.shape[1] > 0:
        features = scipy.sparse.csr_matrix((features.data, features.indices - 1, features.indptr),
                                           shape=(features.shape[0], features.shape[1] - 1))
    return Loaded(features=features, labels=np.concatenate(labels), zero_based=zero_based)


def read_parquet(files: list[Path]) -> Loaded:
    import pyarrow.parquet as pq

    try:
        tables = [pq.read_table(path) for path in files]
        data = np.concatenate([np.column_stack([c.to_numpy(zero_copy_only=False).astype(np.float64)
                                                for c in table.columns]) for table in tables])
    except Exception as error:  # Arrow raises several types for a bad file
        raise UserError(f"Failed to load parquet data with exception:\n{error}") from error
    return Loaded(features=data[:, 1:], labels=data[:, 0].copy())


def read_recordio(files: list[Path]) -> Loaded:
    try:
        from openmaker.runtimes.formats.reader import read_training_data
    except ImportError as error:
        raise UserError("RecordIO-protobuf channels need openmaker.runtimes.formats, which this installation "
                        "lacks; use text/csv or text/libsvm.") from error
    import scipy.sparse

    blocks, labels = [], []
    for path in files:
        try:
            dataset = read_training_data(str(path), "application/x-recordio-protobuf", label=True)
        except UserError:
            raise
        except Exception as error:
            raise UserError(f"Failed to load recordio-protobuf data with exception:\n{error}") from error
        blocks.append(dataset.X)
        labels.append(np.asarray(dataset.y, dtype=np.float64).reshape(-1))
    sparse = any(scipy.sparse.issparse(block) for block in blocks)
    if len(blocks) == 1:
        features = blocks[0]
    else:
        features = scipy.sparse.vstack(blocks, format="csr") if sparse else np.concatenate(blocks)
    return Loaded(features=features, labels=np.concatenate(labels))


def load(channel: Channel, csv_weights: int = 0, zero_based: bool | None = None) -> Loaded | None:
    """The channel's data, or None when it has no data files."""
    files = [path for path in channel.files() if path.stat().st_size > 0]
    if not files:
        return None
    logger.info("Reading %d %s file(s) of channel %s (%.1f MB)", len(files), channel.content_type, channel.name,
                sum(path.stat().st_size for path in files) / 1e6)
    if channel.content_type == CSV:
        loaded = read_csv(files, csv_weights)
    elif channel.content_type == LIBSVM:
        loaded = read_libsvm(files, zero_based)
    elif channel.content_type == PARQUET:
        loaded = read_parquet(files)
    else:
        loaded = read_recordio(files)
    if loaded.labels.size == 0:
        raise UserError("Got input data without labels. Please check the input data set.")
    return loaded


def to_dmatrix(loaded: Loaded, nthread: int) -> Any:
    import xgboost as xgb

    return xgb.DMatrix(loaded.features, label=loaded.labels, weight=loaded.weights, nthread=nthread)
