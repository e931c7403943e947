"""Request-body decoding for S3: aws-chunked framing, chunk signatures, trailers, length and hash guards.

Why streaming matters: S3 uploads can be gigabytes, so everything here is an async generator that
passes data through in the pieces it arrives in (sliced, never copied per byte, never buffered
whole). Only chunk header lines and trailers are buffered, and they are bounded in size.

Every check that can only be made at the end (a chunk's signature, the payload SHA-256, the
decoded length, the trailer signature) raises *before* the generator finishes, so a consumer that
commits only after its ``async for`` loop ends normally never commits a bad upload.

The dispatcher normally calls :func:`wrap_s3_body` once the signature is verified.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Literal

from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.sigv4 import EMPTY_SHA256, UNSIGNED_PAYLOAD, SigningContext
from openmaker.aws.streams import RequestBody

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MAX_LINE = 8192  # a chunk header or trailer line longer than this is not aws-chunked
MAX_TRAILER_BYTES = 16384

_S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


def incomplete_body(message: str = "The request body terminated unexpectedly") -> AwsError:
    return AwsError("IncompleteBody", message, 400)


def _bad_chunk(detail: str) -> AwsError:
    return AwsError("InvalidRequest", f"The aws-chunked request body is malformed: {detail}", 400)


def _chunk_mismatch() -> AwsError:
    return AwsError("SignatureDoesNotMatch", _S3_MISMATCH, 403)


def _chunk_string_to_sign(signing: SigningContext, previous: str, data_hash: str) -> bytes:
    return (
        f"AWS4-HMAC-SHA256-PAYLOAD\n{signing.amz_date}\n{signing.scope}\n{previous}\n"
        f"{EMPTY_SHA256}\n{data_hash}"
    ).encode()


def _trailer_string_to_sign(signing: SigningContext, previous: str, trailer_hash: str) -> bytes:
    return (
        f"AWS4-HMAC-SHA256-TRAILER\n{signing.amz_date}\n{signing.scope}\n{previous}\n{trailer_hash}".encode()
    )


_State = Literal["header", "data", "data-end", "trailer", "done"]


async def decode_aws_chunked(
    source: AsyncIterator[bytes],
    trailers: dict[str, str],
    *,
    signing: SigningContext | None = None,
    signed_trailer: bool = False,
    decoded_length: int | None = None,
) -> AsyncIterator[bytes]:
    """Yield the payload of an aws-chunked body; put trailing headers into ``trailers``.

    ``signing`` given → every chunk must carry ``chunk-signature`` chained from the request's
    signature (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``); None → chunks are unsigned
    (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``). ``signed_trailer`` → the trailer section must end
    with a valid ``x-amz-trailer-signature``. ``decoded_length`` is ``x-amz-decoded-content-length``.
    """
    state: _State = "header"
    pending = bytearray()  # an unfinished header/trailer line carried across reads
    remaining = 0  # bytes left in the current chunk's data
    total = 0
    previous = signing.seed_signature if signing else ""
    chunk_signature = ""
    hasher = None
    trailer_lines: list[tuple[str, str]] = []
    trailer_signature: str | None = None
    trailer_bytes = 0

    async for piece in source:
        size = len(piece)
        pos = 0
        while pos < size:
            if state == "data":
                take = min(remaining, size - pos)
                out = piece if take == size else piece[pos : pos + take]
                if hasher is not None:
                    hasher.update(out)
                remaining -= take
                pos += take
                total += take
                if decoded_length is not None and total > decoded_length:
                    raise _length_mismatch(decoded_length, total)
                yield out
                if remaining == 0:
                    state = "data-end"
                    if hasher is not None:
                        assert signing is not None
                        expected = _sign(
                            signing, _chunk_string_to_sign(signing, previous, hasher.hexdigest())
                        )
                        if not hmac.compare_digest(expected, chunk_signature):
                            raise _chunk_mismatch()
                        previous = chunk_signature
                continue
            if state == "done":
                break  # anything after the terminating line is ignored, like S3 does
            end = piece.find(b"\n", pos)
            if end < 0:
                pending += piece[pos:]
                if len(pending) > MAX_LINE:
                    raise _bad_chunk("a chunk header line is too long")
                break
            if pending:
                pending += piece[pos : end + 1]
                line = bytes(pending)
                pending.clear()
            else:
                line = piece[pos : end + 1]
            pos = end + 1
            if len(line) > MAX_LINE:
                raise _bad_chunk("a chunk header line is too long")
            text = line.rstrip(b"\r\n")
            if state == "data-end":
                if text:
                    raise _bad_chunk("chunk data is longer than its declared size")
                state = "header"
            elif state == "header":
                remaining, chunk_signature = _parse_chunk_header(text, signed=signing is not None)
                if remaining:
                    state = "data"
                    hasher = hashlib.sha256() if signing is not None else None
                else:
                    if signing is not None:
                        expected = _sign(signing, _chunk_string_to_sign(signing, previous, EMPTY_SHA256))
                        if not hmac.compare_digest(expected, chunk_signature):
                            raise _chunk_mismatch()
                        previous = chunk_signature
                    state = "trailer"
            else:  # trailer
                if not text:
                    state = "done"
                    continue
                trailer_bytes += len(line)
                if trailer_bytes > MAX_TRAILER_BYTES:
                    raise _bad_chunk("the trailer section is too long")
                name, sep, value = text.decode("latin-1").partition(":")
                if not sep:
                    raise _bad_chunk("a trailing header has no ':'")
                name, value = name.strip().lower(), value.strip()
                if name == "x-amz-trailer-signature":
                    trailer_signature = value
                else:
                    trailer_lines.append((name, value))

    if state == "trailer" and not pending:
        state = "done"  # some clients end the body right after the last trailer line
    if state != "done":
        raise incomplete_body()
    if signed_trailer:
        assert signing is not None
        canonical = "".join(f"{name}:{value}\n" for name, value in trailer_lines).encode()
        expected = _sign(
            signing, _trailer_string_to_sign(signing, previous, hashlib.sha256(canonical).hexdigest())
        )
        if trailer_signature is None or not hmac.compare_digest(expected, trailer_signature):
            raise _chunk_mismatch()
    if decoded_length is not None and total != decoded_length:
        raise _length_mismatch(decoded_length, total)
    trailers.update(trailer_lines)


def _sign(signing: SigningContext, string_to_sign: bytes) -> str:
    return hmac.new(signing.signing_key, string_to_sign, hashlib.sha256).hexdigest()


def _parse_chunk_header(text: bytes, *, signed: bool) -> tuple[int, str]:
    size_text, _, extension = text.partition(b";")
    try:
        if not size_text or len(size_text) > 16:
            raise ValueError
        size = int(size_text, 16)
    except ValueError:
        raise _bad_chunk(f"invalid chunk size {size_text[:32]!r}") from None
    signature = ""
    if extension:
        name, _, value = extension.partition(b"=")
        if name.strip() == b"chunk-signature":
            signature = value.strip().decode("ascii", "replace").lower()
    if signed and not signature:
        raise _chunk_mismatch()
    return size, signature


def _length_mismatch(declared: int, received: int) -> AwsError:
    if received < declared:
        return incomplete_body()
    return AwsError(
        "InvalidRequest",
        f"The decoded body is longer than x-amz-decoded-content-length ({declared} bytes).",
        400,
    )


async def limit_body(source: AsyncIterator[bytes], expected_length: int | None) -> AsyncIterator[bytes]:
    """Pass a plain body through; raise IncompleteBody if it ends before Content-Length bytes."""
    received = 0
    async for piece in source:
        received += len(piece)
        yield piece
        if expected_length is not None and received > expected_length:
            raise AwsError("InvalidRequest", "The request body is longer than its Content-Length.", 400)
    if expected_length is not None and received < expected_length:
        raise incomplete_body(
            "You did not provide the number of bytes specified by the Content-Length HTTP header"
        )


async def verify_sha256(source: AsyncIterator[bytes], expected_hex: str) -> AsyncIterator[bytes]:
    """Pass a body through while hashing it; raise S3's XAmzContentSHA256Mismatch at the end."""
    hasher = hashlib.sha256()
    async for piece in source:
        hasher.update(piece)
        yield piece
    computed = hasher.hexdigest()
    if not hmac.compare_digest(computed, expected_hex.lower()):
        raise AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
            ClientComputedContentSHA256=expected_hex,
            S3ComputedContentSHA256=computed,
        )


