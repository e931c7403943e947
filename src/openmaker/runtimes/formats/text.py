"""``text/csv`` and ``text/libsvm``: numeric text, one record per line.

CSV columns are counted for every line at once (a NumPy pass over the bytes) so a ragged file fails
with the algorithms' own wording — "Rows 3-3 in file … have different fields than the expected size
12." — before the C parser (pyarrow when installed, else NumPy) reads the numbers. Empty fields are
missing values (NaN), as XGBoost reads them.

LIBSVM lines are ``label[:weight] [qid:n] index:value …``. Indices are taken as written, the way
SageMaker XGBoost loads them (``xgb.DMatrix("…?format=libsvm")`` is 0-based): a 1-based file simply
has an empty column 0, and the width is the largest index + 1.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from openmaker.runtimes.formats.errors import DataFormatError

_DELIMITERS = (b",", b"\t", b";", b"|", b" ")


def sniff_delimiter(data: bytes) -> bytes:
    """The delimiter of the first non-blank line: comma unless the line has none but another."""
    for line in data[: 64 * 1024].splitlines():
        if line.strip():
            for delimiter in _DELIMITERS:
                if delimiter in line.strip():
                    return delimiter
            return b","
    return b","


def _line_bounds(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    newlines = np.flatnonzero(raw == 0x0A)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [raw.size]))
    return starts, ends


def _field_counts(data: bytes, delimiter: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Fields per line (0 for blank lines) and the lines' 1-based numbers, without a Python loop.

    Delimiters are located once and counted per line by binary search against the line bounds, so the
    cost is one pass over the bytes plus O(lines log delimiters) — no per-byte running sums."""
    raw = np.frombuffer(data, dtype=np.uint8)
    starts, ends = _line_bounds(raw)
    marks = np.flatnonzero(raw == delimiter[0])
    fields = np.searchsorted(marks, ends) - np.searchsorted(marks, starts) + 1
    lone = np.flatnonzero(fields == 1)  # no delimiter: a one-column row, or a blank line
    if lone.size:
        empty = (ends[lone] - starts[lone]) <= 0
        fields[lone[empty]] = 0
        candidates = lone[~empty]
        if candidates.size == starts.size:  # a one-column file: count printable bytes per line at once
            printable = np.add.reduceat(raw > 0x20, starts, dtype=np.int64)
        else:
            printable = np.array([np.any(raw[starts[i]:ends[i]] > 0x20) for i in candidates], dtype=np.int64)
        fields[candidates[printable == 0]] = 0
    return fields, np.arange(1, fields.size + 1)


def _ragged_message(numbers: np.ndarray, bad: np.ndarray, where: str, expected: int) -> str:
    first = int(np.flatnonzero(bad)[0])
    last = first
    while last + 1 < bad.size and bad[last + 1]:
        last += 1
    return (
        f"Rows {int(numbers[first])}-{int(numbers[last])}{where} have different fields than the expected "
        f"size {expected}."
    )


def parse_csv(data: bytes, *, where: str = "", expected: int | None = None) -> np.ndarray:
    """A 2-D float64 array of every non-blank line; ``expected`` columns (default: the first row's)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    delimiter = sniff_delimiter(data)
    if delimiter == b" ":
        return _parse_whitespace(data, where=where, expected=expected)
    fields, numbers = _field_counts(data, delimiter)
    used = fields > 0
    if not used.any():
        return np.zeros((0, expected or 0))
    fields, numbers = fields[used], numbers[used]
    expected = int(fields[0]) if expected is None else expected
    bad = fields != expected
    if bad.any():
        raise DataFormatError(_ragged_message(numbers, bad, where, expected))
    return _numbers(data, delimiter.decode(), where, expected)


SMALL = 64 * 1024  # request-sized bodies: str.split beats starting a C parser


def _numbers(data: bytes, delimiter: str, where: str, columns: int) -> np.ndarray:
    if len(data) <= SMALL:
        try:
            rows = [line.split(delimiter.encode()) for line in data.splitlines() if line.strip()]
            return np.array(rows, dtype=np.float64).reshape(-1, columns)
        except ValueError:
            pass  # empty fields or text: the careful parser below decides
    try:
        return _arrow_numbers(data, delimiter, columns)
    except ImportError:
        pass
    except ValueError as error:
        raise _not_numbers(where, error) from error
    try:
        return np.genfromtxt(io.BytesIO(data), delimiter=delimiter, dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise _not_numbers(where, error) from error


def _arrow_numbers(data: bytes, delimiter: str, columns: int) -> np.ndarray:
    """pyarrow's multithreaded CSV reader: exact float parsing, empty fields as NaN, and it imports in a
    fraction of pandas' time (which dominated short training jobs)."""
    import pyarrow as pa
    from pyarrow import csv

    names = [f"f{index}" for index in range(columns)]
    try:
        table = csv.read_csv(
            pa.py_buffer(data),
            read_options=csv.ReadOptions(column_names=names),
            parse_options=csv.ParseOptions(delimiter=delimiter),
            convert_options=csv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())),
        )
    except pa.ArrowInvalid as error:
        raise ValueError(str(error).splitlines()[0]) from error
    out = np.empty((table.num_rows, columns), dtype=np.float64)
    for index, column in enumerate(table.columns):
        row = 0
        for chunk in column.chunks:
            out[row:row + len(chunk), index] = _float_values(chunk)
            row += len(chunk)
    return out


