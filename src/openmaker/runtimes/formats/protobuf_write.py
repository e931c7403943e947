"""Writing many ``Record`` messages at once, byte-identical to the SageMaker SDK's writers.

``write_numpy_to_dense_tensor`` and ``write_spmatrix_to_sparse_tensor`` pick the tensor kind from the
dtype (float32 → Float32Tensor, float64 → Float64Tensor, int → Int32Tensor) and write one record per row
with a scalar label under ``"values"``. Here the same bytes come out without a per-value loop: when every
record has the same layout (fixed-width features and labels) the whole stream is one template row
repeated, with the numbers copied into their columns; otherwise a per-record loop joins pre-encoded pieces.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from openmaker.runtimes.formats import record as rec
from openmaker.runtimes.formats import wire
from openmaker.runtimes.formats.errors import DataFormatError
from openmaker.runtimes.formats.recordio import MAGIC, frame, padded


def _labels(labels: Any, rows: int) -> np.ndarray | None:
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.dtype.kind == "f" and array.dtype != np.float64:
        array = array.astype(np.float32, copy=False)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[0] != rows:
        raise DataFormatError(f"Labels of shape {np.shape(labels)} do not match {rows} rows.")
    return array


def _fixed_width(kind: str) -> bool:
    return kind in (rec.FLOAT32, rec.FLOAT64)


def _dense_matrix(rows: Any) -> np.ndarray:
    array = np.asarray(rows)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise DataFormatError(f"Dense features must be a matrix, got {array.ndim} dimensions.")
    if array.dtype.kind == "f" and array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    return array


def encode_dense(rows: Any, labels: Any = None) -> bytes:
    """RecordIO-framed records, one per row of ``rows``, with ``labels[i]`` as label ``"values"``."""
    matrix = _dense_matrix(rows)
    label_matrix = _labels(labels, matrix.shape[0])
    kind = rec.kind_of(matrix.dtype)
    label_kind = None if label_matrix is None else rec.kind_of(label_matrix.dtype)
    if matrix.shape[0] == 0:
        return b""
    if _fixed_width(kind) and (label_kind is None or _fixed_width(label_kind)):
        return _dense_template(matrix, kind, label_matrix, label_kind)
    values = _row_bytes(matrix, kind)
    labels_bytes = (
        None if label_matrix is None or label_kind is None else _row_bytes(label_matrix, label_kind)
    )
    out = []
    for i in range(matrix.shape[0]):
        payload = rec.map_entry(1, rec.VALUES, rec.tensor_payload(kind, values[i]))
        if labels_bytes is not None and label_kind is not None:
            payload += rec.map_entry(2, rec.VALUES, rec.tensor_payload(label_kind, labels_bytes[i]))
        out.append(frame(payload))
    return b"".join(out)


def _row_bytes(matrix: np.ndarray, kind: str) -> list[bytes]:
    """Each row's packed ``values`` content, encoded for the whole matrix at once."""
    if kind != rec.INT32:
        data = np.ascontiguousarray(matrix, dtype=rec.DTYPES[kind])
        return [row.tobytes() for row in data]
    blob = rec.packed_values(kind, matrix.ravel())
    lengths = wire.encode_varints(matrix.ravel().astype(np.int64))[1].reshape(matrix.shape).sum(axis=1)
    ends = np.concatenate(([0], np.cumsum(lengths))).tolist()
    return [blob[a:b] for a, b in pairwise(ends)]


