"""The few pieces of the protobuf wire format that the ``Record`` message needs, scalar and vectorised.

A hand-written codec instead of generated code keeps ``protobuf`` out of the runtimes and lets packed
fields become NumPy arrays straight from the buffer. Only what ``record.proto`` uses is here: varints,
length-delimited fields, and the fixed 32/64-bit scalars of unpacked ``float``/``double`` fields.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from openmaker.runtimes.formats.errors import DataFormatError

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
Buffer = bytes | bytearray | memoryview


def read_varint(buf: Buffer, pos: int, end: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    if pos >= end:
        raise DataFormatError("Malformed protobuf Record: truncated varint.")
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    value = byte & 0x7F
    shift = 7
    pos += 1
    while True:
        if pos >= end or shift > 63:
            raise DataFormatError("Malformed protobuf Record: truncated or overlong varint.")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def varint(value: int) -> bytes:
    """One varint; negative numbers as their 64-bit two's complement (protobuf's int32 rule)."""
    if 0 <= value < 0x80:
        return bytes((value,))
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def iter_fields(buf: Buffer, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """``(field, wire_type, a, b)`` of every field in ``buf[pos:end]``.

    For a varint ``a`` is the value; for the other wire types ``buf[a:b]`` is the field's payload.
    """
    while pos < end:
        key, pos = read_varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end)
            yield field, wire, value, pos
            continue
        if wire == LENGTH:
            length, pos = read_varint(buf, pos, end)
            stop = pos + length
        elif wire == FIXED32:
            stop = pos + 4
        elif wire == FIXED64:
            stop = pos + 8
        else:
            raise DataFormatError(f"Malformed protobuf Record: unsupported wire type {wire} (field {field}).")
        if stop > end:
            raise DataFormatError("Malformed protobuf Record: a field runs past the end of its message.")
        yield field, wire, pos, stop
        pos = stop


def decode_varints(data: np.ndarray | Buffer) -> np.ndarray:
    """Every varint in a packed field (or several concatenated) as ``uint64``, with no Python loop."""
    raw = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if raw.size == 0:
        return np.zeros(0, dtype=np.uint64)
    last = np.flatnonzero(raw < 0x80)
    if last.size == 0 or last[-1] != raw.size - 1:
        raise DataFormatError("Malformed protobuf Record: a packed varint field ends inside a varint.")
    starts = np.empty_like(last)
    starts[0] = 0
    starts[1:] = last[:-1] + 1
    if last.size == raw.size:  # every varint is one byte: the common case of small keys and labels
        return raw.astype(np.uint64)
    index = np.arange(raw.size)
    position = index - np.repeat(starts, last - starts + 1)
    if int(position.max()) > 9:
        raise DataFormatError("Malformed protobuf Record: a varint is longer than 10 bytes.")
    chunks = (raw & 0x7F).astype(np.uint64) << (position.astype(np.uint64) * np.uint64(7))
    return np.bitwise_or.reduceat(chunks, starts)


def encode_varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of every value (``uint8`` array) and each value's byte length, vectorised.

    Signed values are taken as 64-bit two's complement, as protobuf writes ``int32``.
    """
    v = np.asarray(values)
    v = v.astype(np.int64, copy=False).view(np.uint64) if v.dtype.kind == "i" else v.astype(np.uint64)
    lengths = np.ones(v.shape, dtype=np.int64)
    for k in range(1, 10):
        lengths += v >= (np.uint64(1) << np.uint64(7 * k))
    offsets = np.cumsum(lengths) - lengths
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    for k in range(int(lengths.max()) if v.size else 0):
        more = lengths > k
        chunk = ((v[more] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        chunk[lengths[more] > k + 1] |= 0x80
        out[offsets[more] + k] = chunk
    return out, lengths


def key(field: int, wire: int) -> bytes:
    """A field's tag bytes."""
    return varint((field << 3) | wire)


def length_delimited(field: int, payload: bytes) -> bytes:
    """A length-delimited field (sub-message, string or packed array)."""
    return key(field, LENGTH) + varint(len(payload)) + payload
