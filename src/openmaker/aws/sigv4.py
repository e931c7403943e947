"""AWS request authentication: parse and verify Signature Version 4 (and S3's legacy Version 2).

Why this lives in the generic layer: every AWS protocol signs the same way, and the differences that
matter are only three — how S3 builds the canonical path (as sent, not re-encoded), where S3 takes the
payload hash from (the ``x-amz-content-sha256`` header), and which error code/status each protocol
family answers with. ``ServiceKind`` captures that last difference:

* ``"s3"`` — REST-XML S3: ``SignatureDoesNotMatch`` 403, ``AccessDenied`` ...
* ``"json"`` / ``"rest-json"`` — ``InvalidSignatureException`` 400, ``UnrecognizedClientException`` ...
* ``"query"`` — query/ec2 (and non-S3 rest-xml) services: ``SignatureDoesNotMatch`` 403 ...

How the dispatcher uses this module::

    auth = parse_auth(request)                      # None → unsigned → missing_authentication(kind)
    # route with auth.service, look up the secret for auth.access_key_id
    # (unknown key → raise invalid_access_key(kind))
    signing = verify(request, auth, secret, service_kind=kind,
                     payload_hash=None if kind == "s3" else sha256(body).hexdigest())
    # S3: wrap the body with chunked.wrap_s3_body(request, signing)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Literal
from urllib.parse import quote, unquote

from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest

ServiceKind = Literal["s3", "json", "query", "rest-json"]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 604800  # one week, S3's limit for X-Amz-Expires
ISO_BASIC = "%Y%m%dT%H%M%SZ"

_S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_OTHER_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

# Sub-resources that take part in a SigV2 canonical resource (S3's documented list).
_V2_SUBRESOURCES = frozenset(
    [
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    ]
)


@dataclass(frozen=True)
class AuthInfo:
    """What a request claims about its signer, before anything is verified."""

    access_key_id: str
    signature: str
    presigned: bool = False
    version: Literal["v4", "v2"] = "v4"
    date: str = ""  # yyyymmdd from the credential scope
    region: str = ""
    service: str = ""  # the credential scope's service (the router's hint); "s3" for SigV2
    signed_headers: tuple[str, ...] = ()
    amz_date: datetime | None = None  # request time (v4); None for v2 presign
    amz_date_raw: str = ""  # exactly as sent, used verbatim in the string to sign
    expires: int | None = None  # v4 presign: X-Amz-Expires seconds; v2: Expires epoch seconds
    session_token: str | None = None

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SigningContext:
    """What a streaming (aws-chunked) body needs to verify its chunk signatures.

    ``seed_signature`` is the request's own signature; each chunk signs over the previous one.
    """

    signing_key: bytes
    seed_signature: str
    scope: str
    amz_date: str  # ISO basic, as in the request's string to sign


# --------------------------------------------------------------------------------------- errors


def kind_for_protocol(protocol: str, service: str) -> ServiceKind:
    """Map a botocore model's ``metadata.protocol`` to the error family its service uses."""
    if service == "s3":
        return "s3"
    if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
        return "json"
    return "query"


def _is_s3(kind: str) -> bool:
    return kind == "s3"


def _is_json(kind: str) -> bool:
    return kind in ("json", "rest-json")


def invalid_access_key(kind: ServiceKind, access_key_id: str = "") -> AwsError:
    """The access key in the signature is not known."""
    if _is_s3(kind):
        return AwsError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
            AWSAccessKeyId=access_key_id,
        )
    if _is_json(kind):
        return AwsError(
            "UnrecognizedClientException", "The security token included in the request is invalid.", 400
        )
    return AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)


def missing_authentication(kind: ServiceKind) -> AwsError:
    """The request carries no signature at all (S3 only answers this when anonymous access is denied)."""
    if _is_s3(kind):
        return AwsError("AccessDenied", "Access Denied", 403)
    if _is_json(kind):
        return AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
    return AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def signature_mismatch(kind: ServiceKind, **fields: object) -> AwsError:
    """The signature does not verify; S3 adds debugging fields (string to sign, canonical request)."""
    if _is_s3(kind):
        return AwsError("SignatureDoesNotMatch", _S3_MISMATCH, 403, **fields)
    if _is_json(kind):
        return AwsError("InvalidSignatureException", _OTHER_MISMATCH, 400)
    return AwsError("SignatureDoesNotMatch", _OTHER_MISMATCH, 403)


