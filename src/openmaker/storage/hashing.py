"""Incremental checksums of S3's flexible-checksum algorithms, kept inside storage.

Values are what S3 returns: base64 of the big-endian digest. CRC32C uses the ``crc32c`` package
(hardware accelerated); CRC64NVME has a table-driven pure-Python fallback because no package here
provides it, which is slow (a few MB/s) but only used when a client asks for it.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

import crc32c as _crc32c

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


class Hasher(Protocol):
    def update(self, data: bytes) -> None: ...
    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class _Crc32c:
    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes) -> None:
        self._crc = _crc32c.crc32c(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


def _crc64_table() -> list[int]:
    poly = 0x9A6C9329AC4BC9B5  # reflected CRC-64/NVME polynomial
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE: list[int] | None = None


class _Crc64Nvme:
    def __init__(self) -> None:
        global _CRC64_TABLE
        if _CRC64_TABLE is None:
            _CRC64_TABLE = _crc64_table()
        self._table = _CRC64_TABLE
        self._crc = 0xFFFFFFFFFFFFFFFF

    def update(self, data: bytes) -> None:
        crc, table = self._crc, self._table
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def digest(self) -> bytes:
        return (self._crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def new_hasher(algorithm: str) -> Hasher:
    """A fresh incremental hasher for ``algorithm`` (upper-case S3 name)."""
    algorithm = algorithm.upper()
    if algorithm == "CRC32":
        return _Crc32()
    if algorithm == "CRC32C":
        return _Crc32c()
    if algorithm == "CRC64NVME":
        return _Crc64Nvme()
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "SHA256":
        return hashlib.sha256()
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def checksum_of(algorithm: str, data: bytes) -> str:
    """The S3 checksum value (base64) of ``data``."""
    h = new_hasher(algorithm)
    h.update(data)
    return b64(h.digest())


def composite_checksum(algorithm: str, part_values: list[str]) -> str:
    """S3's COMPOSITE multipart checksum: the checksum of the binary part checksums, then ``-N``."""
    h = new_hasher(algorithm)
    for value in part_values:
        h.update(base64.b64decode(value))
    return f"{b64(h.digest())}-{len(part_values)}"
