"""SigV4/SigV2 verification against requests signed by botocore itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from openmaker.aws import sigv4
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.streams import RequestBody

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://127.0.0.1:9000"


def to_http(method: str, url: str, headers, body: bytes | None = b"") -> HttpRequest:
    """What the server would see: raw path and query as sent, lower-case headers joined by ','."""
    parts = urlsplit(url)
    joined: dict[str, str] = {}
    for name, value in headers.items():
        text = value.decode() if isinstance(value, bytes) else str(value)
        name = name.lower()
        joined[name] = f"{joined[name]},{text}" if name in joined else text
    joined.setdefault("host", parts.netloc)
    data = body or b""
    return HttpRequest(method, parts.path or "/", parts.query, joined, RequestBody.from_bytes(data))


def from_prepared(prepared) -> HttpRequest:
    body = prepared.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return to_http(prepared.method, prepared.url, prepared.headers, body)


def capture(service: str, call, **client_kwargs) -> HttpRequest:
    """Run a boto3 call and return the signed request it would have sent."""
    session = boto3.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    client_kwargs.setdefault("endpoint_url", ENDPOINT)
    client = session.client(service, **client_kwargs)
    seen = []

    def before_send(request, **_):
        seen.append(from_prepared(request))
        return AWSResponse(request.url, 599, {}, None)

    client.meta.events.register("before-send", before_send)
    try:
        call(client)
    except Exception:
        pass  # the dummy response is not a valid answer; we only want the request
    assert seen, "boto3 sent nothing"
    return seen[0]


def body_hash(request: HttpRequest) -> str:
    import asyncio
    import hashlib

    return hashlib.sha256(asyncio.run(request.body.read())).hexdigest()


def check(
    request: HttpRequest, kind: sigv4.ServiceKind, *, secret: str = SECRET, now=None, payload_hash=None
):
    auth = sigv4.parse_auth(request)
    assert auth is not None
    if kind != "s3" and payload_hash is None:
        payload_hash = body_hash(request)
    return auth, sigv4.verify(request, auth, secret, service_kind=kind, payload_hash=payload_hash, now=now)


CALLS = [
    ("sagemaker", "json", lambda c: c.list_training_jobs(MaxResults=5, NameContains="a b")),
    ("logs", "json", lambda c: c.describe_log_groups(logGroupNamePrefix="/aws/sagemaker")),
    ("sts", "query", lambda c: c.get_caller_identity()),
    ("iam", "query", lambda c: c.list_users(PathPrefix="/a b+c=d~/")),
    ("s3", "s3", lambda c: c.put_object(Bucket="bkt", Key="dir/a b+c=d~ü.txt", Body=b"hello")),
    ("s3", "s3", lambda c: c.list_objects_v2(Bucket="bkt", Prefix="", Delimiter="/")),
    ("s3", "s3", lambda c: c.get_object(Bucket="bkt", Key="ключ/日本 (1)!*'.bin", Range="bytes=0-9")),
]


@pytest.mark.parametrize(("service", "kind", "call"), CALLS)
def test_botocore_requests_verify(service, kind, call):
    request = capture(service, call)
    auth, signing = check(request, kind)
    assert auth.service == ("monitoring" if service == "cloudwatch" else service)
    assert auth.access_key_id == KEY and auth.region == "us-east-1" and not auth.presigned
    assert signing is not None and signing.seed_signature == auth.signature


@pytest.mark.parametrize(("service", "kind", "call"), CALLS)
def test_wrong_secret_is_rejected_with_the_service_error(service, kind, call):
    request = capture(service, call)
    with pytest.raises(AwsError) as err:
        check(request, kind, secret=SECRET + "x")
    expected = {"s3": ("SignatureDoesNotMatch", 403), "json": ("InvalidSignatureException", 400)}
    assert (err.value.code, err.value.status) == expected.get(kind, ("SignatureDoesNotMatch", 403))
    assert "does not match the signature you provided" in err.value.message


def test_s3_mismatch_message_and_fields():
    request = capture("s3", lambda c: c.get_object(Bucket="b", Key="k"))
    request.raw_path = "/b/other"
    with pytest.raises(AwsError) as err:
        check(request, "s3")
    assert err.value.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    assert err.value.fields["AWSAccessKeyId"] == KEY
    assert "/b/other" in err.value.fields["CanonicalRequest"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: setattr(r, "raw_path", r.raw_path + "x"),
        lambda r: setattr(r, "method", "DELETE"),
        lambda r: setattr(r, "query_string", r.query_string + "&extra=1"),
        lambda r: r.headers.__setitem__("x-amz-date", r.headers["x-amz-date"][:-3] + "59Z"),
        lambda r: r.headers.__setitem__("host", "evil.example"),
        lambda r: r.headers.__setitem__("x-amz-content-sha256", "0" * 64),
    ],
)
def test_tampered_s3_request_fails(tamper):
    request = capture("s3", lambda c: c.list_objects_v2(Bucket="bkt", Prefix="p"))
    tamper(request)
    with pytest.raises(AwsError) as err:
        check(request, "s3")
    assert err.value.code == "SignatureDoesNotMatch"


def test_json_body_tamper_fails():
    request = capture("sagemaker", lambda c: c.describe_training_job(TrainingJobName="job"))
    with pytest.raises(AwsError) as err:
        check(request, "json", payload_hash=sigv4.EMPTY_SHA256)
    assert err.value.code == "InvalidSignatureException" and err.value.status == 400


def _signed(auth_cls, method, url, headers=None, data=b"", service="s3", **kw):
    creds = Credentials(KEY, SECRET, kw.pop("token", None))
    request = AWSRequest(method=method, url=url, data=data)
    for name, value in headers or []:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    auth_cls(creds, service, "eu-west-1", **kw).add_auth(request)
    return to_http(method, request.url, request.headers, data)


def test_query_with_empty_values_and_repeated_headers_json():
    request = _signed(
        SigV4Auth,
        "POST",
        f"{ENDPOINT}/a%20b/./c/../d?b=&a=1&a=0&flag&z=%2B%20~",
        headers=[("X-Custom", "one"), ("X-Custom", "two  three"), ("Content-Type", "application/json")],
        data=b"{}",
        service="sagemaker",
    )
    assert request.headers["x-custom"] == "one,two  three"
    auth, _ = check(request, "json")
    assert "x-custom" in auth.signed_headers


def test_session_token_is_reported():
    request = _signed(
        S3SigV4Auth,
        "GET",
        f"{ENDPOINT}/b/k",
        headers=[("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")],
        token="TOKEN",
    )
    auth, _ = check(request, "s3")
    assert auth.session_token == "TOKEN" and auth.region == "eu-west-1"


def test_s3_spec_encoded_path_is_accepted():
    """A client that sends %7E but signs '~' (the spec's form) still verifies."""
    request = _signed(
        S3SigV4Auth, "GET", f"{ENDPOINT}/b/a~b", headers=[("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")]
    )
    request.raw_path = "/b/a%7Eb"
    check(request, "s3")


def test_s3_requires_content_sha256_header():
    request = capture("s3", lambda c: c.get_object(Bucket="b", Key="k"))
    del request.headers["x-amz-content-sha256"]
    with pytest.raises(AwsError) as err:
        check(request, "s3")
    assert err.value.code == "InvalidRequest"


# ----------------------------------------------------------------- presigned


def presign(method: str, params: dict, expires=3600, config=None) -> str:
    session = boto3.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    client = session.client("s3", endpoint_url=ENDPOINT, config=config)
    return client.generate_presigned_url(method, Params=params, ExpiresIn=expires)


V4 = Config(signature_version="s3v4")
KEYS = ["plain.txt", "a b/ü+=~.txt", "x%y&z?=.bin", "日本/(1)!*'"]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("config", [None, V4], ids=["default", "s3v4"])
def test_presigned_get_and_put(key, config):
    for method, http_method, extra in [
        ("get_object", "GET", {"ResponseContentDisposition": "attachment; filename=x"}),
        ("put_object", "PUT", {"ContentType": "text/plain"}),
    ]:
        url = presign(method, {"Bucket": "bkt", "Key": key, **extra}, config=config)
        headers = {"content-type": "text/plain"} if http_method == "PUT" else {}
        request = to_http(http_method, url, headers)
        auth, _ = check(request, "s3")
        assert auth.presigned and auth.access_key_id == KEY
        assert auth.version == ("v4" if config else "v2")


def test_default_presign_is_sigv2_here():
    """botocore presigns S3 with SigV2 by default: make sure that stays covered."""
    url = presign("get_object", {"Bucket": "b", "Key": "k"})
    assert "AWSAccessKeyId=" in url and "Signature=" in url


@pytest.mark.parametrize("config", [None, V4], ids=["default", "s3v4"])
def test_presigned_tampered_and_expired(config):
    url = presign("get_object", {"Bucket": "bkt", "Key": "k"}, expires=60, config=config)
    request = to_http("GET", url, {})
    request.raw_path = "/bkt/other"
    with pytest.raises(AwsError) as err:
        check(request, "s3")
    assert err.value.code == "SignatureDoesNotMatch"

    request = to_http("GET", url, {})
    later = datetime.now(UTC) + timedelta(seconds=120)
    with pytest.raises(AwsError) as err:
        check(request, "s3", now=later)
    assert (err.value.code, err.value.status, err.value.message) == (
        "AccessDenied",
        403,
        "Request has expired",
    )
    assert "ServerTime" in err.value.fields and "Expires" in err.value.fields
    if config:
        assert err.value.fields["X-Amz-Expires"] == "60"


def test_presign_expires_over_a_week_is_malformed():
    url = presign("get_object", {"Bucket": "b", "Key": "k"}, config=V4).replace(
        "X-Amz-Expires=3600", "X-Amz-Expires=604801"
    )
    with pytest.raises(AwsError) as err:
        sigv4.parse_auth(to_http("GET", url, {}))
    assert err.value.code == "AuthorizationQueryParametersError"


def test_non_s3_presigned_query_auth():
    request = _signed(
        SigV4QueryAuth,
        "GET",
        f"{ENDPOINT}/?Action=GetCallerIdentity&Version=2011-06-15",
        service="sts",
        expires=300,
    )
    auth, _ = check(request, "query")
    assert auth.presigned and auth.service == "sts" and auth.expires == 300


# ----------------------------------------------------------------- time, keys, malformed


def test_clock_skew():
    request = capture("s3", lambda c: c.list_buckets())
    auth = sigv4.parse_auth(request)
    assert auth is not None and auth.amz_date is not None
    with pytest.raises(AwsError) as err:
        check(request, "s3", now=auth.amz_date + timedelta(minutes=16))
    assert (err.value.code, err.value.status) == ("RequestTimeTooSkewed", 403)
    assert err.value.fields["MaxAllowedSkewMilliseconds"] == "900000"
    check(request, "s3", now=auth.amz_date + timedelta(minutes=14))

    request = capture("sagemaker", lambda c: c.list_endpoints())
    auth = sigv4.parse_auth(request)
    assert auth is not None and auth.amz_date is not None
    with pytest.raises(AwsError) as err:
        check(request, "json", now=auth.amz_date + timedelta(minutes=16))
    assert err.value.code == "InvalidSignatureException" and err.value.message.startswith(
        "Signature expired: "
    )
    with pytest.raises(AwsError) as err:
        check(request, "json", now=auth.amz_date - timedelta(minutes=16))
    assert err.value.message.startswith("Signature not yet current: ")


def test_unsigned_request_and_error_helpers():
    request = to_http("GET", f"{ENDPOINT}/bkt/key?x=1", {})
    assert sigv4.parse_auth(request) is None
    assert (sigv4.missing_authentication("s3").code, sigv4.missing_authentication("s3").status) == (
        "AccessDenied",
        403,
    )
    assert sigv4.missing_authentication("json").code == "MissingAuthenticationTokenException"
    assert sigv4.missing_authentication("rest-json").status == 400
    assert sigv4.missing_authentication("query").message == "Request is missing Authentication Token"
    assert sigv4.invalid_access_key("s3").code == "InvalidAccessKeyId"
    assert sigv4.invalid_access_key("json").code == "UnrecognizedClientException"
    assert (sigv4.invalid_access_key("query").code, sigv4.invalid_access_key("query").status) == (
        "InvalidClientTokenId",
        403,
    )
    assert sigv4.kind_for_protocol("rest-xml", "s3") == "s3"
    assert sigv4.kind_for_protocol("json", "sagemaker") == "json"
    assert sigv4.kind_for_protocol("query", "sts") == "query"


@pytest.mark.parametrize(
    "header",
    [
        "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/s3/aws4_request, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID/2025/s3, SignedHeaders=host, Signature=abc",
        "Bearer xyz",
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc",
    ],
)
def test_malformed_authorization(header):
    request = to_http("GET", f"{ENDPOINT}/b", {"authorization": header, "x-amz-date": "20250101T000000Z"})
    with pytest.raises(sigv4.MalformedAuth) as err:
        sigv4.parse_auth(request)
    assert (err.value.code, err.value.status) == ("AuthorizationHeaderMalformed", 400)
    assert err.value.as_kind("json").code == "IncompleteSignatureException"


def test_malformed_json_guess():
    request = to_http(
        "POST",
        f"{ENDPOINT}/",
        {
            "authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/sagemaker/aws4_request",
            "x-amz-date": "20250101T000000Z",
            "x-amz-target": "SageMaker.ListEndpoints",
        },
    )
    with pytest.raises(AwsError) as err:
        sigv4.parse_auth(request)
    assert (err.value.code, err.value.status) == ("IncompleteSignatureException", 400)


def test_sigv2_header_auth():
    from botocore.auth import HmacV1Auth

    request = AWSRequest(method="PUT", url=f"{ENDPOINT}/bkt/a%20b?acl", data=b"x")
    request.headers["Content-Type"] = "text/plain"
    request.headers["x-amz-meta-Foo"] = "bar"
    HmacV1Auth(Credentials(KEY, SECRET)).add_auth(request)
    http = to_http("PUT", request.url, request.headers, b"x")
    auth = sigv4.parse_auth(http)
    assert auth is not None and auth.version == "v2"
    assert sigv4.verify(http, auth, SECRET, service_kind="s3") is None
    http.headers["x-amz-meta-foo"] = "baz"
    with pytest.raises(AwsError) as err:
        sigv4.verify(http, auth, SECRET, service_kind="s3")
    assert err.value.code == "SignatureDoesNotMatch"