def strip_aws_chunked(content_encoding: str | None) -> str | None:
    """``Content-Encoding`` as the object should keep it: without the ``aws-chunked`` transport token."""
    if not content_encoding:
        return content_encoding
    kept = [p.strip() for p in content_encoding.split(",") if p.strip() and p.strip() != "aws-chunked"]
    return ",".join(kept) or None


def _is_hex_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


def _int_header(request: HttpRequest, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise AwsError("InvalidArgument", f"{name} must be a non-negative integer", 400) from None
    if number < 0:
        raise AwsError("InvalidArgument", f"{name} must be a non-negative integer", 400)
    return number


def wrap_s3_body(request: HttpRequest, signing: SigningContext | None) -> RequestBody:
    """The body an S3 handler should read: decoded, length-checked and hash-checked as it streams.

    Chooses by ``x-amz-content-sha256`` (and ``Content-Encoding: aws-chunked``): the streaming modes
    go through :func:`decode_aws_chunked`, a hex hash through :func:`verify_sha256`, and everything
    through a length guard. ``signing`` is what :func:`openmaker.aws.sigv4.verify` returned (None
    for unsigned/SigV2 requests). Trailers (``x-amz-checksum-*``) appear in ``body.trailers`` once
    the body has been read to the end.
    """
    content_sha = request.headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD)
    chunked = content_sha.startswith("STREAMING-") or "aws-chunked" in (
        request.headers.get("content-encoding", "")
    )
    raw: AsyncIterator[bytes] = aiter(request.body)
    if not chunked:
        length = _int_header(request, "content-length")
        stream = limit_body(raw, length)
        if _is_hex_sha256(content_sha):
            stream = verify_sha256(stream, content_sha)
        return RequestBody(stream, length)

    if content_sha in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER) and signing is None:
        raise AwsError("InvalidRequest", f"{content_sha} requires an AWS4-HMAC-SHA256 signed request", 400)
    if content_sha.startswith("STREAMING-") and content_sha not in (
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
        STREAMING_UNSIGNED_TRAILER,
    ):
        raise AwsError("NotImplemented", f"x-amz-content-sha256 {content_sha} is not supported", 501)
    decoded_length = _int_header(request, "x-amz-decoded-content-length")
    if _is_hex_sha256(content_sha):
        # A plain signed hash with aws-chunked framing covers the encoded bytes as sent.
        raw = verify_sha256(raw, content_sha)
    trailers: dict[str, str] = {}
    stream = decode_aws_chunked(
        raw,
        trailers,
        signing=signing if content_sha in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER) else None,
        signed_trailer=content_sha == STREAMING_SIGNED_TRAILER,
        decoded_length=decoded_length,
    )
    body = RequestBody(stream, decoded_length)
    body.trailers = trailers
    return body
