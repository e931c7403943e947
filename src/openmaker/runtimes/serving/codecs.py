"""Request bodies to NumPy and predictions back: the content types the SageMaker SDK's serializers send.

``text/csv`` (CSVSerializer), ``application/json`` (JSONSerializer, TF Serving style ``{"instances": …}``
too), ``application/x-npy`` (NumpySerializer, the default of the SKLearn and PyTorch predictors) and
``application/x-npz`` (sparse matrices). Decoding is strict about the type but lenient about the shape:
a single CSV row or a flat JSON list is one record, so ``model.predict`` always sees a 2-D array
(the toolkit's decoders return 1-D there, which scikit-learn rejects).

These run on every request, so the common cases take the short path (``str.split`` for small CSV bodies,
``np.loadtxt``'s C parser for large ones) and only fall back to the slow, forgiving parsers on errors.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from openmaker.runtimes.serving.errors import BadRequestError, NotAcceptableError, UnsupportedFormatError

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
JSONLINES = "application/jsonlines"
OCTET_STREAM = "application/octet-stream"
ANY = "*/*"
# Bodies of these types reach user code as ``str`` (the toolkit decodes them), all others as bytes.
UTF8_TYPES = frozenset((JSON, CSV))
SMALL_CSV = 16 * 1024


def media_type(content_type: str | None) -> str:
    """``"Text/CSV; charset=utf-8"`` -> ``"text/csv"``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def parse_accept(accept: str) -> list[str]:
    """``"application/json, text/csv;q=0.5"`` -> ``["application/json", "text/csv"]`` (client order)."""
    return [media_type(part) for part in accept.split(",") if part.strip()]


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequestError(f"The request body is not UTF-8 text: {error}") from error


def _as_numbers(array: np.ndarray) -> np.ndarray:
    """Numeric data as float64; text (a pipeline starting with a vectorizer) stays text."""
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind in "UO":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError):
            return array
    return array


def csv_to_numpy(body: bytes | str) -> np.ndarray:
    """CSV records (one per line) as a 2-D array; empty fields are NaN; non-numeric CSV stays text."""
    text = _text(body).strip()
    if not text:
        raise BadRequestError("The text/csv request body is empty.")
    if len(text) <= SMALL_CSV:
        try:
            return np.array([line.split(",") for line in text.splitlines()], dtype=np.float64)
        except ValueError:
            pass  # ragged rows, empty fields, quoting or text: take the careful path
    else:
        try:
            return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError:
            pass
    rows = list(csv.reader(io.StringIO(text)))
    if len({len(row) for row in rows}) > 1:
        raise BadRequestError("The text/csv request body has rows of different lengths.")
    try:
        return np.array([[float(field) if field.strip() else np.nan for field in row] for row in rows])
    except ValueError:
        pass
    if all(len(row) == 1 for row in rows):  # one text field per record: documents for a vectorizer
        return np.array([row[0] for row in rows], dtype=object)
    return np.array(rows, dtype=object)


def json_to_numpy(body: bytes | str) -> np.ndarray:
    """A JSON list of records (or one record), or ``{"instances": …}``/``{"inputs": …}`` like TF Serving."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise BadRequestError(f"The application/json request body is not valid JSON: {error}") from error
    if isinstance(data, dict):
        for key in ("instances", "inputs", "features", "data"):
            if key in data:
                data = data[key]
                break
        else:
            raise BadRequestError(
                'The JSON body must be a list of records or {"instances": [...]}; got an object with keys '
                f"{sorted(data)[:10]}."
            )
    if isinstance(data, list) and data and isinstance(data[0], dict) and "features" in data[0]:
        data = [record["features"] for record in data]  # the built-ins' {"instances": [{"features": …}]}
    try:
        array = np.array(data)
    except ValueError as error:
        raise BadRequestError(f"The JSON records do not form an array: {error}") from error
    if array.ndim == 1 and array.dtype.kind in "biuf":
        array = array.reshape(1, -1)
    return _as_numbers(array)


def npy_to_numpy(body: bytes | str) -> np.ndarray:
    """The ``.npy`` format of ``np.save`` (what NumpySerializer sends)."""
    if isinstance(body, str):
        body = body.encode("latin-1")
    try:
        return np.load(io.BytesIO(body), allow_pickle=False)
    except ValueError as error:
        raise BadRequestError(f"The application/x-npy request body is not an .npy array: {error}") from error


def npz_to_sparse(body: bytes | str) -> Any:
    import scipy.sparse

    if isinstance(body, str):
        body = body.encode("latin-1")
    try:
        return scipy.sparse.load_npz(io.BytesIO(body))
    except (ValueError, OSError) as error:
        raise BadRequestError(f"The application/x-npz request body is not a sparse matrix: {error}") from error


DECODERS: dict[str, Callable[[bytes | str], Any]] = {
    CSV: csv_to_numpy,
    JSON: json_to_numpy,
    NPY: npy_to_numpy,
    NPZ: npz_to_sparse,
}


def decode(body: bytes | str, content_type: str | None) -> Any:
    decoder = DECODERS.get(media_type(content_type))
    if decoder is None:
        raise UnsupportedFormatError(content_type)
    return decoder(body)


def to_list(value: Any) -> Any:
    """Array-likes (numpy, tensors, pandas) as plain Python lists/scalars for JSON and CSV."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    if hasattr(value, "toarray"):  # scipy.sparse
        value = value.toarray()
    return value.tolist() if hasattr(value, "tolist") else value


def _json_default(value: Any) -> Any:
    converted = to_list(value)
    if converted is value:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return converted


def array_to_json(value: Any) -> str:
    return json.dumps(to_list(value), default=_json_default)


def array_to_csv(value: Any) -> str:
    """One record per line, fields comma-separated; a 1-D prediction is one value per line."""
    rows = to_list(value)
    if not isinstance(rows, list):
        return f"{rows}\n"
    lines = [",".join(map(str, row)) if isinstance(row, list | tuple) else str(row) for row in rows]
    return "\n".join(lines) + "\n" if lines else ""


def array_to_npy(value: Any) -> bytes:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


ENCODERS: dict[str, Callable[[Any], str | bytes]] = {
    JSON: array_to_json,
    CSV: array_to_csv,
    NPY: array_to_npy,
}


def encode(prediction: Any, accept: str) -> tuple[str | bytes, str]:
    """The prediction in the first type of ``accept`` we can write, and that type."""
    for candidate in parse_accept(accept):
        encoder = ENCODERS.get(candidate)
        if encoder is not None:
            return encoder(prediction), candidate
    raise NotAcceptableError(accept)