def malformed(kind: ServiceKind, message: str, *, presigned: bool = False) -> AwsError:
    """The signature information itself cannot be read."""
    if _is_s3(kind):
        if presigned:
            return AwsError("AuthorizationQueryParametersError", message, 400)
        return AwsError("AuthorizationHeaderMalformed", message, 400)
    if _is_json(kind):
        return AwsError("IncompleteSignatureException", message, 400)
    return AwsError("IncompleteSignature", message, 400)


class MalformedAuth(AwsError):
    """Raised by :func:`parse_auth` before the service is known.

    Its code is a guess (S3 unless the request looks like a JSON call); once the dispatcher knows the
    service it can answer ``exc.as_kind(kind)`` instead.
    """

    def __init__(self, kind: ServiceKind, reason: str, presigned: bool) -> None:
        base = malformed(kind, reason, presigned=presigned)
        super().__init__(base.code, base.message, base.status)
        self.reason = reason
        self.presigned = presigned

    def as_kind(self, kind: ServiceKind) -> AwsError:
        return malformed(kind, self.reason, presigned=self.presigned)


# --------------------------------------------------------------------------------------- parsing


def _guess_kind(request: HttpRequest, scope_service: str | None) -> ServiceKind:
    if scope_service == "s3":
        return "s3"
    if scope_service or "x-amz-target" in request.headers:
        return "json"
    return "s3"


def _parse_amz_date(raw: str) -> datetime | None:
    if len(raw) == 16 and raw[8] == "T" and raw[15] == "Z":
        # The form every SDK sends (yyyymmddThhmmssZ), read without strptime; anything odd about
        # it (a month 13, a non-digit) falls through to strptime, which decides as before.
        digits = raw[:8] + raw[9:15]
        if digits.isascii() and digits.isdigit():
            try:
                return datetime(
                    int(raw[:4]), int(raw[4:6]), int(raw[6:8]),
                    int(raw[9:11]), int(raw[11:13]), int(raw[13:15]), tzinfo=UTC,
                )  # fmt: skip
            except ValueError:
                pass
    try:
        return datetime.strptime(raw, ISO_BASIC).replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _split_credential(credential: str) -> list[str] | None:
    # The access key id never contains "/", so splitting from the right keeps odd keys intact.
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        return None
    return parts


def parse_auth(request: HttpRequest, service_kind: ServiceKind | None = None) -> AuthInfo | None:
    """Read the signature a request carries, or None when it carries none.

    Recognises SigV4 in the ``Authorization`` header and in presigned query parameters, and S3's
    SigV2 (``AWS key:sig`` header and ``AWSAccessKeyId``/``Signature``/``Expires`` query) — botocore
    still presigns S3 URLs with SigV2 by default in us-east-1. Nothing is verified here.
    """
    header = request.headers.get("authorization")
    if header is not None:
        return _parse_header(request, header.strip(), service_kind)
    query = request.query
    if "X-Amz-Algorithm" in query or "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        return _parse_presigned_v4(request, query, service_kind)
    if "AWSAccessKeyId" in query and "Signature" in query:
        return _parse_presigned_v2(request, query, service_kind)
    return None


def _parse_header(request: HttpRequest, header: str, kind: ServiceKind | None) -> AuthInfo:
    if header.startswith("AWS "):
        key, sep, signature = header[4:].strip().rpartition(":")
        if not sep or not key or not signature:
            raise MalformedAuth(kind or "s3", "The authorization header is malformed.", False)
        raw_date = request.headers.get("x-amz-date") or request.headers.get("date", "")
        return AuthInfo(
            access_key_id=key,
            signature=signature,
            version="v2",
            service="s3",
            amz_date=_parse_amz_date(raw_date) if raw_date else None,
            amz_date_raw=raw_date,
            session_token=request.headers.get("x-amz-security-token"),
        )
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        if algorithm.startswith("AWS4-"):
            reason = f"The authorization header is malformed; Unsupported algorithm {algorithm}."
        else:
            reason = "The authorization header is malformed; the authorization mechanism is not supported."
        raise MalformedAuth(kind or _guess_kind(request, None), reason, False)
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if eq:
            fields[name.strip()] = value.strip()
    credential = fields.get("Credential", "")
    scope = _split_credential(credential)
    kind = kind or _guess_kind(request, scope[3] if scope else None)
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise MalformedAuth(
            kind,
            "The authorization header is malformed; "
            + " ".join(f"Authorization header requires '{name}' parameter." for name in missing),
            False,
        )
    if scope is None:
        raise MalformedAuth(
            kind,
            f"The authorization header is malformed; the Credential is mal-formed; expecting "
            f'"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request". Credential={credential}',
            False,
        )
    raw_date = request.headers.get("x-amz-date") or request.headers.get("date", "")
    amz_date = _parse_amz_date(raw_date) if raw_date else None
    if amz_date is None:
        raise MalformedAuth(
            kind,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            False,
        )
    day = (
        f"{amz_date.year}{amz_date.month:02d}{amz_date.day:02d}"
        if amz_date.year >= 1000
        else amz_date.strftime("%Y%m%d")
    )
    if day != scope[1]:
        raise MalformedAuth(
            kind,
            "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.",
            False,
        )
    return AuthInfo(
        access_key_id=scope[0],
        signature=fields["Signature"],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        amz_date=amz_date,
        amz_date_raw=raw_date,
        session_token=request.headers.get("x-amz-security-token"),
    )


