"""Incremental checksums by S3 algorithm name, digested the way S3 prints them (base64, big-endian).

Why a module of its own: S3 verifies ``x-amz-checksum-*`` headers and trailers and ``Content-MD5``
while the body streams, and reports them back on GetObject/HeadObject. CRC32 comes from ``zlib``;
CRC32C and CRC64NVME come from ``anycrc`` (a small C extension, zlib licence), because pure-Python
CRCs would dominate a large upload. Self-contained on purpose (see the project notes on dedupe).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

import anycrc

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
"""The algorithms S3 accepts in ``x-amz-checksum-algorithm`` / ``x-amz-sdk-checksum-algorithm``."""

_CRC32C = anycrc.Model("CRC32C")
_CRC64NVME = anycrc.Model("CRC64-NVME")
_CRC32 = anycrc.Model("CRC32")  # only for combine(); zlib is used for streaming


class Checksum(Protocol):
    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """A CRC kept as an int; ``width`` bytes of big-endian digest."""

    def __init__(self, width: int) -> None:
        self.value = 0
        self.width = width

    def digest(self) -> bytes:
        return self.value.to_bytes(self.width, "big")


class Crc32(_Crc):
    def __init__(self) -> None:
        super().__init__(4)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.value = zlib.crc32(data, self.value)


class Crc32C(_Crc):
    def __init__(self) -> None:
        super().__init__(4)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.value = _CRC32C.calc(data, self.value)


class Crc64Nvme(_Crc):
    def __init__(self) -> None:
        super().__init__(8)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.value = _CRC64NVME.calc(data, self.value)


def _normalise(algorithm: str) -> str:
    return algorithm.upper().replace("-", "").replace("_", "")


def new_checksum(algorithm: str) -> Checksum:
    """A fresh hasher for ``CRC32``, ``CRC32C``, ``CRC64NVME``, ``SHA1``, ``SHA256`` or ``MD5``.

    Raises ValueError for anything else (the caller turns it into the service's error).
    """
    name = _normalise(algorithm)
    if name == "CRC32":
        return Crc32()
    if name == "CRC32C":
        return Crc32C()
    if name == "CRC64NVME":
        return Crc64Nvme()
    if name in ("SHA1", "SHA256", "MD5"):
        return hashlib.new(name.lower())
    raise ValueError(f"unsupported checksum algorithm: {algorithm}")


def b64digest(checksum: Checksum) -> str:
    """The digest as S3 writes it in headers and XML."""
    return base64.b64encode(checksum.digest()).decode("ascii")


def checksum_of(algorithm: str, data: bytes | bytearray | memoryview) -> str:
    """One-shot base64 checksum of a buffer."""
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return b64digest(checksum)


def header_name(algorithm: str) -> str:
    """``CRC32`` → ``x-amz-checksum-crc32`` (the header and trailer name S3 uses)."""
    name = _normalise(algorithm)
    if name not in ALGORITHMS:
        raise ValueError(f"unsupported checksum algorithm: {algorithm}")
    return f"x-amz-checksum-{name.lower()}"


def algorithm_of_header(name: str) -> str | None:
    """``x-amz-checksum-crc32c`` → ``CRC32C``; None for headers that are not checksum values."""
    lower = name.lower()
    if not lower.startswith("x-amz-checksum-"):
        return None
    algorithm = lower.removeprefix("x-amz-checksum-").upper()
    return algorithm if algorithm in ALGORITHMS else None


def combine_crc(algorithm: str, first_b64: str, second_b64: str, second_length: int) -> str:
    """The CRC of two concatenated parts from the parts' CRCs (S3's full-object multipart checksum)."""
    name = _normalise(algorithm)
    model = {"CRC32": _CRC32, "CRC32C": _CRC32C, "CRC64NVME": _CRC64NVME}.get(name)
    if model is None:
        raise ValueError(f"{algorithm} cannot be combined")
    width = 8 if name == "CRC64NVME" else 4
    first = int.from_bytes(base64.b64decode(first_b64), "big")
    second = int.from_bytes(base64.b64decode(second_b64), "big")
    combined = model.combine(first, second, second_length)
    return base64.b64encode(combined.to_bytes(width, "big")).decode("ascii")
