"""CloudWatch metrics through the real server, in each protocol CloudWatch's model lists: JSON 1.0
(what boto3 picks today), Smithy RPC v2 CBOR (the model's default) and query (older botocore, the
SDK v1's)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from serverutil import REGION

PROTOCOLS = ["json", "smithy-rpc-v2-cbor", "query"]


def _client_speaking(server, protocol: str, data_dir: Path):
    """A boto3 CloudWatch client whose service model lists only ``protocol``."""
    model = copy.deepcopy(botocore.loaders.create_loader().load_service_model("cloudwatch", "service-2"))
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    target = data_dir / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(data_dir / protocol))
    return boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request, server, tmp_path_factory):
    client = _client_speaking(server, request.param, tmp_path_factory.mktemp("models"))
    client.protocol = request.param
    return client


def _captured_content_type(client) -> list[str]:
    seen: list[str] = []
    client.meta.events.register(
        "before-send.cloudwatch.*", lambda request, **_: seen.append(request.headers.get("Content-Type", b""))
    )
    return seen


def test_put_then_read_back_in_every_protocol(cw) -> None:
    namespace = f"t/{cw.protocol}"
    seen = _captured_content_type(cw)
    now = datetime.now(UTC).replace(microsecond=0)
    base = now - timedelta(minutes=10)
    dims = [{"Name": "TrainingJobName", "Value": "job-1"}]
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "loss", "Dimensions": dims, "Timestamp": base + timedelta(seconds=s), "Value": v}
            for s, v in ((0, 4.0), (20, 2.0), (70, 1.0), (80, 3.0))
        ],
    )
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "batch",
                "Timestamp": base,
                "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4},
                "Unit": "Count",
            }
        ],
    )
    expected_type = {"json": "application/x-amz-json-1.0", "smithy-rpc-v2-cbor": "application/cbor"}
    sent = seen[0].decode() if isinstance(seen[0], bytes) else seen[0]
    assert sent.startswith(expected_type.get(cw.protocol, "application/x-www-form-urlencoded"))

    stats = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName="loss",
        Dimensions=dims,
        StartTime=base - timedelta(seconds=base.second),
        EndTime=now,
        Period=60,
        Statistics=["Average", "Sum", "Minimum", "Maximum", "SampleCount"],
    )
    points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
    assert stats["Label"] == "loss"
    values = [p["Sum"] for p in points]
    assert sum(values) == 10.0 and sum(p["SampleCount"] for p in points) == 4.0
    assert min(p["Minimum"] for p in points) == 1.0 and max(p["Maximum"] for p in points) == 4.0
    assert all(p["Timestamp"].second == 0 and p["Unit"] == "None" for p in points)

    batch = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName="batch",
        StartTime=base - timedelta(minutes=1),
        EndTime=now,
        Period=300,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"],
    )["Datapoints"]
    assert [(p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"], p["Average"], p["Unit"]) for p in batch] == [
        (4.0, 10.0, 1.0, 4.0, 2.5, "Count")
    ]

    data = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": "loss", "Dimensions": dims},
                    "Period": 3600,
                    "Stat": "Maximum",
                },
            },
            {
                "Id": "m2",
                "Label": "p50",
                "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "loss", "Dimensions": dims}, "Period": 3600, "Stat": "p50"},
            },
        ],
        StartTime=now - timedelta(hours=2),
        EndTime=now + timedelta(minutes=1),
    )["MetricDataResults"]
    assert [r["Id"] for r in data] == ["m1", "m2"]
    assert all(r["StatusCode"] == "Complete" for r in data)
    assert max(data[0]["Values"]) == 4.0 and data[1]["Label"] == "p50"
    assert len(data[0]["Timestamps"]) == len(data[0]["Values"])

    listed = cw.list_metrics(Namespace=namespace)["Metrics"]
    assert {(m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed} == {
        ("loss", (("TrainingJobName", "job-1"),)),
        ("batch", ()),
    }
    filtered = cw.list_metrics(Namespace=namespace, Dimensions=[{"Name": "TrainingJobName"}])["Metrics"]
    assert [m["MetricName"] for m in filtered] == ["loss"]


def test_errors_carry_cloudwatch_codes_in_every_protocol(cw) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ClientError) as err:
        cw.get_metric_statistics(
            Namespace="x", MetricName="m", StartTime=now, EndTime=now - timedelta(minutes=1), Period=60, Statistics=["Sum"]
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "StartTime must be less than" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        cw.get_metric_statistics(
            Namespace="x", MetricName="m", StartTime=now - timedelta(days=5), EndTime=now, Period=60, Statistics=["Sum"]
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as err:
        cw.put_metric_data(Namespace="x", MetricData=[{"MetricName": "m", "Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as err:
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        cw.list_metrics(Namespace="n" * 300)
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_training_job_analytics_query(server) -> None:
    """What sagemaker.analytics.TrainingJobAnalytics sends: namespace /aws/sagemaker/TrainingJobs,
    dimension TrainingJobName, a StartTime with seconds in it, Period 60, Average."""
    cw = server.client("cloudwatch")
    start = datetime.now(UTC) - timedelta(minutes=30)
    start = start.replace(second=42, microsecond=0)
    dims = [{"Name": "TrainingJobName", "Value": "analytics-job"}]
    cw.put_metric_data(
        Namespace="/aws/sagemaker/TrainingJobs",
        MetricData=[
            {"MetricName": "validation:rmse", "Dimensions": dims, "Timestamp": start + timedelta(seconds=5 + 60 * i), "Value": 10.0 - i}
            for i in range(3)
        ],
    )
    points = cw.get_metric_statistics(
        Namespace="/aws/sagemaker/TrainingJobs",
        MetricName="validation:rmse",
        Dimensions=dims,
        StartTime=start + timedelta(seconds=10),  # later than the first point, inside its minute
        EndTime=start + timedelta(minutes=4),
        Period=60,
        Statistics=["Average"],
    )["Datapoints"]
    assert sorted(p["Average"] for p in points) == [8.0, 9.0, 10.0]
