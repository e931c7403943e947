"""What every S3 handler shares: store errors → S3 errors, owners, ETags, checksums, conditions."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.handlers import handler
from openmaker.storage import errors
from openmaker.storage.hashing import ALGORITHMS
from openmaker.storage.objects import BlobWriter, ObjectInfo, ObjectStore

# botocore member name → S3 algorithm name, for the algorithms the store computes.
CHECKSUM_MEMBERS = {f"Checksum{a}": a for a in ALGORITHMS}
# Object headers kept with an object: botocore member names as in PutObject/GetObject.
STORED_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires",
                  "WebsiteRedirectLocation")


def store(ctx: RequestContext) -> ObjectStore:
    return ctx.app.objects


def to_aws(exc: errors.StorageError) -> AwsError:
    """A storage error as the S3 error of the same code."""
    headers: dict[str, str] = {}
    if isinstance(exc, errors.NoSuchKey) and exc.delete_marker:
        headers["x-amz-delete-marker"] = "true"
        if exc.version_id:
            headers["x-amz-version-id"] = exc.version_id
    fields = {k: v for k, v in exc.fields.items() if v is not None}
    return AwsError(exc.code, exc.message, exc.status, headers=headers, **fields)


def s3_handler(operation: str) -> Callable[[Callable], Callable]:
    """Register an S3 handler whose storage errors become S3 errors (sync or async alike)."""

    def wrap(fn: Callable) -> Callable:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(ctx: RequestContext, params: dict) -> Any:
                try:
                    return await fn(ctx, params)
                except errors.StorageError as exc:
                    raise to_aws(exc) from None

            return handler("s3", operation)(run_async)

        @functools.wraps(fn)
        def run(ctx: RequestContext, params: dict) -> Any:
            try:
                return fn(ctx, params)
            except errors.StorageError as exc:
                raise to_aws(exc) from None

        return handler("s3", operation)(run)

    return wrap


def owner(account_id: str | None) -> dict[str, str]:
    """S3's Owner element; the canonical id is derived from the account id (64 hex digits)."""
    account_id = account_id or "000000000000"
    return {"ID": hashlib.sha256(account_id.encode()).hexdigest(), "DisplayName": account_id}


def check_key(key: str) -> None:
    size = len(key.encode("utf-8"))
    if size > 1024:
        raise AwsError("KeyTooLongError", "Your key is too long", 400, Size=size, MaxSizeAllowed=1024)


