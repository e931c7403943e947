"""CloudWatch Logs through the real server: boto3, the SageMaker SDK's reading pattern and the aws CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def logs(server):
    return server.client("logs")


def now_ms() -> int:
    return int(time.time() * 1000)


def _error(err: pytest.ExceptionInfo) -> tuple[str, str]:
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_groups_and_streams(logs) -> None:
    logs.create_log_group(logGroupName="/t/groups")
    with pytest.raises(ClientError) as err:
        logs.create_log_group(logGroupName="/t/groups")
    assert _error(err)[0] == "ResourceAlreadyExistsException"
    groups = logs.describe_log_groups(logGroupNamePrefix="/t/groups")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/t/groups"]
    assert groups[0]["arn"].endswith(":log-group:/t/groups:*")
    logs.put_retention_policy(logGroupName="/t/groups", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix="/t/groups")["logGroups"][0]["retentionInDays"] == 7
    with pytest.raises(ClientError) as err:
        logs.put_retention_policy(logGroupName="/t/groups", retentionInDays=2)
    assert _error(err)[0] == "InvalidParameterException"

    logs.create_log_stream(logGroupName="/t/groups", logStreamName="s1")
    with pytest.raises(ClientError) as err:
        logs.create_log_stream(logGroupName="/t/groups", logStreamName="s1")
    assert _error(err)[0] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as err:
        logs.create_log_stream(logGroupName="/t/none", logStreamName="s1")
    assert _error(err) == ("ResourceNotFoundException", "The specified log group does not exist.")
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName="/t/groups", logStreamName="nope")
    assert _error(err) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    logs.delete_log_stream(logGroupName="/t/groups", logStreamName="s1")
    logs.delete_log_group(logGroupName="/t/groups")
    assert logs.describe_log_groups(logGroupNamePrefix="/t/groups")["logGroups"] == []


def test_put_log_events_validation(logs) -> None:
    logs.create_log_group(logGroupName="/t/put")
    logs.create_log_stream(logGroupName="/t/put", logStreamName="s")
    now = now_ms()
    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName="/t/put",
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}],
        )
    assert _error(err)[0] == "InvalidParameterException"
    answer = logs.put_log_events(
        logGroupName="/t/put",
        logStreamName="s",
        logEvents=[
            {"timestamp": now - 14 * 86_400_000 - 7_200_000, "message": "too old"},
            {"timestamp": now - 14 * 86_400_000 - 3_600_000, "message": "too old too"},
            {"timestamp": now - 14 * 86_400_000 + 3_600_000, "message": "kept"},
        ],
    )
    assert answer["nextSequenceToken"]
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    events = logs.get_log_events(logGroupName="/t/put", logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["kept"]
    with pytest.raises(ClientError) as err:
        logs.put_log_events(
            logGroupName="/t/put", logStreamName="gone", logEvents=[{"timestamp": now, "message": "x"}]
        )
    assert _error(err) == ("ResourceNotFoundException", "The specified log stream does not exist.")


def test_ten_thousand_events_paged_both_ways(logs) -> None:
    logs.create_log_group(logGroupName="/t/big")
    logs.create_log_stream(logGroupName="/t/big", logStreamName="s")
    base = now_ms() - 3_600_000
    logs.put_log_events(
        logGroupName="/t/big",
        logStreamName="s",
        logEvents=[{"timestamp": base + i, "message": f"line {i:05d}"} for i in range(10_000)],
    )
    expected = [f"line {i:05d}" for i in range(10_000)]

    whole = logs.get_log_events(logGroupName="/t/big", logStreamName="s", startFromHead=True)
    assert [e["message"] for e in whole["events"]] == expected

    forward, token, pages = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName="/t/big", logStreamName="s", startFromHead=True, limit=1500, **kwargs
        )
        assert page["nextForwardToken"] and page["nextBackwardToken"]
        if not page["events"]:
            assert page["nextForwardToken"] == token  # exhausted: the same token comes back
            break
        forward += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
        pages += 1
    assert forward == expected and pages == 7

    backward, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName="/t/big", logStreamName="s", limit=1500, **kwargs)
        if not page["events"]:
            break
        backward = [e["message"] for e in page["events"]] + backward
        token = page["nextBackwardToken"]
    assert backward == expected

    window = logs.get_log_events(
        logGroupName="/t/big", logStreamName="s", startTime=base + 100, endTime=base + 110, startFromHead=True
    )
    assert [e["timestamp"] for e in window["events"]] == list(range(base + 100, base + 110))


def test_sagemaker_sdk_reading_pattern(logs) -> None:
    """The SDK's calls (sagemaker.session._flush_log_streams, sagemaker.logs.log_stream) terminate."""
    from sagemaker.logs import Position, multi_stream_iter

    job = "sdk-job-1"
    t0 = now_ms() - 60_000
    _group(logs)
    for instance in (1, 2):
        stream = f"{job}/algo-{instance}-1700000000"
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": t0 + i, "message": f"algo-{instance} {i}"} for i in range(25)],
        )
    logs.create_log_stream(logGroupName=GROUP, logStreamName=f"{job}x/algo-1-1")  # a neighbour job

    # DescribeLogStreams exactly as the SDK sends it, looping while nextToken is present (never sent back)
    for limit in (1, 2):
        answer = logs.describe_log_streams(
            logGroupName=GROUP, logStreamNamePrefix=job + "/", orderBy="LogStreamName", limit=limit
        )
        names = [s["logStreamName"] for s in answer["logStreams"]]
        calls = 1
        while "nextToken" in answer:
            answer = logs.describe_log_streams(
                logGroupName=GROUP, logStreamNamePrefix=job + "/", orderBy="LogStreamName", limit=50
            )
            names += [s["logStreamName"] for s in answer["logStreams"]]
            calls += 1
            assert calls < 5
    assert sorted(set(names)) == [f"{job}/algo-1-1700000000", f"{job}/algo-2-1700000000"]

    streams = sorted(set(names))
    events = list(multi_stream_iter(logs, GROUP, streams))
    messages = sorted(e["message"] for _, e in events)
    assert len(messages) == 50 and "algo-2 24" in messages

    # the next poll resumes at (last timestamp, skip) per stream, as sagemaker.session does
    positions = {s: Position(timestamp=t0 + 24, skip=1) for s in streams}
    assert list(multi_stream_iter(logs, GROUP, streams, positions)) == []
    logs.put_log_events(
        logGroupName=GROUP, logStreamName=streams[0], logEvents=[{"timestamp": t0 + 30, "message": "late"}]
    )
    assert [e["message"] for _, e in multi_stream_iter(logs, GROUP, streams, positions)] == ["late"]


