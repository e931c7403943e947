"""Streaming bodies: requests are read chunk by chunk, responses are sent chunk by chunk.

A handler receives a :class:`RequestBody` for a streaming blob member (S3 PutObject's ``Body``) and
may return a :class:`FileBody` or :class:`IterBody` as a streaming output member, so memory stays
flat whatever the object size.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1024 * 1024

Receive = Callable[[], Awaitable[bytes | None]]


class RequestBody:
    """The body of a request as an async iterator of byte chunks.

    ``source`` yields raw chunks; ``decoder`` (aws-chunked) may transform them. After the body has
    been consumed, ``trailers`` holds trailing headers (checksums sent after the payload).
    """

    def __init__(self, source: AsyncIterator[bytes], length: int | None = None) -> None:
        self._source = source
        self.length = length
        self.trailers: dict[str, str] = {}
        self.consumed = False
        self.received = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self.consumed:
            return
        async for chunk in self._source:
            if chunk:
                self.received += len(chunk)
                yield chunk
        self.consumed = True

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> RequestBody:
        async def gen() -> AsyncIterator[bytes]:
            yield data

        return cls(gen(), len(data))


@dataclass
class FileBody:
    """A response body read from a file region, in chunks."""

    path: Path | str
    offset: int = 0
    length: int | None = None
    on_close: Callable[[], None] | None = None

    def size(self) -> int:
        if self.length is not None:
            return self.length
        return os.path.getsize(self.path) - self.offset

    async def chunks(self) -> AsyncIterator[bytes]:
        remaining = self.size()
        try:
            with open(self.path, "rb", buffering=0) as f:
                if self.offset:
                    f.seek(self.offset)
                while remaining > 0:
                    data = f.read(min(CHUNK, remaining))
                    if not data:
                        break
                    remaining -= len(data)
                    yield data
        finally:
            if self.on_close:
                self.on_close()


@dataclass
class IterBody:
    """A response body produced by an async iterator (length known or not)."""

    iterator: AsyncIterator[bytes]
    length: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def size(self) -> int | None:
        return self.length

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self.iterator:
            yield chunk