def _float_values(chunk) -> np.ndarray:
    """A float64 Arrow array as NumPy, nulls as NaN, read from its buffers (``to_numpy`` would import
    pandas, a second of start-up)."""
    validity, data = chunk.buffers()
    values = np.frombuffer(data, dtype=np.float64, count=len(chunk), offset=chunk.offset * 8)
    if chunk.null_count == 0 or validity is None:
        return values
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
    valid = bits[chunk.offset:chunk.offset + len(chunk)].astype(bool)
    return np.where(valid, values, np.nan)


def _not_numbers(where: str, error: Exception) -> DataFormatError:
    return DataFormatError(
        f"Could not read the CSV data{where} as numbers ({error}). text/csv data must be numeric, "
        "with no header row."
    )


def _parse_whitespace(data: bytes, *, where: str, expected: int | None) -> np.ndarray:
    rows = [line.split() for line in data.splitlines() if line.strip()]
    if not rows:
        return np.zeros((0, expected or 0))
    expected = len(rows[0]) if expected is None else expected
    counts = np.array([len(r) for r in rows])
    bad = counts != expected
    if bad.any():
        raise DataFormatError(_ragged_message(np.arange(1, len(rows) + 1), bad, where, expected))
    try:
        return np.array(rows, dtype=np.float64).reshape(-1, expected)
    except ValueError as error:
        raise DataFormatError(f"Could not read the CSV data{where} as numbers ({error}).") from error


@dataclass
class Libsvm:
    """A LIBSVM file as CSR parts; ``width`` is the largest index + 1."""

    labels: np.ndarray
    weights: np.ndarray | None
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int


def _libsvm_error(line: bytes, where: str) -> DataFormatError:
    snippet = line[:50].decode("utf-8", "replace")
    return DataFormatError(
        f"Line '{snippet}...'{where} is not 'LIBSVM' format. Please ensure the file is in 'LIBSVM' format "
        "(label[:weight] index:value ...)."
    )


def parse_libsvm(data: bytes, *, where: str = "") -> Libsvm:
    """Every non-blank line of a LIBSVM file (``#`` comments and ``qid:`` tokens are ignored)."""
    lines = [line.split(b"#", 1)[0].split() for line in data.splitlines()]
    lines = [tokens for tokens in lines if tokens]
    heads = np.array([tokens[0] for tokens in lines], dtype=bytes)
    counts = np.fromiter((len(tokens) - 1 for tokens in lines), dtype=np.int64, count=len(lines))
    pairs = np.array([t for tokens in lines for t in tokens[1:]], dtype=bytes)
    if pairs.size:
        query = np.char.startswith(pairs, b"qid:")
        if query.any():
            row_of = np.repeat(np.arange(len(lines)), counts)
            counts = counts - np.bincount(row_of[query], minlength=len(lines))
            pairs = pairs[~query]
    head = np.char.partition(heads, b":") if heads.size else np.zeros((0, 3), dtype=bytes)
    try:
        labels = head[:, 0].astype(np.float64)
        has_weight = head[:, 1] == b":"
        weights = None
        if has_weight.any():
            weights = np.ones(len(lines))
            weights[has_weight] = head[has_weight, 2].astype(np.float64)
    except ValueError:
        bad = next(i for i, tokens in enumerate(lines) if not _is_number(tokens[0].split(b":")[0]))
        raise _libsvm_error(b" ".join(lines[bad]), where) from None
    split = np.char.partition(pairs, b":") if pairs.size else np.zeros((0, 3), dtype=bytes)
    try:
        if pairs.size and not (split[:, 1] == b":").all():
            raise ValueError
        indices = split[:, 0].astype(np.int64)
        values = split[:, 2].astype(np.float64)
    except ValueError:
        row_of = np.repeat(np.arange(len(lines)), counts)
        bad_rows = [int(row_of[i]) for i, p in enumerate(pairs) if not _is_pair(p)]
        raise _libsvm_error(b" ".join(lines[bad_rows[0] if bad_rows else 0]), where) from None
    if indices.size and indices.min() < 0:
        raise DataFormatError(f"LIBSVM data{where} has a negative feature index {int(indices.min())}.")
    indptr = np.concatenate(([0], np.cumsum(counts)))
    width = int(indices.max()) + 1 if indices.size else 0
    return Libsvm(labels, weights, indptr, indices, values, width)


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_pair(token: bytes) -> bool:
    index, colon, value = token.partition(b":")
    return bool(colon) and index.isdigit() and _is_number(value)
