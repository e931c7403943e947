"""Property-based fuzzing: correctly signed requests with random bodies, paths, queries and headers,
for every protocol, never make the server answer 5xx (a 5xx is a bug; clients retry it)."""

from __future__ import annotations

import json
from urllib.parse import quote

from botocore.session import get_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rawhttp import send

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

_sagemaker_ops = sorted(get_session().get_service_model("sagemaker").operation_names)
_logs_ops = sorted(get_session().get_service_model("logs").operation_names)
_iam_ops = sorted(get_session().get_service_model("iam").operation_names)
_sts_ops = sorted(get_session().get_service_model("sts").operation_names)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
member_names = st.sampled_from(
    ["TrainingJobName", "RoleArn", "logGroupName", "logStreamName", "MaxResults", "NextToken", "Tags",
     "HyperParameters", "logEvents", "limit", "startTime", "Bucket", "Key", "EndpointName", "SortBy"]
)
json_bodies = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(member_names | st.text(max_size=10), json_values, max_size=6).map(lambda d: json.dumps(d).encode()),
)


def _assert_client_error(reply, what: str) -> None:
    assert reply.status < 500, f"{what} -> {reply.status}: {reply.text[:500]}"


@FUZZ
@given(operation=st.sampled_from(_sagemaker_ops + _logs_ops), body=json_bodies)
def test_json_protocol_never_500s(server, operation: str, body: bytes) -> None:
    service, prefix = ("logs", "Logs_20140328") if operation in _logs_ops and operation not in _sagemaker_ops else ("sagemaker", "SageMaker")
    reply = send(
        server.endpoint,
        "POST",
        "/",
        body=body,
        headers={"X-Amz-Target": f"{prefix}.{operation}", "Content-Type": "application/x-amz-json-1.1"},
        sign=(server.access_key, server.secret_key),
        service=service,
    )
    _assert_client_error(reply, f"{prefix}.{operation} {body[:80]!r}")


query_params = st.dictionaries(
    st.sampled_from(["RoleName", "UserName", "RoleArn", "RoleSessionName", "DurationSeconds", "MaxItems", "Marker",
                     "AssumeRolePolicyDocument", "PolicyArn", "PolicyName", "PolicyDocument", "AccessKeyId",
                     "Status", "Tags.member.1.Key", "Tags.member.1.Value", "PathPrefix"])
    | st.text(min_size=1, max_size=12),
    st.text(max_size=40),
    max_size=6,
)


@FUZZ
@given(operation=st.sampled_from(_iam_ops + _sts_ops), params=query_params)
def test_query_protocol_never_500s(server, operation: str, params: dict) -> None:
    service, version = ("sts", "2011-06-15") if operation in _sts_ops else ("iam", "2010-05-08")
    form = {"Action": operation, "Version": version, **params}
    body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in form.items()).encode()
    reply = send(
        server.endpoint,
        "POST",
        "/",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=(server.access_key, server.secret_key),
        service=service,
    )
    _assert_client_error(reply, f"{service} {operation} {form}")


s3_subresources = st.sampled_from(
    ["", "versioning", "uploads", "delete", "location", "list-type=2", "versions", "uploadId=x&partNumber=1",
     "uploadId=nope", "partNumber=0", "max-keys=-1", "max-keys=abc", "prefix=%FF", "delimiter=&encoding-type=url",
     "continuation-token=%%%", "start-after=zz", "acl", "tagging", "policy", "x-id=GetObject"]
)
s3_paths = st.one_of(
    st.just("/"),
    st.just("/fuzz-bucket"),
    st.just("/fuzz-bucket/"),
    st.text(min_size=1, max_size=30).map(lambda k: "/fuzz-bucket/" + quote(k, safe="/")),
    st.text(min_size=1, max_size=20).map(lambda b: "/" + quote(b, safe="")),
)
s3_headers = st.dictionaries(
    st.sampled_from(["Range", "If-Match", "If-None-Match", "If-Modified-Since", "Content-MD5", "x-amz-copy-source",
                     "x-amz-copy-source-range", "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm",
                     "x-amz-meta-a", "Content-Type", "x-amz-metadata-directive", "x-amz-checksum-mode",
                     "x-amz-checksum-sha256", "x-amz-bypass-governance-retention"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    max_size=4,
)


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
    path=s3_paths,
    subresource=s3_subresources,
    headers=s3_headers,
    body=st.binary(max_size=300) | st.sampled_from([b"<Delete><Object><Key>a</Key></Object></Delete>", b"<x>", b"<?xml version='1.0'?><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"]),
)
def test_rest_xml_protocol_never_500s(server, s3, method: str, path: str, subresource: str, headers: dict, body: bytes) -> None:
    try:
        s3.create_bucket(Bucket="fuzz-bucket")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    target = path + (f"?{subresource}" if subresource else "")
    reply = send(server.endpoint, method, target, body=body, headers=headers, sign=(server.access_key, server.secret_key))
    _assert_client_error(reply, f"{method} {target} {headers}")


@FUZZ
@given(
    name=st.text(min_size=1, max_size=70).map(lambda n: quote(n, safe="")),
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(["Content-Type", "Accept", "X-Amzn-SageMaker-Target-Variant", "X-Amzn-SageMaker-Custom-Attributes",
                         "X-Amzn-SageMaker-Inference-Id", "X-Amzn-SageMaker-Target-Container-Hostname"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
        max_size=3,
    ),
)
def test_rest_json_protocol_never_500s(server, name: str, body: bytes, headers: dict) -> None:
    reply = send(
        server.endpoint,
        "POST",
        f"/endpoints/{name}/invocations",
        body=body,
        headers=headers,
        sign=(server.access_key, server.secret_key),
        service="sagemaker",
    )
    _assert_client_error(reply, f"invoke {name} {headers}")


@FUZZ
@given(
    body=st.binary(max_size=200),
    target=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
    auth=st.sampled_from(["AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential=AKIA/2026/us-east-1/s3/aws4_request, ", "AWS "])
    | st.just(""),
    rest=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
)
def test_garbage_authentication_never_500s(server, body: bytes, target: str, auth: str, rest: str) -> None:
    headers = {"Authorization": (auth + rest).strip() or "x"}
    if target:
        headers["X-Amz-Target"] = target
    reply = send(server.endpoint, "POST", "/", body=body, headers=headers)
    _assert_client_error(reply, f"auth {auth!r} target {target!r}")
