"""Incremental checksums of S3's flexible-checksum algorithms.

Values are what S3 returns: base64 of the big-endian digest. CRC32 comes from ``zlib``; CRC32C and
CRC64NVME from ``anycrc`` (a small C extension, zlib licence), because a pure-Python CRC would
dominate a large upload.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

import anycrc

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


_CRC32C = anycrc.Model("CRC32C")
_CRC64NVME = anycrc.Model("CRC64-NVME")


class _AnyCrc:
    def __init__(self, model: anycrc.Model, width: int) -> None:
        self._model = model
        self._width = width
        self._crc = 0

    def update(self, data: bytes) -> None:
        self._crc = self._model.calc(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(self._width, "big")


def new_hasher(algorithm: str) -> Hasher:
    """A fresh incremental hasher for ``algorithm`` (upper-case S3 name)."""
    algorithm = algorithm.upper()
    if algorithm == "CRC32":
        return _Crc32()
    if algorithm == "CRC32C":
        return _AnyCrc(_CRC32C, 4)
    if algorithm == "CRC64NVME":
        return _AnyCrc(_CRC64NVME, 8)
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
