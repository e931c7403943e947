"""Round trips through botocore: what botocore serializes, openmaker parses to the same params; what
openmaker serializes, botocore parses back to the same result. One sample set per protocol."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlsplit

import botocore.parsers
import botocore.serialize
import pytest
from botocore.awsrequest import HeadersDict, prepare_request_dict
from botocore.session import get_session

from openmaker.aws import parsers, specs
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.serializers import serialize, serialize_error
from openmaker.aws.streams import RequestBody

WHEN = datetime(2026, 11, 21, 10, 30, 15, 123000, tzinfo=UTC)


def _model(service: str):
    return get_session().get_service_model(service)


def _as_http_request(service: str, operation: str, params: dict) -> tuple[HttpRequest, dict | None]:
    model = _model(service)
    op = model.operation_model(operation)
    serializer = botocore.serialize.create_serializer(model.metadata["protocol"], include_validation=True)
    request = serializer.serialize_to_request(params, op)
    prepare_request_dict(request, endpoint_url="http://127.0.0.1:8787")
    url = urlsplit(request["url"])
    body = request["body"]
    if isinstance(body, str):
        body = body.encode()
    elif isinstance(body, dict):  # query protocol: form params
        from urllib.parse import urlencode

        body = urlencode(body).encode()
    elif body is None:
        body = b""
    elif not isinstance(body, bytes):
        body = body.read()
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in request["headers"].items()}
    form = None
    if model.metadata["protocol"] == "query":
        from urllib.parse import parse_qsl

        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    http = HttpRequest(request["method"], url.path, url.query, headers, RequestBody.from_bytes(body))
    return http, form


def _parse(service: str, operation: str, params: dict) -> dict:
    http, form = _as_http_request(service, operation, params)
    op, parsed = asyncio.run(parsers.parse(service, http, form))
    assert op.name == operation
    return parsed


def _botocore_parse(service: str, operation: str, result: dict) -> dict:
    model = _model(service)
    op = model.operation_model(operation)
    response = serialize(service, op, result, "REQ123")
    parser = botocore.parsers.create_parser(model.metadata["protocol"])
    parsed = parser.parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body},
        op.output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    if op.has_streaming_output and isinstance(parsed.get("Body"), str):
        parsed["Body"] = parsed["Body"].encode()  # a real client gets the raw stream here
    return parsed


INPUTS = [
    # json
    (
        "sagemaker",
        "CreateTrainingJob",
        {
            "TrainingJobName": "job-1",
            "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::000000000000:role/SageMakerRole",
            "HyperParameters": {"eta": "0.2", "max_depth": "5"},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}},
                    "ContentType": "text/csv",
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "EnableNetworkIsolation": True,
            "Tags": [{"Key": "k", "Value": "v"}],
        },
    ),
    ("sagemaker", "ListTrainingJobs", {"CreationTimeAfter": WHEN, "MaxResults": 10, "SortBy": "Name"}),
    ("logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 5, "message": "m"}]}),
    # query
    (
        "iam",
        "CreateRole",
        {"RoleName": "r", "AssumeRolePolicyDocument": '{"a": 1}', "Tags": [{"Key": "k", "Value": "v"}]},
    ),
    ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::000000000000:role/r", "RoleSessionName": "sess", "DurationSeconds": 900}),
    ("iam", "ListRoles", {"PathPrefix": "/", "MaxItems": 5}),
    # rest-xml
    (
        "s3",
        "PutObject",
        {
            "Bucket": "b",
            "Key": "dir/ü ké+y=1~",
            "Body": b"hello",
            "ContentType": "text/plain",
            "Metadata": {"owner": "me", "n": "1"},
            "ContentMD5": "XUFAKrxLKna5cZ2REBfFkg==",
        },
    ),
    ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "a/", "Delimiter": "/", "MaxKeys": 7, "StartAfter": "a/x"}),
    ("s3", "CreateBucket", {"Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
    (
        "s3",
        "DeleteObjects",
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "v1"}], "Quiet": True}},
    ),
    (
        "s3",
        "CompleteMultipartUpload",
        {
            "Bucket": "b",
            "Key": "k",
            "UploadId": "u",
            "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": '"e1"'}, {"PartNumber": 2, "ETag": '"e2"'}]},
        },
    ),
    ("s3", "UploadPartCopy", {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 2, "CopySource": "src/k", "CopySourceRange": "bytes=0-9"}),
    ("s3", "GetObject", {"Bucket": "b", "Key": "k", "Range": "bytes=1-2", "IfModifiedSince": WHEN.replace(microsecond=0)}),
    ("s3", "PutBucketVersioning", {"Bucket": "b", "VersioningConfiguration": {"Status": "Enabled"}}),
    # rest-json
    (
        "sagemaker-runtime",
        "InvokeEndpoint",
        {"EndpointName": "ep", "Body": b"1,2,3", "ContentType": "text/csv", "Accept": "application/json", "TargetVariant": "A"},
    ),
]


@pytest.mark.parametrize(("service", "operation", "params"), INPUTS, ids=[f"{s}.{o}" for s, o, _ in INPUTS])
def test_server_parses_what_botocore_serializes(service: str, operation: str, params: dict) -> None:
    parsed = _parse(service, operation, params)
    for key, value in params.items():
        got = parsed[key]
        if hasattr(got, "read"):
            got = asyncio.run(got.read())
        assert got == value, key
    assert set(parsed) <= set(params) | {"ContentLength", "ChecksumAlgorithm"}


OUTPUTS = [
    (
        "sagemaker",
        "DescribeTrainingJob",
        {
            "TrainingJobName": "job",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:000000000000:training-job/job",
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "AlgorithmSpecification": {"TrainingImage": "i", "TrainingInputMode": "File"},
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/job/output/model.tar.gz"},
            "HyperParameters": {"a": "1"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
            "CreationTime": WHEN,
            "SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": WHEN, "StatusMessage": "m"}],
            "FinalMetricDataList": [{"MetricName": "m", "Value": 0.5, "Timestamp": WHEN}],
        },
    ),
    (
        "logs",
        "GetLogEvents",
        {"events": [{"timestamp": 1, "message": "x", "ingestionTime": 2}], "nextForwardToken": "f/1", "nextBackwardToken": "b/0"},
    ),
    (
        "iam",
        "ListRoles",
        {
            "Roles": [{"Path": "/", "RoleName": "r", "RoleId": "AROAX", "Arn": "arn:aws:iam::0:role/r", "CreateDate": WHEN}],
            "IsTruncated": True,
            "Marker": "m",
        },
    ),
    (
        "sts",
        "AssumeRole",
        {
            "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": WHEN},
            "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::0:assumed-role/r/s"},
        },
    ),
    (
        "s3",
        "ListObjectsV2",
        {
            "IsTruncated": True,
            "Contents": [
                {"Key": "a<&>b", "LastModified": WHEN, "ETag": '"e"', "Size": 3, "StorageClass": "STANDARD"},
                {"Key": "ü", "LastModified": WHEN, "ETag": '"f"', "Size": 0, "StorageClass": "STANDARD"},
            ],
            "Name": "b",
            "Prefix": "",
            "Delimiter": "/",
            "MaxKeys": 2,
            "CommonPrefixes": [{"Prefix": "d/"}],
            "KeyCount": 3,
            "NextContinuationToken": "tok",
        },
    ),
    (
        "s3",
        "HeadObject",
        {
            "ContentLength": 10,
            "ContentType": "text/csv",
            "ETag": '"abc"',
            "LastModified": WHEN.replace(microsecond=0),
            "Metadata": {"owner": "me"},
            "VersionId": "v1",
        },
    ),
    ("s3", "GetBucketVersioning", {"Status": "Enabled"}),
    ("s3", "CopyObject", {"CopyObjectResult": {"ETag": '"e"', "LastModified": WHEN}, "VersionId": "v2"}),
    (
        "s3",
        "DeleteObjects",
        {"Deleted": [{"Key": "a"}, {"Key": "b", "VersionId": "v", "DeleteMarker": True}], "Errors": [{"Key": "c", "Code": "AccessDenied", "Message": "no"}]},
    ),
    ("s3", "CreateMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u1"}),
    (
        "sagemaker-runtime",
        "InvokeEndpoint",
        {"Body": b'{"a": 1}', "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic"},
    ),
]


@pytest.mark.parametrize(("service", "operation", "result"), OUTPUTS, ids=[f"{s}.{o}" for s, o, _ in OUTPUTS])
def test_botocore_parses_what_server_serializes(service: str, operation: str, result: dict) -> None:
    assert _botocore_parse(service, operation, result) == result


@pytest.mark.parametrize("service", ["s3", "sagemaker", "iam", "sagemaker-runtime"])
def test_errors_parse_with_code_and_message(service: str) -> None:
    model = _model(service)
    response = serialize_error(service, AwsError("SomeError", "it broke", 400), "REQ1")
    parser = botocore.parsers.create_parser(model.metadata["protocol"])
    parsed = parser.parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body},
        None,
    )
    assert parsed["Error"]["Code"] == "SomeError"
    assert parsed["Error"]["Message"] == "it broke"
    assert parsed["ResponseMetadata"]["RequestId"] == "REQ1"


def test_every_served_service_loads() -> None:
    for service in specs.SERVED:
        assert specs.protocol(service) in ("json", "query", "rest-json", "rest-xml", specs.CBOR)