def _group(logs) -> None:
    """Create the training-jobs group unless another test (or the engine) already did."""
    try:
        logs.create_log_group(logGroupName=GROUP)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


def test_filter_log_events(logs) -> None:
    logs.create_log_group(logGroupName="/t/filter")
    t0 = now_ms() - 60_000
    for name in ("job/a", "job/b", "other"):
        logs.create_log_stream(logGroupName="/t/filter", logStreamName=name)
        logs.put_log_events(
            logGroupName="/t/filter",
            logStreamName=name,
            logEvents=[
                {"timestamp": t0 + i, "message": f"{name} {i} " + ("ERROR disk full" if i % 4 == 0 else "ok")}
                for i in range(40)
            ],
        )
    answer = logs.filter_log_events(
        logGroupName="/t/filter", logStreamNamePrefix="job/", filterPattern='"disk full"'
    )
    assert len(answer["events"]) == 20 and "nextToken" not in answer
    assert {s["logStreamName"] for s in answer["searchedLogStreams"]} == {"job/a", "job/b"}
    paginator = logs.get_paginator("filter_log_events")
    found = [
        e
        for page in paginator.paginate(
            logGroupName="/t/filter", filterPattern="ERROR", PaginationConfig={"PageSize": 7}
        )
        for e in page["events"]
    ]
    assert len(found) == 30 and len({e["eventId"] for e in found}) == 30
    inclusive = logs.filter_log_events(
        logGroupName="/t/filter", logStreamNames=["other"], startTime=t0 + 4, endTime=t0 + 8
    )["events"]
    assert [e["timestamp"] - t0 for e in inclusive] == [4, 5, 6, 7, 8]


def _aws(server, *args: str) -> dict:
    aws = Path(sys.executable).parent / "aws"
    result = subprocess.run(
        [str(aws), *args, "--output", "json"], env=server.env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_aws_cli(server, logs) -> None:
    logs.create_log_group(logGroupName="/t/cli")
    logs.create_log_stream(logGroupName="/t/cli", logStreamName="s")
    t0 = now_ms()
    logs.put_log_events(
        logGroupName="/t/cli",
        logStreamName="s",
        logEvents=[{"timestamp": t0 + i, "message": f"m{i}"} for i in range(3)],
    )
    groups = _aws(server, "logs", "describe-log-groups", "--log-group-name-prefix", "/t/cli")
    assert [g["logGroupName"] for g in groups["logGroups"]] == ["/t/cli"]
    events = _aws(
        server,
        "logs",
        "get-log-events",
        "--log-group-name",
        "/t/cli",
        "--log-stream-name",
        "s",
        "--start-from-head",
    )
    assert [e["message"] for e in events["events"]] == ["m0", "m1", "m2"]
    assert events["nextForwardToken"] and events["nextBackwardToken"]