def stored_headers(params: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in STORED_HEADERS:
        value = params.get(name)
        if value is not None:
            out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def version_of(info: ObjectInfo) -> str | None:
    """The VersionId to report: S3 leaves it out for objects of never-versioned buckets."""
    return info.version_id if info.version_id != "null" else None


def checksum_fields(info: ObjectInfo | None = None, *, algorithm: str | None = None,
                    value: str | None = None, with_type: bool = True) -> dict[str, str]:
    algorithm = algorithm or (info.checksum_algorithm if info else None)
    value = value or (info.checksum_value if info else None)
    if not algorithm or not value:
        return {}
    out = {f"Checksum{algorithm}": value}
    if with_type:
        out["ChecksumType"] = (info.checksum_type if info and info.checksum_type else "FULL_OBJECT")
    return out


# --- request checksums ---------------------------------------------------------------------------


class ChecksumPlan:
    """Which checksum a body carries: a header value now, a trailer value later, or only a request
    to compute one (``x-amz-sdk-checksum-algorithm``)."""

    def __init__(self, ctx: RequestContext, params: dict, default: str | None = None) -> None:
        given = [(CHECKSUM_MEMBERS[m], params[m]) for m in CHECKSUM_MEMBERS if params.get(m)]
        unsupported = [m for m, v in params.items() if m.startswith("Checksum") and v and m not in
                       CHECKSUM_MEMBERS and m not in ("ChecksumAlgorithm", "ChecksumType", "ChecksumMode")]
        if unsupported:
            raise AwsError("InvalidRequest", f"openmaker does not support {unsupported[0]} yet.", 400)
        if len(given) > 1:
            raise AwsError("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum "
                           "Types are not allowed.", 400)
        self.trailer: str | None = None
        self.expected: str | None = None
        self.algorithm: str | None = None
        trailer = ctx.request.headers.get("x-amz-trailer", "").strip().lower()
        if given:
            self.algorithm, self.expected = given[0]
        elif trailer.startswith("x-amz-checksum-"):
            self.algorithm = trailer[len("x-amz-checksum-"):].upper()
            self.trailer = trailer
        elif params.get("ChecksumAlgorithm"):
            self.algorithm = str(params["ChecksumAlgorithm"]).upper()
        else:
            self.algorithm = default
        if self.algorithm and self.algorithm not in ALGORITHMS:
            raise AwsError("InvalidRequest", f"openmaker does not support the {self.algorithm} checksum yet.", 400)
        if self.expected is not None:
            _check_format(self.algorithm, self.expected)

    def verify(self, body: Any, writer: BlobWriter) -> None:
        """After the body was consumed: compare what was sent with what was computed."""
        expected = self.expected
        if self.trailer:
            trailers = {k.lower(): v for k, v in (getattr(body, "trailers", None) or {}).items()}
            expected = trailers.get(self.trailer)
            if expected is None:
                return  # a declared trailer that never came: nothing to compare (S3 would reject)
            _check_format(self.algorithm, expected)
        if expected is not None and expected != writer.checksum_value:
            raise AwsError("BadDigest", f"The {self.algorithm} you specified did not match the calculated checksum.", 400)


_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def _check_format(algorithm: str | None, value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if algorithm and len(raw) != _SIZES[algorithm]:
        raise AwsError("InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.", 400)


def check_content_md5(params: dict, writer: BlobWriter) -> None:
    sent = params.get("ContentMD5")
    if not sent:
        return
    try:
        digest = base64.b64decode(sent, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    if digest != writer.md5_digest:
        raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400,
                       ExpectedDigest=sent, CalculatedDigest=base64.b64encode(writer.md5_digest).decode())


# --- conditions ----------------------------------------------------------------------------------


def _etag_matches(header: str, etag: str) -> bool:
    wanted = [t.strip() for t in header.split(",")]
    bare = etag.strip('"')
    return any(t == "*" or t.strip('"') == bare or t.removeprefix("W/").strip('"') == bare for t in wanted)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def evaluate_conditions(info: ObjectInfo, if_match: str | None, if_none_match: str | None,
                        if_modified_since: datetime | None, if_unmodified_since: datetime | None) -> int | None:
    """RFC 7232 as S3 applies it: 412, 304 or None (go ahead)."""
    modified = info.last_modified
    if if_match is not None:
        if not _etag_matches(if_match, info.etag):
            return 412
    elif if_unmodified_since is not None and modified > _aware(if_unmodified_since):
        return 412
    if if_none_match is not None:
        if _etag_matches(if_none_match, info.etag):
            return 304
    elif if_modified_since is not None and modified <= _aware(if_modified_since):
        return 304
    return None


def precondition_failed(condition: str) -> AwsError:
    return AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                    Condition=condition)


# --- copy sources --------------------------------------------------------------------------------


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """``x-amz-copy-source``: ``[/]bucket/key[?versionId=v]``, URL-encoded → (bucket, key, version)."""
    text = value
    version = None
    if "?" in text:
        text, _, query = text.partition("?")
        for part in query.split("&"):
            name, _, val = part.partition("=")
            if name == "versionId":
                version = unquote(val)
    text = unquote(text).lstrip("/")
    bucket, _, key = text.partition("/")
    if not bucket or not key:
        raise AwsError("InvalidArgument", "Invalid copy source object key", 400,
                       ArgumentName="x-amz-copy-source", ArgumentValue=value)
    return bucket, key, version


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single ``bytes=`` range → (start, end inclusive); None means the whole object.

    Syntax S3 ignores (several ranges, other units, junk) yields None; a well-formed range that
    starts past the end raises InvalidRange.
    """
    if not header:
        return None
    text = header.strip()
    if not text.startswith("bytes=") or "," in text:
        return None
    first, sep, last = text[6:].strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            if not last:
                return None
            n = int(last)
            if n == 0:
                raise _invalid_range(header, size)
            return (max(0, size - n), size - 1) if size else None
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if end < start:
        return None
    if start >= size:
        raise _invalid_range(header, size)
    return start, min(end, size - 1)


def _invalid_range(header: str, size: int) -> AwsError:
    return AwsError("InvalidRange", "The requested range is not satisfiable", 416, RangeRequested=header,
                    ActualObjectSize=size, headers={"content-range": f"bytes */{size}"})