def _dense_template(
    matrix: np.ndarray, kind: str, labels: np.ndarray | None, label_kind: str | None
) -> bytes:
    """Every record has the same bytes but for the numbers: write row 0's layout n times, then fill."""
    n, dim = matrix.shape
    features = rec.DTYPES[kind]
    feature_bytes = dim * features.itemsize
    head = rec.map_entry(1, rec.VALUES, rec.tensor_payload(kind, b"\0" * feature_bytes))
    feature_at = 8 + len(head) - feature_bytes
    payload = head
    label_at = label_bytes = 0
    if labels is not None and label_kind is not None:
        label_bytes = labels.shape[1] * rec.DTYPES[label_kind].itemsize
        tail = rec.map_entry(2, rec.VALUES, rec.tensor_payload(label_kind, b"\0" * label_bytes))
        payload += tail
        label_at = 8 + len(payload) - label_bytes
    size = 8 + padded(len(payload))
    template = np.frombuffer(frame(payload), dtype=np.uint8)
    assert template.size == size and int(np.frombuffer(template[:4], "<u4")[0]) == MAGIC
    out = np.empty((n, size), dtype=np.uint8)
    out[:] = template
    if feature_bytes:
        data = np.ascontiguousarray(matrix, dtype=features.newbyteorder("<"))
        out[:, feature_at : feature_at + feature_bytes] = data.view(np.uint8).reshape(n, feature_bytes)
    if label_bytes and labels is not None and label_kind is not None:
        data = np.ascontiguousarray(labels, dtype=rec.DTYPES[label_kind])
        out[:, label_at : label_at + label_bytes] = data.view(np.uint8).reshape(n, label_bytes)
    return out.tobytes()


def encode_sparse(csr: Any, labels: Any = None) -> bytes:
    """RecordIO-framed sparse records, one per row, with ``keys`` (column indices) and ``shape [n_cols]``."""
    try:
        matrix = csr.tocsr()
    except AttributeError as error:
        raise DataFormatError("encode_sparse needs a scipy.sparse matrix.") from error
    n, cols = matrix.shape
    label_matrix = _labels(labels, n)
    kind = rec.kind_of(matrix.dtype)
    label_kind = None if label_matrix is None else rec.kind_of(label_matrix.dtype)
    indptr = matrix.indptr.astype(np.int64)
    key_bytes, key_lengths = wire.encode_varints(matrix.indices.astype(np.uint64))
    key_ends = np.concatenate(([0], np.cumsum(key_lengths)))[indptr]
    key_blob = key_bytes.tobytes()
    if kind == rec.INT32:
        value_bytes, value_lengths = wire.encode_varints(matrix.data.astype(np.int64))
        value_ends = np.concatenate(([0], np.cumsum(value_lengths)))[indptr]
        value_blob = value_bytes.tobytes()
    else:
        value_blob = np.ascontiguousarray(matrix.data, dtype=rec.DTYPES[kind]).tobytes()
        value_ends = indptr * rec.DTYPES[kind].itemsize
    shape_bytes = wire.varint(cols)
    out = []
    for i in range(n):
        value = rec.tensor_payload(
            kind,
            value_blob[value_ends[i] : value_ends[i + 1]],
            key_blob[key_ends[i] : key_ends[i + 1]],
            shape_bytes,
        )
        payload = rec.map_entry(1, rec.VALUES, value)
        if label_matrix is not None and label_kind is not None:
            payload += rec.map_entry(
                2, rec.VALUES, rec.tensor_payload(label_kind, rec.packed_values(label_kind, label_matrix[i]))
            )
        out.append(frame(payload))
    return b"".join(out)


def encode_label_records(predictions: list[dict[str, Any]]) -> bytes:
    """Inference answers: each prediction's fields as the ``label`` map of a Record (features empty).

    This is how the built-in algorithms answer ``Accept: application/x-recordio-protobuf``: e.g. Linear
    Learner's ``label["score"]`` and ``label["predicted_label"]``, K-Means' ``closest_cluster`` and
    ``distance_to_cluster``, each a Float32Tensor (vectors such as PCA's ``projection`` too).
    """
    out = []
    for prediction in predictions:
        label = {}
        for name, value in prediction.items():
            array = np.atleast_1d(np.asarray(value))
            if array.dtype.kind not in "biuf":
                raise DataFormatError(
                    f"The prediction field {name!r} is not numeric; it cannot be sent as protobuf."
                )
            label[name] = rec.Tensor(rec.FLOAT32, array.astype(np.float32).ravel())
        out.append(frame(rec.encode_record(label=label)))
    return b"".join(out)