def _parse_presigned_v4(request: HttpRequest, query: dict[str, str], kind: ServiceKind | None) -> AuthInfo:
    scope = _split_credential(query.get("X-Amz-Credential", ""))
    kind = kind or _guess_kind(request, scope[3] if scope else None)
    required = (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
    )
    if any(not query.get(name) for name in required):
        raise MalformedAuth(
            kind,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            True,
        )
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise MalformedAuth(kind, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', True)
    if scope is None:
        raise MalformedAuth(
            kind,
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            True,
        )
    raw_date = query["X-Amz-Date"]
    amz_date = _parse_amz_date(raw_date) if len(raw_date) == 16 else None
    if amz_date is None:
        raise MalformedAuth(
            kind, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", True
        )
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise MalformedAuth(kind, "X-Amz-Expires should be a number", True) from None
    if expires < 0:
        raise MalformedAuth(kind, "X-Amz-Expires must be non-negative", True)
    if expires > MAX_PRESIGN_EXPIRES:
        raise MalformedAuth(
            kind,
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds",
            True,
        )
    return AuthInfo(
        access_key_id=scope[0],
        signature=query["X-Amz-Signature"],
        presigned=True,
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(query["X-Amz-SignedHeaders"].split(";")),
        amz_date=amz_date,
        amz_date_raw=raw_date,
        expires=expires,
        session_token=query.get("X-Amz-Security-Token"),
    )


def _parse_presigned_v2(request: HttpRequest, query: dict[str, str], kind: ServiceKind | None) -> AuthInfo:
    try:
        expires = int(query.get("Expires", ""))
    except ValueError:
        raise MalformedAuth(
            kind or "s3",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            True,
        ) from None
    return AuthInfo(
        access_key_id=query["AWSAccessKeyId"],
        # base64 may hold "+", which form decoding turns into a space when a client left it raw
        signature=query["Signature"].replace(" ", "+"),
        presigned=True,
        version="v2",
        service="s3",
        expires=expires,
        session_token=query.get("x-amz-security-token"),
    )


# --------------------------------------------------------------------------------------- canonical form


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """RFC 3986 encoding as SigV4 defines it: only ``A-Za-z0-9-_.~`` (and maybe ``/``) stay as they are."""
    return quote(value, safe="-_.~/" if keep_slash else "-_.~")


def _remove_dot_segments(path: str) -> str:
    """Normalise a non-S3 path the way SigV4 asks: drop ``.``/``..`` and empty segments."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    result = "/" + "/".join(out)
    if path.endswith("/") and out:
        result += "/"
    return result


def canonical_uris(raw_path: str, service_kind: ServiceKind) -> list[str]:
    return list(_canonical_uris(raw_path, service_kind))


@lru_cache(maxsize=1024)
def _canonical_uris(raw_path: str, service_kind: ServiceKind) -> tuple[str, ...]:
    """The canonical URI candidates, most likely first.

    S3 signs the path as the client sent it. Clients that encode differently from what they sign
    (``%7E`` vs ``~``) still sign the spec's form, so S3 also gets the decode-and-re-encode form as a
    second candidate (only tried when the first fails). Other services encode the sent path again.
    """
    path = raw_path or "/"
    if _is_s3(service_kind):
        spec = uri_encode(unquote(path), keep_slash=True)
        return (path,) if spec == path else (path, spec)
    return (quote(_remove_dot_segments(path), safe="/~"),)


def canonical_query(query_string: str, *, exclude: str | None = None) -> str:
    """Decode every parameter, encode it again per RFC 3986 and sort by name then value."""
    if not query_string:
        return ""
    pairs: list[tuple[str, str]] = []
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote(name)
        if name == exclude:
            continue
        pairs.append((uri_encode(name), uri_encode(unquote(value))))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _trim_all(value: str) -> str:
    return " ".join(value.split())


def canonical_headers(headers: dict[str, str], signed_headers: tuple[str, ...]) -> str:
    return "".join(f"{name}:{_trim_all(headers.get(name, ''))}\n" for name in signed_headers)


@lru_cache(maxsize=256)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key; cached, since one client signs every request of a day with the same one."""
    key = hmac.new(f"AWS4{secret_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------- verification


def _server_time(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(auth: AuthInfo, kind: ServiceKind, now: datetime) -> None:
    assert auth.amz_date is not None
    if auth.presigned:
        expires_at = auth.amz_date + timedelta(seconds=auth.expires or 0)
        if now > expires_at:
            if _is_s3(kind):
                raise AwsError(
                    "AccessDenied",
                    "Request has expired",
                    403,
                    **{"X-Amz-Expires": str(auth.expires), "Expires": _server_time(expires_at)},
                    ServerTime=_server_time(now),
                )
            raise _expired(kind, expires_at, now, presigned=True)
        if auth.amz_date - now > MAX_SKEW:
            if _is_s3(kind):
                raise AwsError("AccessDenied", "Request is not yet valid", 403)
            raise _not_yet_current(kind, auth, now)
        return
    if now - auth.amz_date > MAX_SKEW:
        if _is_s3(kind):
            raise _too_skewed(auth, now)
        raise _expired(kind, auth.amz_date, now, presigned=False)
    if auth.amz_date - now > MAX_SKEW:
        if _is_s3(kind):
            raise _too_skewed(auth, now)
        raise _not_yet_current(kind, auth, now)


def _too_skewed(auth: AuthInfo, now: datetime) -> AwsError:
    return AwsError(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        403,
        RequestTime=auth.amz_date_raw,
        ServerTime=_server_time(now),
        MaxAllowedSkewMilliseconds="900000",
    )


def _kind_error(kind: ServiceKind, message: str) -> AwsError:
    if _is_json(kind):
        return AwsError("InvalidSignatureException", message, 400)
    return AwsError("SignatureDoesNotMatch", message, 403)


def _expired(kind: ServiceKind, when: datetime, now: datetime, *, presigned: bool) -> AwsError:
    fmt = ISO_BASIC
    if presigned:
        return _kind_error(
            kind, f"Signature expired: {when.strftime(fmt)} is now earlier than {now.strftime(fmt)}"
        )
    limit = now - MAX_SKEW
    return _kind_error(
        kind,
        f"Signature expired: {when.strftime(fmt)} is now earlier than {limit.strftime(fmt)} "
        f"({now.strftime(fmt)} - 15 min.)",
    )


def _not_yet_current(kind: ServiceKind, auth: AuthInfo, now: datetime) -> AwsError:
    fmt = ISO_BASIC
    assert auth.amz_date is not None
    limit = now + MAX_SKEW
    return _kind_error(
        kind,
        f"Signature not yet current: {auth.amz_date.strftime(fmt)} is still later than "
        f"{limit.strftime(fmt)} ({now.strftime(fmt)} + 15 min.)",
    )


def s3_payload_hash(request: HttpRequest, auth: AuthInfo) -> str:
    """The payload hash S3 signs: the header's value, or UNSIGNED-PAYLOAD for presigned URLs."""
    if auth.presigned:
        if "X-Amz-Content-Sha256" in request.query:
            return request.query["X-Amz-Content-Sha256"]
        if "x-amz-content-sha256" in auth.signed_headers:
            return request.headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD)
        return UNSIGNED_PAYLOAD
    value = request.headers.get("x-amz-content-sha256")
    if value is None:
        raise AwsError(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400
        )
    return value


def verify(
    request: HttpRequest,
    auth: AuthInfo,
    secret_key: str,
    *,
    service_kind: ServiceKind,
    payload_hash: str | None = None,
    now: datetime | None = None,
) -> SigningContext | None:
    """Check the request's signature with the signer's secret key; raise the service's error if wrong.

    ``payload_hash``: leave None for S3 (taken from ``x-amz-content-sha256``, or UNSIGNED-PAYLOAD when
    presigned — the body itself is checked later while it streams); for every other service pass the
    hex SHA-256 of the (small, buffered) body. Returns the :class:`SigningContext` aws-chunked bodies
    need (None for SigV2).
    """
    now = now or datetime.now(UTC)
    if auth.version == "v2":
        _verify_v2(request, auth, secret_key, service_kind, now)
        return None
    _check_time(auth, service_kind, now)
    if payload_hash is None:
        payload_hash = s3_payload_hash(request, auth) if _is_s3(service_kind) else EMPTY_SHA256
    query = canonical_query(request.query_string, exclude="X-Amz-Signature" if auth.presigned else None)
    headers = canonical_headers(request.headers, auth.signed_headers)
    key = signing_key(secret_key, auth.date, auth.region, auth.service)
    first: tuple[str, str] | None = None
    method = request.method.upper()
    signed = ";".join(auth.signed_headers)
    scope = auth.scope
    provided = auth.signature.lower()
    for uri in _canonical_uris(request.raw_path, service_kind):
        canonical = f"{method}\n{uri}\n{query}\n{headers}\n{signed}\n{payload_hash}"
        string_to_sign = f"{ALGORITHM}\n{auth.amz_date_raw}\n{scope}\n{_sha256_hex(canonical)}"
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, provided):
            return SigningContext(key, provided, scope, auth.amz_date_raw)
        first = first or (canonical, string_to_sign)
    assert first is not None
    raise signature_mismatch(
        service_kind,
        AWSAccessKeyId=auth.access_key_id,
        StringToSign=first[1],
        SignatureProvided=auth.signature,
        CanonicalRequest=first[0],
    )


# --------------------------------------------------------------------------------------- SigV2 (S3)


def _v2_string_to_sign(request: HttpRequest, auth: AuthInfo) -> str:
    query = request.query
    headers = request.headers

    def standard(name: str) -> str:
        value = headers.get(name)
        if value is None and auth.presigned:
            value = query.get(name)
        return (value or "").strip()

    if auth.presigned:
        date = str(auth.expires)
    else:
        date = "" if "x-amz-date" in headers else headers.get("date", "").strip()
    amz: dict[str, str] = {}
    for name, value in headers.items():
        if name.startswith("x-amz-"):
            amz[name] = ",".join(v.strip() for v in value.split(","))
    if auth.presigned:
        for name, value in request.query_list:
            lower = name.lower()
            if lower.startswith("x-amz-") and lower not in amz:
                amz[lower] = value.strip()
    lines = [request.method.upper(), standard("content-md5"), standard("content-type"), date]
    lines += [f"{name}:{amz[name]}" for name in sorted(amz)]
    resource = request.raw_path or "/"
    subresources = []
    for part in request.query_string.split("&"):
        name, eq, value = part.partition("=")
        if name in _V2_SUBRESOURCES:
            subresources.append((name, f"{name}={unquote(value)}" if eq else name))
    if subresources:
        subresources.sort(key=lambda item: item[0])
        resource += "?" + "&".join(text for _, text in subresources)
    lines.append(resource)
    return "\n".join(lines)


def _verify_v2(
    request: HttpRequest, auth: AuthInfo, secret_key: str, kind: ServiceKind, now: datetime
) -> None:
    if auth.presigned:
        expires_at = datetime.fromtimestamp(auth.expires or 0, UTC)
        if now > expires_at:
            raise AwsError(
                "AccessDenied",
                "Request has expired",
                403,
                Expires=_server_time(expires_at),
                ServerTime=_server_time(now),
            )
    elif auth.amz_date is None:
        raise AwsError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)
    elif abs(now - auth.amz_date) > MAX_SKEW:
        raise _too_skewed(auth, now)
    string_to_sign = _v2_string_to_sign(request, auth)
    digest = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode("ascii")
    if not hmac.compare_digest(expected, auth.signature):
        raise signature_mismatch(
            kind,
            AWSAccessKeyId=auth.access_key_id,
            StringToSign=string_to_sign,
            SignatureProvided=auth.signature,
        )
