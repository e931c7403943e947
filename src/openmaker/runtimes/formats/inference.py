"""Request bodies to matrices and predictions to response bodies, for the built-in algorithms' servers.

The algorithms answer ``{"predictions": [{"score": 0.7, "predicted_label": 1}, …]}`` for JSON, one such
object per line for JSON lines, the values comma-separated for CSV, and a Record per prediction (its
fields in the ``label`` map, as the SDK's ``RecordDeserializer`` expects) for recordio-protobuf.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.runtimes.formats.jsonfmt import instances_to_matrix, json_instances, jsonlines_instances
from openmaker.runtimes.formats.protobuf_read import read_protobuf
from openmaker.runtimes.formats.protobuf_write import encode_label_records
from openmaker.runtimes.formats.text import parse_csv, parse_libsvm

Matrix = Any  # np.ndarray | scipy.sparse.csr_matrix

REQUEST_TYPES = (ct.CSV, ct.LIBSVM, ct.RECORDIO_PROTOBUF, ct.JSON, ct.JSONLINES, ct.NPY)
RESPONSE_TYPES = (ct.JSON, ct.JSONLINES, ct.CSV, ct.RECORDIO_PROTOBUF)


@dataclass
class Request:
    """A decoded request: the records and, for JSON, its ``"configuration"`` object (e.g. kNN's ``k``)."""

    X: Matrix
    configuration: dict | None = None


def parse_request(body: bytes, content_type: str | None, feature_dim: int | None = None) -> Request:
    """The request's records as a matrix (dense, or CSR for sparse input), checked against ``feature_dim``."""
    media = ct.canonical(content_type)
    if not body:
        raise DataFormatError("The request body is empty.")
    configuration = None
    if media == ct.CSV:
        X = parse_csv(body, expected=feature_dim)
    elif media == ct.LIBSVM:
        X = _libsvm(body, feature_dim)
    elif media == ct.RECORDIO_PROTOBUF:
        X, _ = read_protobuf(body, feature_dim=feature_dim)
    elif media == ct.JSON:
        instances, configuration = json_instances(body)
        X, _ = instances_to_matrix(instances, feature_dim)
    elif media == ct.JSONLINES:
        X, _ = instances_to_matrix(jsonlines_instances(body), feature_dim)
    elif media == ct.NPY:
        X = _npy(body, feature_dim)
    else:
        raise UnsupportedContentTypeError(content_type, REQUEST_TYPES)
    if X.shape[0] == 0:
        raise DataFormatError("The request has no records.")
    return Request(X, configuration)


def decode_request(body: bytes, content_type: str | None, feature_dim: int | None = None) -> Matrix:
    """Just the matrix of :func:`parse_request`."""
    return parse_request(body, content_type, feature_dim).X


def _libsvm(body: bytes, feature_dim: int | None) -> Matrix:
    """LIBSVM lines; the leading label token is optional in a request (``index:value`` only is fine)."""
    from scipy import sparse as sp

    lines = [
        line if b":" not in line.split(maxsplit=1)[0] else b"0 " + line
        for line in body.splitlines()
        if line.strip()
    ]
    parsed = parse_libsvm(b"\n".join(lines))
    width = parsed.width if feature_dim is None else feature_dim
    if parsed.width > width:
        raise DataFormatError(
            f"The request has the feature index {parsed.width - 1} but the model expects {width} features."
        )
    return sp.csr_matrix((parsed.values, parsed.indices, parsed.indptr), shape=(parsed.labels.size, width))


def _npy(body: bytes, feature_dim: int | None) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataFormatError(f"The application/x-npy body is not a NumPy array: {error}") from error
    array = np.atleast_2d(array)
    if array.ndim != 2:
        raise DataFormatError(f"Expected a 1-D or 2-D array, got {array.ndim} dimensions.")
    if feature_dim is not None and array.shape[1] != feature_dim:
        raise DataFormatError(
            f"The request has {array.shape[1]} features per record but the model expects {feature_dim}."
        )
    return array


# -- responses -----------------------------------------------------------------------------------------


def choose_accept(accept: str | None, default: str = ct.JSON) -> str:
    """The first supported type of an Accept header (``*/*`` or none → ``default``); 406 otherwise."""
    if not accept:
        return default
    for part in accept.split(","):
        media = ct.canonical(part)
        if media in ("*/*", "", "application/*") and default:
            return default
        if media == "text/*":
            return ct.CSV
        if media in RESPONSE_TYPES:
            return media
    raise UnsupportedContentTypeError(accept, RESPONSE_TYPES, accept=True)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _csv_row(prediction: dict[str, Any]) -> str:
    cells = []
    for value in prediction.values():
        for item in np.atleast_1d(np.asarray(_plain(value), dtype=object)).ravel():
            cells.append(repr(item) if isinstance(item, float) else str(item))
    return ",".join(cells)


def encode_predictions(predictions: list[dict[str, Any]], accept: str | None) -> tuple[bytes, str]:
    """The response body and its content type for ``accept`` (406 error when none is supported)."""
    media = choose_accept(accept)
    if media == ct.JSON:
        return json.dumps({"predictions": _plain(predictions)}).encode(), ct.JSON
    if media == ct.JSONLINES:
        lines = "".join(json.dumps(_plain(p)) + "\n" for p in predictions)
        return lines.encode(), ct.JSONLINES
    if media == ct.CSV:
        return "".join(_csv_row(p) + "\n" for p in predictions).encode(), ct.CSV
    return encode_label_records(predictions), ct.RECORDIO_PROTOBUF
