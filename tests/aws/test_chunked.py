"""aws-chunked decoding, chunk and trailer signatures, length and hash guards."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from openmaker.aws import chunked, sigv4
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.streams import RequestBody
from openmaker.storage.hashing import checksum_of

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EMPTY = hashlib.sha256(b"").hexdigest()


class StreamingAuth(S3SigV4Auth):
    """botocore's S3 signer, signing the STREAMING-* payload hash we put in the header."""

    def payload(self, request):
        return request.context["streaming_mode"]


def pieces(data: bytes, size: int) -> RequestBody:
    async def gen():
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return RequestBody(gen())


def http(method, url, headers, data: bytes, piece: int = 65536) -> HttpRequest:
    parts = urlsplit(url)
    lower = {k.lower(): (v.decode() if isinstance(v, bytes) else str(v)) for k, v in headers.items()}
    lower.setdefault("host", parts.netloc)
    return HttpRequest(method, parts.path, parts.query, lower, pieces(data, piece))


def read(body: RequestBody) -> bytes:
    return asyncio.run(body.read())


def signed_streaming_request(
    payload_chunks: list[bytes], *, trailer: dict[str, str] | None = None, piece=65536
):
    """A PUT signed by botocore with a STREAMING-* content hash, and its body built per the AWS spec."""
    mode = chunked.STREAMING_SIGNED_TRAILER if trailer is not None else chunked.STREAMING_SIGNED
    total = sum(len(c) for c in payload_chunks)
    request = AWSRequest(method="PUT", url="http://127.0.0.1:9000/bkt/key", data=b"")
    request.context["streaming_mode"] = mode
    request.headers["Content-Encoding"] = "aws-chunked"
    request.headers["X-Amz-Decoded-Content-Length"] = str(total)
    if trailer:
        request.headers["X-Amz-Trailer"] = ",".join(trailer)
    StreamingAuth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == mode
    auth_header = request.headers["Authorization"]
    seed = auth_header.rsplit("Signature=", 1)[1]
    amz_date = request.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = sigv4.signing_key(SECRET, amz_date[:8], "us-east-1", "s3")

    def sign(text: str) -> str:
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    body = bytearray()
    previous = seed
    for data in [*payload_chunks, b""]:
        sig = sign(
            f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY}\n{hashlib.sha256(data).hexdigest()}"
        )
        body += f"{len(data):x};chunk-signature={sig}\r\n".encode() + data
        if data or trailer is None:
            body += b"\r\n"
        previous = sig
    if trailer is not None:
        canonical = "".join(f"{k}:{v}\n" for k, v in trailer.items())
        tsig = sign(
            f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        body += "".join(f"{k}:{v}\r\n" for k, v in trailer.items()).encode()
        body += f"x-amz-trailer-signature:{tsig}\r\n\r\n".encode()
    return request, bytes(body)


def verified_body(request: AWSRequest, body: bytes, piece: int) -> RequestBody:
    req = http("PUT", request.url, request.headers, body, piece)
    auth = sigv4.parse_auth(req)
    assert auth is not None
    signing = sigv4.verify(req, auth, SECRET, service_kind="s3")
    return chunked.wrap_s3_body(req, signing)


PAYLOAD = [os.urandom(65536), os.urandom(65536), os.urandom(1234)]


@pytest.mark.parametrize("piece", [1, 7, 65536, 1 << 20])
def test_signed_chunks_decode_in_any_piece_size(piece):
    chunks_ = PAYLOAD if piece > 1 else [PAYLOAD[0][:9000], PAYLOAD[2]]  # keep the 1-byte case quick
    request, body = signed_streaming_request(chunks_)
    decoded = verified_body(request, body, piece)
    assert read(decoded) == b"".join(chunks_)
    assert decoded.length == sum(map(len, chunks_))


@pytest.mark.parametrize("piece", [1, 7, 65536])
def test_signed_trailer(piece):
    data = [os.urandom(9000), os.urandom(10)]
    crc = checksum_of("CRC32", b"".join(data))
    request, body = signed_streaming_request(data, trailer={"x-amz-checksum-crc32": crc})
    decoded = verified_body(request, body, piece)
    assert read(decoded) == b"".join(data)
    assert decoded.trailers == {"x-amz-checksum-crc32": crc}


def test_tampered_trailer_fails():
    request, body = signed_streaming_request([b"abc" * 3000], trailer={"x-amz-checksum-crc32": "AAAAAA=="})
    body = body.replace(b"AAAAAA==", b"AAAAAB==")
    with pytest.raises(AwsError) as err:
        read(verified_body(request, body, 7))
    assert (err.value.code, err.value.status) == ("SignatureDoesNotMatch", 403)


def test_tampered_chunk_data_fails():
    request, body = signed_streaming_request(PAYLOAD)
    index = body.index(PAYLOAD[1][:32]) + 5
    body = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
    with pytest.raises(AwsError) as err:
        read(verified_body(request, body, 4096))
    assert (err.value.code, err.value.status) == ("SignatureDoesNotMatch", 403)


def test_reordered_chunks_fail():
    request, body = signed_streaming_request([b"a" * 8192, b"b" * 8192])
    first = body.index(b"2000;")
    second = body.index(b"2000;", first + 1)
    end = body.index(b"0;chunk")
    swapped = body[second:end] + body[first:second] + body[end:]
    with pytest.raises(AwsError) as err:
        read(verified_body(request, swapped, 65536))
    assert err.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("cut", [1, 10, 70000, -3])
def test_truncated_body(cut):
    request, body = signed_streaming_request(PAYLOAD)
    with pytest.raises(AwsError) as err:
        read(verified_body(request, body[:cut], 1000))
    assert (err.value.code, err.value.status) == ("IncompleteBody", 400)


def test_decoded_length_mismatch():
    request, body = signed_streaming_request([b"x" * 100])
    request.headers.replace_header("X-Amz-Decoded-Content-Length", "99")
    del request.headers["Authorization"]
    StreamingAuth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    with pytest.raises(AwsError):
        read(verified_body(request, body, 7))


def test_garbage_chunk_header():
    trailers: dict[str, str] = {}
    stream = chunked.decode_aws_chunked(aiter(pieces(b"zz\r\nabc", 3)), trailers)
    with pytest.raises(AwsError) as err:
        read(RequestBody(stream))
    assert err.value.status == 400


def test_unsigned_chunks_require_no_signature_and_reject_overlong_data():
    good = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:abc=\r\n\r\n"
    trailers: dict[str, str] = {}
    assert read(RequestBody(chunked.decode_aws_chunked(aiter(pieces(good, 2)), trailers))) == b"abc"
    assert trailers == {"x-amz-checksum-crc32c": "abc="}
    bad = b"3\r\nabcd\r\n0\r\n\r\n"
    with pytest.raises(AwsError):
        read(RequestBody(chunked.decode_aws_chunked(aiter(pieces(bad, 2)), {})))


def capture_https_put(body, algorithm="CRC32"):
    session = boto3.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    client = session.client(
        "s3",
        endpoint_url="https://127.0.0.1:9000",
        config=Config(request_checksum_calculation="when_supported"),
    )
    seen = []

    def before_send(request, **_):
        raw = request.body.read() if hasattr(request.body, "read") else b"".join(request.body)
        seen.append((request, raw))
        return AWSResponse(request.url, 599, {}, None)

    client.meta.events.register("before-send", before_send)
    try:
        client.put_object(Bucket="bkt", Key="k", Body=body, ChecksumAlgorithm=algorithm)
    except Exception:
        pass
    return seen[0]


@pytest.mark.parametrize("piece", [1, 7, 65536])
def test_botocore_unsigned_trailer_put(piece):
    data = os.urandom(3 * 1024 * 1024 + 17) if piece > 1 else b"hello world" * 100
    request, raw = capture_https_put(data)
    assert request.headers["X-Amz-Content-SHA256"] == chunked.STREAMING_UNSIGNED_TRAILER.encode()
    req = http("PUT", request.url, request.headers, raw, piece)
    auth = sigv4.parse_auth(req)
    assert auth is not None
    signing = sigv4.verify(req, auth, SECRET, service_kind="s3")
    body = chunked.wrap_s3_body(req, signing)
    assert read(body) == data
    assert body.trailers == {"x-amz-checksum-crc32": checksum_of("CRC32", data)}
    assert chunked.strip_aws_chunked(req.headers.get("content-encoding")) is None


def test_plain_body_guards():
    data = b"payload" * 1000
    digest = hashlib.sha256(data).hexdigest()
    ok = http(
        "PUT", "http://h/b/k", {"content-length": str(len(data)), "x-amz-content-sha256": digest}, data, 7
    )
    assert read(chunked.wrap_s3_body(ok, None)) == data

    short = http(
        "PUT",
        "http://h/b/k",
        {"content-length": str(len(data) + 5), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
        data,
        7,
    )
    with pytest.raises(AwsError) as err:
        read(chunked.wrap_s3_body(short, None))
    assert err.value.code == "IncompleteBody"

    wrong = http(
        "PUT", "http://h/b/k", {"content-length": str(len(data)), "x-amz-content-sha256": "0" * 64}, data, 7
    )
    with pytest.raises(AwsError) as err:
        read(chunked.wrap_s3_body(wrong, None))
    assert (err.value.code, err.value.status) == ("XAmzContentSHA256Mismatch", 400)
    assert err.value.fields["S3ComputedContentSHA256"] == digest


def test_strip_aws_chunked():
    assert chunked.strip_aws_chunked("gzip,aws-chunked") == "gzip"
    assert chunked.strip_aws_chunked("aws-chunked") is None
