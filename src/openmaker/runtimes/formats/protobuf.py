"""``application/x-recordio-protobuf``: SageMaker's RecordIO-framed ``Record`` messages.

The entry points the algorithms and the model server use. The message itself is in :mod:`.record`, the
framing in :mod:`.recordio`, the batch reader and writers in :mod:`.protobuf_read` and
:mod:`.protobuf_write`. No ``protobuf`` package is needed: the codec is hand-written over NumPy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from openmaker.runtimes.formats.errors import DataFormatError
from openmaker.runtimes.formats.protobuf_read import read_protobuf
from openmaker.runtimes.formats.protobuf_write import encode_dense, encode_label_records, encode_sparse
from openmaker.runtimes.formats.record import Record, Tensor, encode_record, parse_record
from openmaker.runtimes.formats.recordio import iter_records, write_record

__all__ = [
    "Record",
    "SparseVector",
    "Tensor",
    "decode_record",
    "encode_dense",
    "encode_label_records",
    "encode_record",
    "encode_sparse",
    "iter_records",
    "parse_record",
    "read_protobuf",
    "write_record",
]


class SparseVector(NamedTuple):
    """A sparse feature tensor: ``values[i]`` sits at flat index ``keys[i]`` of ``shape``."""

    keys: np.ndarray
    values: np.ndarray
    shape: tuple[int, ...] | None


def _pick(tensors: dict[str, Tensor]) -> Tensor | None:
    if "values" in tensors:
        return tensors["values"]
    return next(iter(tensors.values())) if len(tensors) == 1 else None


def decode_record(payload: bytes) -> tuple[np.ndarray | SparseVector | None, np.ndarray | None]:
    """One record's ``"values"`` feature (dense array or :class:`SparseVector`) and label (or ``None``).

    A dense feature with a multi-dimensional ``shape`` comes back in that shape.
    """
    record = parse_record(payload)
    feature, label = _pick(record.features), _pick(record.label)
    if feature is not None and feature.kind == "bytes":
        raise DataFormatError("The record's features are Bytes, not a numeric tensor.")
    features: np.ndarray | SparseVector | None
    if feature is None:
        features = None
    elif feature.is_sparse:
        keys = feature.keys if feature.keys is not None else np.zeros(0, dtype=np.uint64)
        features = SparseVector(keys, np.asarray(feature.values), feature.shape)
    else:
        values = np.asarray(feature.values)
        features = values.reshape(feature.shape) if feature.shape and len(feature.shape) > 1 else values
    labels = None if label is None or label.kind == "bytes" else np.asarray(label.values)
    return features, labels
