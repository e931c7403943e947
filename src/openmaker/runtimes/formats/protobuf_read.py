"""Reading whole recordio-protobuf files into one matrix and label vector, without per-value loops.

Two paths. Files written by the SDK (or any writer) with fixed-width dense records are one record layout
repeated: the file is viewed as an ``(n, record_size)`` byte matrix, every byte outside the numbers is
checked against the first record, and the feature and label columns are reinterpreted as floats — no
per-record work at all. Everything else (sparse rows, int32 varints, multi-part records, mixed layouts)
is scanned record by record only for the positions of its packed fields; the numbers are then decoded
in one vectorised pass over all records.

Like the algorithms' readers, the feature named ``"values"`` is the data (or the only feature there is)
and the label named ``"values"`` is the label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from openmaker.runtimes.formats import record as rec
from openmaker.runtimes.formats import wire
from openmaker.runtimes.formats.errors import DataFormatError
from openmaker.runtimes.formats.recordio import MAGIC, MAGIC_BYTES, iter_spans, padded

Matrix = Any  # np.ndarray | scipy.sparse.csr_matrix; scipy is imported only when sparse data appears
Source = str | Path | BinaryIO | bytes | bytearray | memoryview


class _Irregular(Exception):
    """A record the span scanner does not handle; it is parsed whole instead."""


_EXTRA = 1 << 56  # offsets at or above this are in _Spans.extra, wherever it ends up
_KIND_CODES = {0x12: rec.FLOAT32, 0x1A: rec.FLOAT64, 0x3A: rec.INT32}  # Value's tensor tags


@dataclass
class _Column:
    """Start and end offsets of one packed field in every record, as two int lists."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def append(self, span: tuple[int, int]) -> None:
        self.starts.append(span[0])
        self.ends.append(span[1])

    def truncate(self, length: int) -> None:
        del self.starts[length:], self.ends[length:]

    def arrays(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The offsets as arrays, spans in ``extra`` moved behind the ``size`` bytes of the sources."""
        starts, ends = np.array(self.starts, dtype=np.int64), np.array(self.ends, dtype=np.int64)
        extra = starts >= _EXTRA
        starts[extra] += size - _EXTRA
        ends[extra] += size - _EXTRA
        return starts, ends


@dataclass
class _Spans:
    """Where each record's numbers are in ``buffer``: byte offsets per record, decoded together later.

    Offsets point into the concatenation of every source read plus ``extra``, which holds the re-encoded
    numbers of records that were parsed whole (multi-part or unusual ones).
    """

    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    extra: bytearray = field(default_factory=bytearray)
    kinds: list[str] = field(default_factory=list)
    values: _Column = field(default_factory=lambda: _Column())
    keys: _Column = field(default_factory=lambda: _Column())  # (-1, -1) for a dense record
    widths: list[int] = field(default_factory=list)  # prod(shape), -1 without a shape
    label_kinds: list[str | None] = field(default_factory=list)
    labels: _Column = field(default_factory=lambda: _Column())

    def buffer(self) -> bytes:
        return b"".join([*self.chunks, bytes(self.extra)])

    def add_extra(self, data: bytes) -> tuple[int, int]:
        start = _EXTRA + len(self.extra)
        self.extra += data
        return start, start + len(data)


# -- scanning ------------------------------------------------------------------------------------------


def _length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A length varint, the single-byte case inline (it is nearly every one)."""
    if pos < end and buf[pos] < 0x80:
        return buf[pos], pos + 1
    return wire.read_varint(buf, pos, end)


def _tensor(buf: bytes, pos: int, end: int) -> tuple[int, int, int, int, int]:
    """``(values_start, values_end, keys_start, keys_end, width)`` of a packed tensor (-1 = absent)."""
    va = vb = pos
    ka = kb = width = -1
    while pos < end:
        tag = buf[pos]
        length, pos = _length(buf, pos + 1, end)
        stop = pos + length
        if stop > end:
            raise DataFormatError("Malformed protobuf Record: a field runs past the end of its message.")
        if tag == 0x0A and va == vb:
            va, vb = pos, stop
        elif tag == 0x12 and ka < 0:
            ka, kb = pos, stop
        elif tag == 0x1A and width < 0:
            width = 1
            while pos < stop:
                dim, pos = _length(buf, pos, stop)
                width *= dim
        else:
            raise _Irregular  # unpacked values, repeated chunks or unknown fields
        pos = stop
    return va, vb, ka, kb, width


def _entry(buf: bytes, pos: int, end: int) -> tuple[bool, str, int, int]:
    """A map entry: ``(named "values", kind, tensor_start, tensor_end)``."""
    named = False
    kind, ta, tb = rec.FLOAT32, pos, pos
    while pos < end:
        tag = buf[pos]
        length, pos = _length(buf, pos + 1, end)
        stop = pos + length
        if tag == 0x0A:
            named = buf[pos:stop] == b"values"
        elif tag == 0x12:
            while pos < stop:  # the Value: one tensor
                value_tag = buf[pos]
                if value_tag not in _KIND_CODES:
                    raise _Irregular
                size, pos = _length(buf, pos + 1, stop)
                kind, ta, tb = _KIND_CODES[value_tag], pos, pos + size
                pos = tb
        else:
            raise _Irregular
        pos = stop
    if tb > end:
        raise DataFormatError("Malformed protobuf Record: a field runs past the end of its message.")
    return named, kind, ta, tb


def _scan_record(buf: bytes, a: int, b: int, base: int, out: _Spans) -> None:
    """Append one record's spans (offset by ``base``); raises :class:`_Irregular` for odd layouts."""
    feature = label = None
    pos = a
    while pos < b:
        tag = buf[pos]
        length, pos = _length(buf, pos + 1, b)
        stop = pos + length
        if stop > b:
            raise DataFormatError("Malformed protobuf Record: a field runs past the end of its message.")
        if tag == 0x0A or tag == 0x12:
            entry = _entry(buf, pos, stop)
            if (feature if tag == 0x0A else label) is not None or not entry[0]:
                raise _Irregular  # several entries, or one not named "values": the full parser decides
            if tag == 0x0A:
                feature = entry
            else:
                label = entry
        elif tag not in (0x1A, 0x22, 0x2A):  # uid, metadata, configuration are skipped
            raise _Irregular
        pos = stop
    if feature is None:
        out.kinds.append(rec.FLOAT32)
        out.values.append((0, 0))
        out.keys.append((-1, -1))
        out.widths.append(-1)
    else:
        va, vb, ka, kb, width = _tensor(buf, feature[2], feature[3])
        out.kinds.append(feature[1])
        out.values.append((base + va, base + vb))
        out.keys.append((-1, -1) if ka < 0 else (base + ka, base + kb))
        out.widths.append(width)
    if label is None:
        out.label_kinds.append(None)
        out.labels.append((0, 0))
    else:
        va, vb, _, _, _ = _tensor(buf, label[2], label[3])
        out.label_kinds.append(label[1])
        out.labels.append((base + va, base + vb))


def _pick(tensors: dict[str, rec.Tensor]) -> rec.Tensor | None:
    if rec.VALUES in tensors:
        return tensors[rec.VALUES]
    if len(tensors) == 1:
        return next(iter(tensors.values()))
    if tensors:
        raise DataFormatError(f"A record has features {sorted(tensors)} but none named 'values'.")
    return None


def _add_parsed(payload: bytes, out: _Spans) -> None:
    """The slow, complete path for records the scanner declined: their numbers go to ``out.extra``."""
    record = rec.parse_record(payload)
    feature = _pick(record.features)
    label = record.label.get(rec.VALUES) or (
        next(iter(record.label.values())) if len(record.label) == 1 else None
    )
    if feature is not None and feature.kind == rec.BYTES:
        raise DataFormatError("Records with Bytes features cannot be read as a numeric matrix.")
    if label is not None and label.kind == rec.BYTES:
        raise DataFormatError("Records with Bytes labels cannot be read as numbers.")
    if feature is None:
        out.kinds.append(rec.FLOAT32)
        out.values.append((0, 0))
        out.keys.append((-1, -1))
        out.widths.append(-1)
    else:
        out.kinds.append(feature.kind)
        out.values.append(out.add_extra(rec.packed_values(feature.kind, np.asarray(feature.values))))
        keys = feature.keys
        out.keys.append((-1, -1) if keys is None else out.add_extra(wire.encode_varints(keys)[0].tobytes()))
        out.widths.append(-1 if feature.shape is None else int(np.prod(feature.shape)))
    out.label_kinds.append(None if label is None else label.kind)
    if label is None:
        out.labels.append((0, 0))
    else:
        out.labels.append(out.add_extra(rec.packed_values(label.kind, np.asarray(label.values))))


def scan(buffer: bytes, where: str = "", out: _Spans | None = None) -> _Spans:
    """Every record of a RecordIO buffer into ``out`` (multi-part records are joined first)."""
    out = out if out is not None else _Spans()
    base = out.size
    parts: list[bytes] = []
    for start, end, flag in iter_spans(buffer, where):
        if flag == 0:
            _scan_or_parse(buffer, start, end, base, out)
            continue
        parts.append(buffer[start:end])
        if flag == 3:
            _add_parsed(MAGIC_BYTES.join(parts), out)
            parts = []
    out.chunks.append(buffer)
    out.size += len(buffer)
    return out


def _scan_or_parse(buf: bytes, a: int, b: int, base: int, out: _Spans) -> None:
    mark = len(out.kinds)
    try:
        _scan_record(buf, a, b, base, out)
    except _Irregular:
        for column in (out.kinds, out.widths, out.label_kinds):
            del column[mark:]
        for spans in (out.values, out.keys, out.labels):
            spans.truncate(mark)
        _add_parsed(buf[a:b], out)


# -- assembling ----------------------------------------------------------------------------------------


def _gather(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of every span, concatenated, and each span's length.

    Spans in buffer order (every record the scanner read) are cut out with one mask; otherwise (records
    parsed whole keep their numbers after the sources) the spans are joined one by one.
    """
    lengths = np.maximum(ends - starts, 0)
    used = lengths > 0
    if not used.any():
        return np.zeros(0, dtype=np.uint8), lengths
    a, b = starts[used], ends[used]
    if (a[1:] >= b[:-1]).all():
        edges = np.zeros(buffer.size + 1, dtype=np.int8)
        edges[a] = 1
        edges[b] -= 1
        return buffer[np.cumsum(edges[:-1], dtype=np.int8).view(bool)], lengths
    view = memoryview(buffer)
    return np.frombuffer(
        b"".join([view[x:y] for x, y in zip(a.tolist(), b.tolist(), strict=True)]), np.uint8
    ), lengths


def _varint_counts(blob: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    ends = np.concatenate(([0], np.cumsum(blob < 0x80)))
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    nonempty = lengths > 0
    if nonempty.any() and (blob[bounds[1:][nonempty] - 1] >= 0x80).any():
        raise DataFormatError("Malformed protobuf Record: a packed varint field ends inside a varint.")
    return np.diff(ends[bounds])


def _decode(kind: str, blob: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if kind == rec.INT32:
        counts = _varint_counts(blob, lengths)
        return wire.decode_varints(blob).view(np.int64).astype(np.int32), counts
    dtype = rec.DTYPES[kind]
    if (lengths % dtype.itemsize).any():
        raise DataFormatError(
            f"Malformed protobuf Record: packed {kind} values of a length not a multiple of {dtype.itemsize}."
        )
    return blob.view(dtype), lengths // dtype.itemsize


def _decode_spans(
    buffer: np.ndarray, size: int, kinds: list[str], column: _Column
) -> tuple[np.ndarray, np.ndarray]:
    """All records' numbers, concatenated in record order, and how many each record holds."""
    distinct = set(kinds)
    starts, ends = column.arrays(size)
    if len(distinct) <= 1:
        return _decode(distinct.pop() if distinct else rec.FLOAT32, *_gather(buffer, starts, ends))
    # float32 records next to float64 ones: decode each kind, promote, and put them back in order
    kind_array = np.array(kinds)
    counts = np.zeros(len(kinds), dtype=np.int64)
    decoded = {}
    for kind in distinct:
        rows = np.flatnonzero(kind_array == kind)
        decoded[kind] = (rows, *_decode(kind, *_gather(buffer, starts[rows], ends[rows])))
        counts[rows] = decoded[kind][2]
    dtype = np.result_type(*(values.dtype for _, values, _ in decoded.values()))
    out = np.empty(int(counts.sum()), dtype=dtype)
    starts = np.concatenate(([0], np.cumsum(counts)))[:-1]
    for rows, values, row_counts in decoded.values():
        out[np.repeat(starts[rows], row_counts) + _ranks(row_counts)] = values
    return out, counts


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, c-1 for every count c, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _labels(buffer: np.ndarray, spans: _Spans) -> np.ndarray | None:
    present = [k is not None for k in spans.label_kinds]
    if not any(present):
        return None
    if not all(present):
        missing = present.index(False) + 1
        raise DataFormatError(
            f"Record {missing} has no label while others have one; label every record or none."
        )
    kinds = [k for k in spans.label_kinds if k is not None]
    values, counts = _decode_spans(buffer, spans.size, kinds, spans.labels)
    if (counts != counts[0]).any():
        raise DataFormatError("Records have labels of different sizes.")
    if counts[0] == 1:
        return values.copy()
    return values.reshape(len(counts), int(counts[0])).copy()


def _feature_width(widths: np.ndarray, feature_dim: int | None) -> int | None:
    given = set(np.unique(widths[widths >= 0]).tolist())
    if feature_dim is not None:
        wrong = given - {feature_dim}
        if wrong:
            raise DataFormatError(
                f"The data has records of shape [{sorted(wrong)[0]}] but feature_dim is {feature_dim}. "
                "Set feature_dim to the number of features in the data."
            )
        return feature_dim
    if len(given) > 1:
        raise DataFormatError(f"Records have different shapes: {sorted(given)}.")
    return given.pop() if given else None


def assemble(spans: _Spans, feature_dim: int | None = None) -> tuple[Matrix, np.ndarray | None]:
    """The scanned records as ``(X, y)``: dense unless some record is sparse."""
    buffer = np.frombuffer(spans.buffer(), dtype=np.uint8)
    n = len(spans.kinds)
    values, counts = _decode_spans(buffer, spans.size, spans.kinds, spans.values)
    y = _labels(buffer, spans)
    widths = np.array(spans.widths, dtype=np.int64)
    keyed = np.array(spans.keys.starts, dtype=np.int64) >= 0
    sparse = bool(keyed.any()) or bool(((widths >= 0) & (widths != counts)).any())
    if not sparse:
        if n and (counts != counts[0]).any():
            first = int(np.flatnonzero(counts != counts[0])[0])
            raise DataFormatError(
                f"Records have different numbers of features: record 1 has {int(counts[0])}, "
                f"record {first + 1} has {int(counts[first])}."
            )
        width = int(counts[0]) if n else (feature_dim or 0)
        _check_dim(width, feature_dim)
        return values.reshape(n, width).copy(), y
    return _sparse(buffer, spans, values, counts, widths, keyed, feature_dim), y


def _check_dim(width: int, feature_dim: int | None) -> None:
    if feature_dim is not None and width != feature_dim:
        raise DataFormatError(
            f"The data has {width} features per record but feature_dim is {feature_dim}. "
            "Set feature_dim to the number of features in the data."
        )


def _sparse(
    buffer: np.ndarray,
    spans: _Spans,
    values: np.ndarray,
    counts: np.ndarray,
    widths: np.ndarray,
    keyed: np.ndarray,
    feature_dim: int | None,
) -> Matrix:
    from scipy import sparse as sp

    blob, lengths = _gather(buffer, *spans.keys.arrays(spans.size))
    key_counts = _varint_counts(blob, lengths)
    keys = wire.decode_varints(blob).astype(np.int64)
    if not keyed.all():  # dense records among sparse ones: their keys are 0..count-1
        key_counts = np.where(keyed, key_counts, counts)
        filled = np.empty(int(key_counts.sum()), dtype=np.int64)
        from_dense = np.repeat(~keyed, key_counts)
        filled[~from_dense] = keys
        filled[from_dense] = _ranks(counts[~keyed])
        keys = filled
    if (key_counts != counts).any():
        bad = int(np.flatnonzero(key_counts != counts)[0])
        raise DataFormatError(
            f"Record {bad + 1} is sparse with {int(key_counts[bad])} keys but {int(counts[bad])} values."
        )
    width = _feature_width(widths, feature_dim)
    top = int(keys.max()) + 1 if keys.size else 0
    if width is None:
        width = top
    elif top > width:
        raise DataFormatError(f"A sparse record has the key {top - 1}, outside its shape [{width}].")
    indptr = np.concatenate(([0], np.cumsum(counts)))
    index_dtype = np.int32 if max(width, keys.size) < 2**31 else np.int64
    return sp.csr_matrix(
        (values, keys.astype(index_dtype), indptr.astype(index_dtype)), shape=(len(counts), width)
    )


# -- the fast path -------------------------------------------------------------------------------------


def _block(rows: np.ndarray, a: int, b: int, kind: str) -> np.ndarray | None:
    """The numbers in byte columns ``a:b`` of every record, one row each (``None``: not rectangular)."""
    block = np.ascontiguousarray(rows[:, a:b])
    if kind != rec.INT32:
        return block.view(rec.DTYPES[kind]).reshape(rows.shape[0], -1)
    # varints of the same total length per record: rectangular only if each record holds as many
    counts = _varint_counts(block.ravel(), np.full(rows.shape[0], b - a, dtype=np.int64))
    if counts.size and (counts != counts[0]).any():
        return None
    values = wire.decode_varints(block.ravel()).view(np.int64).astype(np.int32)
    return values.reshape(rows.shape[0], int(counts[0]) if counts.size else 0)


def _uniform_dense(buffer: bytes, feature_dim: int | None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Decode a file of identically laid-out dense records as byte columns, or ``None``.

    Int32 tensors qualify too when their varints take the same bytes in every record (small labels).
    """
    size = len(buffer)
    if size < 8:
        return None
    magic, lrecord = (int(v) for v in np.frombuffer(buffer, dtype="<u4", count=2))
    if magic != MAGIC or lrecord >> 29 or 8 + lrecord > size:
        return None
    stride = 8 + padded(lrecord)
    if size % stride:
        return None
    first = _Spans()
    try:
        _scan_record(buffer, 8, 8 + lrecord, 0, first)
    except (_Irregular, DataFormatError):
        return None
    kind, label_kind = first.kinds[0], first.label_kinds[0]
    va, vb = first.values.starts[0], first.values.ends[0]
    if first.keys.starts[0] >= 0 or va == vb:
        return None
    la, lb = first.labels.starts[0], first.labels.ends[0]
    spans = sorted([(va, vb), (la, lb)]) if label_kind is not None else [(va, vb)]
    n = size // stride
    rows = np.frombuffer(buffer, dtype=np.uint8).reshape(n, stride)
    edges = [0, *[edge for span in spans for edge in span], stride]
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b > a and not (rows[:, a:b] == rows[0, a:b]).all():
            return None
    x = _block(rows, va, vb, kind)
    if x is None or (first.widths[0] >= 0 and first.widths[0] != x.shape[1]):
        return None  # ragged varints, or an all-zero sparse row rather than a dense one
    _check_dim(x.shape[1], feature_dim)
    if label_kind is None:
        return x, None
    y = _block(rows, la, lb, label_kind)
    if y is None:
        return None
    return x, (y[:, 0].copy() if y.shape[1] == 1 else y)


# -- the public reader ---------------------------------------------------------------------------------


def _read(source: Source) -> tuple[bytes, str]:
    if isinstance(source, str | Path):
        return Path(source).read_bytes(), f" in file {source}"
    if isinstance(source, bytes):
        return source, ""
    if isinstance(source, bytearray | memoryview):
        return bytes(source), ""
    return source.read(), ""


def read_protobuf(
    sources: Source | list[Source], *, feature_dim: int | None = None
) -> tuple[Matrix, np.ndarray | None]:
    """Every record of the given files/streams/buffers as ``(X, y)``.

    ``X`` is a dense ``ndarray`` (float32, float64 or int32 as written) when every record is dense, else a
    ``scipy.sparse.csr_matrix``; ``y`` is the ``"values"`` label (1-D for scalar labels) or ``None``.
    """
    items = sources if isinstance(sources, list) else [sources]
    buffers = [_read(item) for item in items]
    fast = []
    for buffer, _ in buffers:
        done = _uniform_dense(buffer, feature_dim)
        if done is None:
            break
        fast.append(done)
    else:
        if fast:
            return _stack(fast)
    spans = _Spans()
    for buffer, where in buffers:
        scan(buffer, where, spans)
    return assemble(spans, feature_dim)


def _stack(parts: list[tuple[np.ndarray, np.ndarray | None]]) -> tuple[np.ndarray, np.ndarray | None]:
    if len(parts) == 1:
        return parts[0]
    widths = {x.shape[1] for x, _ in parts}
    if len(widths) > 1:
        raise DataFormatError(f"Files have records of different numbers of features: {sorted(widths)}.")
    labelled = {y is not None for _, y in parts}
    if len(labelled) > 1:
        raise DataFormatError("Some files have labels and others do not; label every record or none.")
    x = np.concatenate([x for x, _ in parts])
    y = np.concatenate([y for _, y in parts if y is not None]) if labelled == {True} else None
    return x, y
