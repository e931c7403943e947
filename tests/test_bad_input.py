"""Bad input of every kind gets the real service's 4xx error, never a 500, and stores nothing."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import botocore.exceptions
import pytest
import requests
from botocore.config import Config

from rawhttp import send

NO_VALIDATION = Config(parameter_validation=False, retries={"max_attempts": 1})


def _error(excinfo) -> tuple[str, int, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"], error.get("Message", "")


# --- authentication ------------------------------------------------------------------------------


def test_wrong_secret_is_refused_by_every_protocol(server) -> None:
    cases = [
        ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch", 403),
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch", 403),
        ("logs", lambda c: c.describe_log_groups(), "InvalidSignatureException", 400),
        ("sagemaker", lambda c: c.list_training_jobs(), "InvalidSignatureException", 400),
    ]
    for service, call, code, status in cases:
        client = server.client(service, aws_secret_access_key="x" * 40)
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(client)
        assert _error(excinfo)[:2] == (code, status), service


def test_unknown_access_key_is_refused_by_every_protocol(server) -> None:
    cases = [
        ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId", 403),
        ("iam", lambda c: c.list_roles(), "InvalidClientTokenId", 403),
        ("logs", lambda c: c.describe_log_groups(), "UnrecognizedClientException", 400),
    ]
    for service, call, code, status in cases:
        client = server.client(service, aws_access_key_id="AKIANOTAREALKEY00000")
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(client)
        assert _error(excinfo)[:2] == (code, status), service


def test_unsigned_requests_get_the_missing_authentication_answer(server) -> None:
    s3 = send(server.endpoint, "GET", "/")
    assert s3.status == 403 and b"<Code>AccessDenied</Code>" in s3.body
    rpc = send(
        server.endpoint,
        "POST",
        "/",
        body=b"{}",
        headers={"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert rpc.status == 400 and json.loads(rpc.body)["__type"] == "MissingAuthenticationTokenException"
    query = send(
        server.endpoint,
        "POST",
        "/",
        body=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert query.status == 403 and b"MissingAuthenticationToken" in query.body


def test_expired_presigned_url_is_refused(server, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1)
    assert requests.get(url, timeout=10).content == b"data"
    time.sleep(2.1)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content and b"expired" in response.content


def test_tampered_presigned_url_is_refused(server, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=60)
    response = requests.get(url.replace(f"/{bucket}/a?", f"/{bucket}/b?"), timeout=10)
    assert response.status_code == 403 and b"SignatureDoesNotMatch" in response.content


# --- malformed requests --------------------------------------------------------------------------


def test_missing_required_params_name_the_field(server) -> None:
    logs = server.client("logs", config=NO_VALIDATION)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        logs.create_log_group()
    code, status, message = _error(excinfo)
    assert (code, status) == ("InvalidParameterException", 400)
    assert "logGroupName" in message and "must not be null" in message
    iam = server.client("iam", config=NO_VALIDATION)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        iam.create_role(AssumeRolePolicyDocument="{}")
    code, status, message = _error(excinfo)
    assert (code, status) == ("ValidationError", 400) and "roleName" in message
    sagemaker = server.client("sagemaker", config=NO_VALIDATION)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sagemaker.create_training_job(TrainingJobName="bad name!")
    code, status, message = _error(excinfo)
    assert code == "ValidationException" and status == 400
    assert "trainingJobName" in message and "regular expression pattern" in message
    assert "roleArn" in message and "must not be null" in message


def test_wrong_types_are_client_errors(server) -> None:
    key, secret = server.access_key, server.secret_key
    reply = send(
        server.endpoint,
        "POST",
        "/",
        body=json.dumps({"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": "soon", "message": 5}]}).encode(),
        headers={"X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Type": "application/x-amz-json-1.1"},
        sign=(key, secret),
        service="logs",
    )
    assert reply.status == 400 and json.loads(reply.body)["__type"] == "SerializationException"
    sagemaker = server.client("sagemaker", config=NO_VALIDATION)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sagemaker.list_training_jobs(MaxResults=100000, SortBy="Sideways")
    code, _, message = _error(excinfo)
    assert code == "ValidationException" and "enum value set" in message and "less than or equal to 100" in message


def test_malformed_json_and_xml(server) -> None:
    key, secret = server.access_key, server.secret_key
    reply = send(
        server.endpoint,
        "POST",
        "/",
        body=b'{"logGroupName": ',
        headers={"X-Amz-Target": "Logs_20140328.CreateLogGroup", "Content-Type": "application/x-amz-json-1.1"},
        sign=(key, secret),
        service="logs",
    )
    assert reply.status == 400 and json.loads(reply.body)["__type"] == "SerializationException"
    reply = send(server.endpoint, "PUT", "/malformed-xml-bucket", body=b"<CreateBucketConfiguration><Loc", sign=(key, secret))
    assert reply.status == 400 and b"<Code>MalformedXML</Code>" in reply.body
    assert send(server.endpoint, "HEAD", "/malformed-xml-bucket", sign=(key, secret)).status == 404


def test_unknown_operations_are_4xx_in_the_services_format(server) -> None:
    key, secret = server.access_key, server.secret_key
    reply = send(
        server.endpoint,
        "POST",
        "/",
        body=b"{}",
        headers={"X-Amz-Target": "SageMaker.DoSomethingImpossible", "Content-Type": "application/x-amz-json-1.1"},
        sign=(key, secret),
        service="sagemaker",
    )
    assert reply.status == 400 and json.loads(reply.body)["__type"] == "UnknownOperationException"
    reply = send(
        server.endpoint,
        "POST",
        "/",
        body=b"Action=FlyToTheMoon&Version=2010-05-08",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        sign=(key, secret),
        service="iam",
    )
    assert reply.status == 400 and b"<Code>InvalidAction</Code>" in reply.body
    # A real S3 operation openmaker does not implement yet: a clear 4xx, not a 500.
    reply = send(server.endpoint, "GET", "/some-bucket?policy", sign=(key, secret))
    assert 400 <= reply.status < 500 and b"<Code>NotImplemented</Code>" in reply.body


def test_keys_that_look_like_paths_stay_inside_the_bucket(server, s3, bucket) -> None:
    sneaky = ["../../../../etc/openmaker-escape", "/abs/path", "a/../../b", "..", "nul\x00byte" if False else "tab\tkey"]
    for key in sneaky:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in sneaky:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(sneaky)
    assert not any((server.home.parent / name).exists() for name in ("etc", "abs", "b"))


def test_oversized_key_is_refused(server, s3, bucket) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert _error(excinfo)[0] == "KeyTooLongError"
    s3.put_object(Bucket=bucket, Key="é" * 512, Body=b"x")  # exactly 1024 bytes of UTF-8
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="é" * 512 + "x", Body=b"x")
    assert _error(excinfo)[0] == "KeyTooLongError"


def test_invalid_bucket_names(server, s3) -> None:
    for name in ["ab", "UpperCase", "has_underscore", "-leading", "trailing-", "192.168.5.4", "a" * 64, "two..dots"]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            server.client("s3", config=NO_VALIDATION).create_bucket(Bucket=name)
        assert _error(excinfo)[:2] == ("InvalidBucketName", 400), name


def test_truncated_upload_stores_nothing(server, s3, bucket) -> None:
    """A client that dies halfway through a PUT body leaves no object behind."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{server.endpoint}/{bucket}/truncated"
    request = AWSRequest(method="PUT", url=url, data=b"", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})  # keep UNSIGNED-PAYLOAD
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(request)
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        head = [f"PUT {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Length: 1000000"]
        head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * 400000)
    time.sleep(0.5)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="truncated")
    assert _error(excinfo)[0] == "404"
    assert "truncated" not in {i["Key"] for i in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_an_unread_body_does_not_poison_the_connection(server, s3, bucket) -> None:
    """A request refused before its body is read must not leave bytes for the next request."""
    for size in (100, 3 * 1024 * 1024):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            s3.upload_part(Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x" * size)
        assert _error(excinfo)[0] == "NoSuchUpload"
        s3.put_object(Bucket=bucket, Key=f"after-{size}", Body=b"ok")  # same pooled connection
        assert s3.get_object(Bucket=bucket, Key=f"after-{size}")["Body"].read() == b"ok"


def _signed_raw_put(server, url: str, host: str, body_declared: int, body_sent: bytes) -> None:
    """Send a signed PUT whose connection closes after ``body_sent`` (of ``body_declared`` bytes)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="PUT", url=url, data=b"", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(request)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = [f"PUT {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {body_declared}"]
        head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body_sent)
    time.sleep(0.5)


def test_truncated_multipart_part_stores_nothing(server, s3, bucket) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"a" * (5 * 1024 * 1024))
    url = f"{server.endpoint}/{bucket}/big?partNumber=2&uploadId={upload}"
    _signed_raw_put(server, url, f"127.0.0.1:{server.port}", 5 * 1024 * 1024, b"b" * 100_000)
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload).get("Parts", [])
    assert [p["PartNumber"] for p in parts] == [1]
    s3.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=upload)


def test_virtual_host_style_addressing(server, s3, bucket) -> None:
    """`<bucket>.localhost` in the Host header names the bucket (botocore's virtual addressing)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = f"{bucket}.localhost:{server.port}"
    creds = Credentials(server.access_key, server.secret_key)
    put = AWSRequest(method="PUT", url=f"http://{host}/vkey", data=b"virtual body")
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(put)
    headers = {k: v for k, v in put.headers.items()}
    reply = send(f"http://127.0.0.1:{server.port}", "PUT", "/vkey", body=b"virtual body", headers={**headers, "Host": host})
    assert reply.status == 200, reply.text
    assert s3.get_object(Bucket=bucket, Key="vkey")["Body"].read() == b"virtual body"
    get = AWSRequest(method="GET", url=f"http://{host}/?list-type=2")
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(get)
    reply = send(f"http://127.0.0.1:{server.port}", "GET", "/?list-type=2", headers={**dict(get.headers.items()), "Host": host})
    assert reply.status == 200 and b"<Key>vkey</Key>" in reply.body
