"""Splitting a transform job's input file into records, and records into request payloads.

Batch transform reads files of any size, so everything here streams: a splitter yields one record at
a time from a binary file object and never holds more than one record (plus a read buffer).

- ``Line``: one record per line. The record is the line *without* its terminator (``\\n`` or
  ``\\r\\n``) so filters and joins see clean text; :func:`payload` puts one ``\\n`` back after each.
- ``RecordIO``: MXNet/SageMaker RecordIO framing — ``uint32 magic 0xced7230a``, ``uint32 lrec``
  (upper 3 bits: continuation flag, lower 29: length), data, zero padding to 4 bytes. A record keeps
  its framing (the algorithms that take ``application/x-recordio*`` expect framed records), and the
  frames of a multi-part record (flags 1, 2…, 3) stay together as one record.
- ``TFRecord``: ``uint64 length``, ``uint32 masked crc32c(length)``, data, ``uint32 masked
  crc32c(data)``; both checksums are verified (a corrupt file must fail, not feed garbage to a
  model), and the framing is kept, as for RecordIO.
- ``None``: the whole file is one record.

:func:`batches` groups records into payloads: ``MultiRecord`` packs as many as fit in MaxPayloadInMB,
``SingleRecord`` sends one each. A single record larger than the limit is an error, as in SageMaker.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import anycrc

RECORDIO_MAGIC = 0xCED7230A
_RECORDIO_MAGIC_BYTES = struct.pack("<I", RECORDIO_MAGIC)
_LENGTH_MASK = (1 << 29) - 1
_TF_MASK_DELTA = 0xA282EAD8
_CRC32C = anycrc.Model("CRC32C")
_READ = 1024 * 1024
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")


class RecordError(Exception):
    """The input cannot be split (bad framing, a record over the payload limit)."""


def _exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise RecordError(f"the file ends inside a {what} ({len(data)} of {size} bytes)")
    return data


def split_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines without terminators. Blank lines are skipped (a trailing blank line is common and would
    reach the model as an empty CSV row); a last line without ``\\n`` still counts."""
    for line in stream:
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        if line:
            yield line


def split_recordio(stream: BinaryIO) -> Iterator[bytes]:
    """Framed RecordIO records; multi-part records are yielded whole (all their frames)."""
    parts: list[bytes] = []
    while True:
        header = stream.read(8)
        if not header:
            break
        if len(header) != 8:
            raise RecordError("the file ends inside a RecordIO header")
        magic, lrec = struct.unpack("<II", header)
        if magic != RECORDIO_MAGIC:
            raise RecordError(f"bad RecordIO magic number 0x{magic:08x} (expected 0x{RECORDIO_MAGIC:08x})")
        flag, length = lrec >> 29, lrec & _LENGTH_MASK
        padded = (length + 3) & ~3
        frame = header + _exact(stream, padded, "RecordIO record")
        if flag == 0:
            if parts:
                raise RecordError("a RecordIO record starts before the previous multi-part record ended")
            yield frame
        elif flag == 1:
            parts = [frame]
        elif flag == 2 and parts:
            parts.append(frame)
        elif flag == 3 and parts:
            parts.append(frame)
            yield b"".join(parts)
            parts = []
        else:
            raise RecordError(f"RecordIO continuation flag {flag} out of sequence")
    if parts:
        raise RecordError("the file ends inside a multi-part RecordIO record")


def _masked_crc(data: bytes) -> int:
    crc = _CRC32C.calc(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _TF_MASK_DELTA) & 0xFFFFFFFF


def split_tfrecord(stream: BinaryIO) -> Iterator[bytes]:
    """Framed TFRecord records, their length and data checksums verified."""
    while True:
        head = stream.read(12)
        if not head:
            return
        if len(head) != 12:
            raise RecordError("the file ends inside a TFRecord header")
        length_bytes, (length_crc,) = head[:8], struct.unpack("<I", head[8:])
        if _masked_crc(length_bytes) != length_crc:
            raise RecordError("TFRecord length checksum mismatch (corrupt or not a TFRecord file)")
        (length,) = struct.unpack("<Q", length_bytes)
        body = _exact(stream, length + 4, "TFRecord record")
        if _masked_crc(body[:length]) != struct.unpack("<I", body[length:])[0]:
            raise RecordError("TFRecord data checksum mismatch (corrupt record)")
        yield head + body


def split_whole(stream: BinaryIO, limit: int | None) -> Iterator[bytes]:
    """The whole file as one record (read up to the payload limit, never further)."""
    data = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise RecordError(f"the file is larger than MaxPayloadInMB ({limit // (1024 * 1024)} MB) allows")
    yield data


def split(stream: BinaryIO, split_type: str, limit: int | None) -> Iterator[bytes]:
    if split_type == "Line":
        return split_lines(stream)
    if split_type == "RecordIO":
        return split_recordio(stream)
    if split_type == "TFRecord":
        return split_tfrecord(stream)
    return split_whole(stream, limit)


def payload(records: list[bytes], split_type: str) -> bytes:
    """One request body: lines get their ``\\n`` back; framed records are concatenated."""
    if split_type == "Line":
        return b"\n".join(records) + b"\n" if records else b""
    return b"".join(records)


@dataclass
class Batch:
    """One request: its ``body`` (the records the model sees, after InputFilter), how many records
    it holds, and the original records (kept only when the output joins them)."""

    count: int
    inputs: list[bytes] | None
    body: bytes


def batches(
    records: Iterator[tuple[bytes, bytes]],
    split_type: str,
    strategy: str,
    limit: int | None,
    keep_inputs: bool,
) -> Iterator[Batch]:
    """Group ``(original, sent)`` record pairs into request payloads (see the module docstring)."""
    extra = 1 if split_type == "Line" else 0
    sent: list[bytes] = []
    inputs: list[bytes] = []
    size = 0
    for original, record in records:
        need = len(record) + extra
        if limit is not None and need > limit:
            raise RecordError(
                f"a record of {need} bytes is larger than MaxPayloadInMB ({limit // (1024 * 1024)} MB)"
            )
        if sent and (strategy == "SingleRecord" or (limit is not None and size + need > limit)):
            yield Batch(len(sent), inputs if keep_inputs else None, payload(sent, split_type))
            sent, inputs, size = [], [], 0
        sent.append(record)
        if keep_inputs:
            inputs.append(original)
        size += need
    if sent:
        yield Batch(len(sent), inputs if keep_inputs else None, payload(sent, split_type))


__all__ = ["SPLIT_TYPES", "Batch", "RecordError", "batches", "payload", "split"]
