"""Who signed a request: SigV4/SigV2 verification against the server's known credentials.

Glue between the gateway and :mod:`sigv4`/:mod:`chunked`: non-S3 bodies are small and buffered to
hash them; S3 bodies stay streaming and are checked as they flow (aws-chunked signatures, the
``x-amz-content-sha256`` digest).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from openmaker.aws import chunked, sigv4, specs
from openmaker.aws.context import Principal
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.streams import RequestBody

if TYPE_CHECKING:
    from openmaker.aws.dispatch import Gateway


def parse(request: HttpRequest) -> tuple[sigv4.AuthInfo | None, sigv4.MalformedAuth | None]:
    """The signature a request claims, or why its signature could not be read (answered once the
    service, and so the error's dialect, is known)."""
    try:
        return sigv4.parse_auth(request), None
    except sigv4.MalformedAuth as error:
        return None, error


def kind(service: str, protocol: str | None = None) -> sigv4.ServiceKind:
    """The error family of ``service`` as reached by ``protocol`` (default: the model's protocol)."""
    return sigv4.kind_for_protocol(protocol or specs.protocol(service), service)


async def authenticate(
    gateway: Gateway,
    request: HttpRequest,
    service: str,
    info: sigv4.AuthInfo | None,
    protocol: str | None = None,
) -> tuple[Principal | None, str | None]:
    """Verify the signature (unless the server is insecure) and return the signer and its region."""
    service_kind = kind(service, protocol)
    credential = gateway.lookup(info.access_key_id) if info else None
    region = info.region if info and info.region else None
    if gateway.insecure:
        if service_kind == "s3":
            _wrap_s3_body(request, None)
        return (credential.principal if credential else gateway.default_principal), region
    if info is None:
        raise sigv4.missing_authentication(service_kind)
    if credential is None:
        raise sigv4.invalid_access_key(service_kind, info.access_key_id)
    if credential.session_token is not None or info.session_token is not None:
        _check_session(service_kind, credential.session_token, info.session_token, credential.expiration)
    if service_kind == "s3":
        signing = sigv4.verify(request, info, credential.secret_access_key, service_kind=service_kind)
        _wrap_s3_body(request, signing)
    else:
        body = await request.body.read()
        request.body = RequestBody(_Once(body), len(body))  # as RequestBody.from_bytes, more cheaply
        sigv4.verify(
            request,
            info,
            credential.secret_access_key,
            service_kind=service_kind,
            payload_hash=hashlib.sha256(body).hexdigest(),
        )
    return credential.principal, region


def _wrap_s3_body(request: HttpRequest, signing: sigv4.SigningContext | None) -> None:
    """Decode aws-chunked framing and check digests and lengths as the body streams."""
    request.body = chunked.wrap_s3_body(request, signing)
    encoding = request.headers.get("content-encoding")
    if encoding:
        kept = chunked.strip_aws_chunked(encoding)
        if kept:
            request.headers["content-encoding"] = kept
        else:
            del request.headers["content-encoding"]


def _check_session(kind: str, expected: str | None, sent: str | None, expiration: datetime | None) -> None:
    if expected != sent:
        if kind == "s3":
            raise AwsError("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)
        raise AwsError("UnrecognizedClientException", "The security token included in the request is invalid.", 403)
    if expiration is not None and expiration <= datetime.now(UTC):
        if kind == "s3":
            raise AwsError("ExpiredToken", "The provided token has expired.", 400)
        code = "ExpiredTokenException" if kind != "query" else "ExpiredToken"
        raise AwsError(code, "The security token included in the request is expired", 400 if kind != "query" else 403)


class _Once:
    """An async iterator over one chunk (no async generator for the event loop to track)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if data is None:
            raise StopAsyncIteration
        return data
