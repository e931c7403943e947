"""Smithy RPC v2 CBOR round trips: botocore's own CBOR serializer and parser against openmaker's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlsplit

import botocore.parsers
import botocore.serialize
import cbor2
import pytest
from botocore.awsrequest import HeadersDict, prepare_request_dict
from botocore.session import get_session

from openmaker.aws import parsers, routing, specs
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.serializers import serialize, serialize_error
from openmaker.aws.streams import RequestBody

WHEN = datetime(2026, 11, 21, 10, 30, 15, tzinfo=UTC)
WHEN_MS = datetime(2026, 11, 21, 10, 30, 15, 250000, tzinfo=UTC)


def _model():
    return get_session().get_service_model("cloudwatch")


def _request(operation: str, params: dict) -> HttpRequest:
    op = _model().operation_model(operation)
    request = botocore.serialize.create_serializer(specs.CBOR, include_validation=True).serialize_to_request(params, op)
    prepare_request_dict(request, endpoint_url="http://127.0.0.1:8787")
    url = urlsplit(request["url"])
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in request["headers"].items()}
    return HttpRequest(request["method"], url.path, url.query, headers, RequestBody.from_bytes(request["body"] or b""))


INPUTS = [
    (
        "PutMetricData",
        {
            "Namespace": "ns",
            "MetricData": [
                {
                    "MetricName": "loss",
                    "Dimensions": [{"Name": "TrainingJobName", "Value": "j"}],
                    "Timestamp": WHEN_MS,
                    "Value": 0.25,
                    "Unit": "None",
                },
                {"MetricName": "n", "Timestamp": WHEN, "StatisticValues": {"SampleCount": 3.0, "Sum": 6.0, "Minimum": 1.0, "Maximum": 3.0}},
                {"MetricName": "v", "Values": [1.0, 2.5], "Counts": [2.0, 1.0], "StorageResolution": 1},
            ],
            "StrictEntityValidation": False,
        },
    ),
    (
        "GetMetricStatistics",
        {
            "Namespace": "/aws/sagemaker/TrainingJobs",
            "MetricName": "train:loss",
            "Dimensions": [{"Name": "TrainingJobName", "Value": "j"}],
            "StartTime": WHEN,
            "EndTime": WHEN_MS,
            "Period": 60,
            "Statistics": ["Average", "Maximum"],
        },
    ),
    (
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "q1",
                    "MetricStat": {"Metric": {"Namespace": "ns", "MetricName": "loss"}, "Period": 60, "Stat": "p90"},
                    "ReturnData": True,
                }
            ],
            "StartTime": WHEN,
            "EndTime": WHEN_MS,
            "MaxDatapoints": 5,
        },
    ),
    ("ListMetrics", {"Namespace": "ns", "Dimensions": [{"Name": "A"}], "NextToken": "t"}),
]


@pytest.mark.parametrize(("operation", "params"), INPUTS, ids=[op for op, _ in INPUTS])
def test_server_parses_what_botocore_serializes(operation: str, params: dict) -> None:
    http = _request(operation, params)
    assert routing.find_service(http, "monitoring", None) == "cloudwatch"
    assert routing.request_protocol("cloudwatch", http, None) == specs.CBOR
    op, parsed = asyncio.run(parsers.parse("cloudwatch", http, None, specs.CBOR))
    assert op.name == operation
    assert parsed == params


OUTPUTS = [
    (
        "GetMetricStatistics",
        {
            "Label": "loss",
            "Datapoints": [
                {"Timestamp": WHEN, "Average": 1.5, "SampleCount": 2.0, "Unit": "None"},
                {"Timestamp": WHEN_MS, "Maximum": 3.0, "ExtendedStatistics": {"p90": 2.0}, "Unit": "Seconds"},
            ],
        },
    ),
    (
        "GetMetricData",
        {
            "MetricDataResults": [
                {"Id": "q", "Label": "l", "Timestamps": [WHEN_MS, WHEN], "Values": [1.0, 2.0], "StatusCode": "Complete"}
            ],
            "Messages": [],
            "NextToken": "n",
        },
    ),
    ("ListMetrics", {"Metrics": [{"Namespace": "ns", "MetricName": "m", "Dimensions": [{"Name": "A", "Value": "1"}]}]}),
]


@pytest.mark.parametrize(("operation", "result"), OUTPUTS, ids=[op for op, _ in OUTPUTS])
def test_botocore_parses_what_server_serializes(operation: str, result: dict) -> None:
    op = _model().operation_model(operation)
    response = serialize("cloudwatch", op, result, "REQ1", specs.CBOR)
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["content-type"] == "application/cbor"
    parsed = botocore.parsers.create_parser(specs.CBOR).parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body},
        op.output_shape,
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "REQ1"
    assert parsed == result


def test_integral_doubles_stay_floats() -> None:
    op = _model().operation_model("GetMetricStatistics")
    response = serialize("cloudwatch", op, {"Datapoints": [{"Timestamp": WHEN, "Sum": 3}]}, "R", specs.CBOR)
    decoded = cbor2.loads(response.body)
    assert isinstance(decoded["Datapoints"][0]["Sum"], float)
    assert decoded["Datapoints"][0]["Timestamp"] == WHEN  # tag 1


@pytest.mark.parametrize("protocol", [specs.CBOR, "json", "query"])
def test_query_compatible_errors_keep_their_query_code(protocol: str) -> None:
    response = serialize_error("cloudwatch", AwsError("InvalidParameterValue", "bad", 400), "R", protocol=protocol)
    parsed = botocore.parsers.create_parser(protocol).parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body}, None
    )
    assert parsed["Error"]["Code"] == "InvalidParameterValue"
    assert parsed["Error"]["Message"] == "bad"
    if protocol != "query":
        assert response.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"


def test_malformed_cbor_is_a_client_error() -> None:
    http = _request("ListMetrics", {})
    http.body = RequestBody.from_bytes(b"\xff\x00garbage")
    with pytest.raises(AwsError) as err:
        asyncio.run(parsers.parse("cloudwatch", http, None, specs.CBOR))
    assert err.value.status == 400


def test_s3_key_under_service_path_is_still_s3() -> None:
    """Without the smithy-protocol header a /service/.../operation/... path is an S3 object."""
    http = HttpRequest("POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", "", {}, RequestBody.from_bytes(b""))
    assert routing.find_service(http, "s3", None) == "s3"
