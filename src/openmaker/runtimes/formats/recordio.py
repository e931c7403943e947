"""MXNet/dmlc RecordIO framing, the envelope of ``application/x-recordio-protobuf`` (and ``.rec`` files).

Each part is ``magic (0xced7230a) | lrecord | payload | zero padding to 4 bytes``, both words little
endian. ``lrecord`` holds the payload length in its low 29 bits and a continuation flag in the top 3:
0 a whole record, 1 the first part, 2 a middle part, 3 the last part. dmlc's writer splits a record
wherever the magic word appears at a 4-byte-aligned offset of the payload and drops that word; readers
put it back between the parts. The SageMaker SDK's writer never splits (and its reader cannot join), so
:func:`write_record` does not split unless asked: what we write must stay readable by the SDK's
``RecordDeserializer``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from openmaker.runtimes.formats.errors import DataFormatError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<II")
_LENGTH_MASK = (1 << 29) - 1
_PADDING = (b"", b"\0\0\0", b"\0\0", b"\0")  # indexed by length % 4

Source = BinaryIO | bytes | bytearray | memoryview


def padded(length: int) -> int:
    """The length rounded up to a multiple of 4, as RecordIO stores payloads."""
    return (length + 3) & ~3


def iter_spans(buffer: bytes | bytearray | memoryview, where: str = "") -> Iterator[tuple[int, int, int]]:
    """``(start, end, flag)`` of every part in an in-memory RecordIO buffer, in order.

    The batch readers use spans rather than bytes so that a whole file is decoded without copying each
    record; :func:`iter_records` joins multi-part records from them.
    """
    size = len(buffer)
    pos = 0
    unpack = _HEADER.unpack_from
    while pos < size:
        if pos + 8 > size:
            raise DataFormatError(f"Invalid RecordIO data{where}: {size - pos} stray bytes at offset {pos}.")
        magic, lrecord = unpack(buffer, pos)
        if magic != MAGIC:
            raise DataFormatError(
                f"Invalid RecordIO data{where}: expected the magic number 0xced7230a at offset {pos}, "
                f"found 0x{magic:08x}. Is the data really application/x-recordio-protobuf?"
            )
        length = lrecord & _LENGTH_MASK
        start = pos + 8
        end = start + length
        if end > size:
            raise DataFormatError(
                f"Invalid RecordIO data{where}: the record at offset {pos} claims {length} bytes but only "
                f"{size - start} remain (truncated file?)."
            )
        yield start, end, lrecord >> 29
        pos = start + padded(length)


def _join_parts(buffer: bytes | bytearray | memoryview, where: str) -> Iterator[bytes]:
    parts: list[bytes] = []
    for start, end, flag in iter_spans(buffer, where):
        if flag == 0:
            if parts:
                raise DataFormatError(f"Invalid RecordIO data{where}: a multi-part record has no last part.")
            yield bytes(buffer[start:end])
        elif flag == 1:
            if parts:
                raise DataFormatError(f"Invalid RecordIO data{where}: a multi-part record has no last part.")
            parts = [bytes(buffer[start:end])]
        elif flag in (2, 3) and parts:
            parts.append(bytes(buffer[start:end]))
            if flag == 3:
                yield MAGIC_BYTES.join(parts)
                parts = []
        else:
            raise DataFormatError(f"Invalid RecordIO data{where}: unexpected continuation flag {flag}.")
    if parts:
        raise DataFormatError(f"Invalid RecordIO data{where}: the last record is missing its final part.")


def iter_records(stream: Source, where: str = "") -> Iterator[bytes]:
    """Every record's payload, multi-part records joined. ``stream`` is a binary file or bytes.

    ``where`` (e.g. ``" in file /opt/ml/input/data/train/part-0"``) is added to error messages.
    """
    if isinstance(stream, bytes | bytearray | memoryview):
        yield from _join_parts(stream, where)
        return
    yield from _join_parts(_read_framed(stream, where), where)


def _read_framed(stream: BinaryIO, where: str) -> bytes:
    """A stream read whole: the batch readers need it in memory anyway, and it keeps one parser."""
    data = stream.read()
    if not isinstance(data, bytes | bytearray):
        raise DataFormatError(f"RecordIO data{where} must be read from a binary stream.")
    return bytes(data)


def frame(payload: bytes, *, split: bool = False) -> bytes:
    """One record framed; with ``split`` the way dmlc writes it (aligned magic words become part breaks)."""
    cuts: list[int] = []
    if split:
        view = memoryview(payload)
        pos = payload.find(MAGIC_BYTES)
        while pos != -1:
            if pos % 4 == 0 and view[pos : pos + 4] == MAGIC_BYTES:
                cuts.append(pos)
            pos = payload.find(MAGIC_BYTES, pos + 1)
    if not cuts:
        if len(payload) > _LENGTH_MASK:
            raise DataFormatError("A RecordIO record must be smaller than 2**29 bytes.")
        return b"".join((_HEADER.pack(MAGIC, len(payload)), payload, _PADDING[len(payload) % 4]))
    out = []
    begin = 0
    for index, cut in enumerate(cuts):
        out += [_HEADER.pack(MAGIC, (cut - begin) | ((1 if index == 0 else 2) << 29)), payload[begin:cut]]
        begin = cut + 4
    rest = payload[begin:]
    out += [_HEADER.pack(MAGIC, len(rest) | (3 << 29)), rest, _PADDING[len(rest) % 4]]
    return b"".join(out)


def write_record(stream: BinaryIO, payload: bytes, *, split: bool = False) -> int:
    """Append one framed record to ``stream``; returns the bytes written."""
    data = frame(payload, split=split)
    stream.write(data)
    return len(data)
