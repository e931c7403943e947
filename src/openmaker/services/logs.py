"""CloudWatch Logs: groups, streams, PutLogEvents, GetLogEvents and FilterLogEvents.

Readers that poll (the SageMaker SDK, ``aws logs tail``) depend on two behaviours kept here and in
the store: DescribeLogStreams answers ``nextToken`` only when more streams remain (the SDK loops
on it without sending it back), and GetLogEvents always answers both tokens, handing the same
forward token back once the stream is exhausted.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.handlers import handler
from openmaker.storage.log_filter import FilterPatternError
from openmaker.storage.logs import (
    MAX_PAGE_BYTES,
    EventsPage,
    LogGroupExists,
    LogStore,
    LogStoreError,
    LogStreamExists,
    now_ms,
)

RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
TOO_NEW_MS = 2 * 3600 * 1000  # PutLogEvents rejects events more than 2 hours in the future
TOO_OLD_MS = 14 * 86_400_000  # ...and older than 14 days
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, 400)


def _store(ctx: RequestContext) -> LogStore:
    return ctx.app.logs.for_region(ctx.region)


def _run(fn, *args, **kwargs):
    """Call the store, turning its errors into the Logs error codes."""
    try:
        return fn(*args, **kwargs)
    except (LogGroupExists, LogStreamExists) as error:
        raise AwsError("ResourceAlreadyExistsException", error.message, 400) from None
    except FilterPatternError as error:
        raise invalid(str(error)) from None
    except LogStoreError as error:
        code = "InvalidParameterException" if "nextToken" in error.message else "ResourceNotFoundException"
        raise AwsError(code, error.message, 400) from None


def _group_name(params: dict) -> str:
    """``logGroupName``, or the name inside ``logGroupIdentifier`` (a name or an ARN)."""
    name = params.get("logGroupName")
    ident = params.get("logGroupIdentifier")
    if name and ident:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if ident:
        if ident.startswith("arn:"):
            tail = ident.split(":log-group:", 1)[-1]
            return tail[:-2] if tail.endswith(":*") else tail
        return ident
    if not name:
        raise invalid("Either logGroupName or logGroupIdentifier must be specified.")
    return name


def _limit(params: dict, default: int, maximum: int) -> int:
    limit = params.get("limit")
    if limit is None:
        return default
    if not 1 <= int(limit) <= maximum:
        raise invalid(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {maximum}"
        )
    return int(limit)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# --- groups ---------------------------------------------------------------------------------------


@handler("logs", "CreateLogGroup")
def create_log_group(ctx: RequestContext, params: dict) -> dict:
    _run(_store(ctx).create_group, params["logGroupName"])
    return {}


@handler("logs", "DescribeLogGroups")
def describe_log_groups(ctx: RequestContext, params: dict) -> dict:
    prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
    if prefix and pattern:
        raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    groups, token = _run(
        _store(ctx).describe_groups, prefix, pattern, _limit(params, 50, 50), params.get("nextToken")
    )
    out: dict[str, Any] = {
        "logGroups": [
            _drop_none(
                {
                    "logGroupName": g.name,
                    "creationTime": g.creation_time,
                    "retentionInDays": g.retention_days,
                    "metricFilterCount": 0,
                    "arn": g.arn,
                    "storedBytes": g.stored_bytes,
                    "logGroupClass": "STANDARD",
                    "logGroupArn": g.group_arn,
                }
            )
            for g in groups
        ]
    }
    if token:
        out["nextToken"] = token
    return out


@handler("logs", "DeleteLogGroup")
def delete_log_group(ctx: RequestContext, params: dict) -> dict:
    _run(_store(ctx).delete_group, params["logGroupName"])
    return {}


@handler("logs", "PutRetentionPolicy")
def put_retention_policy(ctx: RequestContext, params: dict) -> dict:
    days = int(params["retentionInDays"])
    if days not in RETENTION_DAYS:
        raise invalid(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]"
        )
    _run(_store(ctx).put_retention, params["logGroupName"], days)
    return {}


@handler("logs", "DeleteRetentionPolicy")
def delete_retention_policy(ctx: RequestContext, params: dict) -> dict:
    _run(_store(ctx).put_retention, params["logGroupName"], None)
    return {}


# --- streams --------------------------------------------------------------------------------------


@handler("logs", "CreateLogStream")
def create_log_stream(ctx: RequestContext, params: dict) -> dict:
    _run(_store(ctx).create_stream, params["logGroupName"], params["logStreamName"])
    return {}


@handler("logs", "DescribeLogStreams")
def describe_log_streams(ctx: RequestContext, params: dict) -> dict:
    order_by = params.get("orderBy") or "LogStreamName"
    prefix = params.get("logStreamNamePrefix")
    if order_by == "LastEventTime" and prefix:
        raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
    streams, token = _run(
        _store(ctx).describe_streams,
        _group_name(params),
        prefix,
        order_by,
        bool(params.get("descending")),
        _limit(params, 50, 50),
        params.get("nextToken"),
    )
    out: dict[str, Any] = {
        "logStreams": [
            _drop_none(
                {
                    "logStreamName": s.name,
                    "creationTime": s.creation_time,
                    "firstEventTimestamp": s.first_event_timestamp,
                    "lastEventTimestamp": s.last_event_timestamp,
                    "lastIngestionTime": s.last_ingestion_time,
                    "arn": s.arn,
                    "storedBytes": s.stored_bytes,
                }
            )
            for s in streams
        ]
    }
    if token:  # only when more streams remain: the SageMaker SDK loops while a token is present
        out["nextToken"] = token
    return out


@handler("logs", "DeleteLogStream")
def delete_log_stream(ctx: RequestContext, params: dict) -> dict:
    _run(_store(ctx).delete_stream, params["logGroupName"], params["logStreamName"])
    return {}


# --- events ---------------------------------------------------------------------------------------


def split_rejected(
    timestamps: list[int], now: int, retention_days: int | None
) -> tuple[int, int, dict[str, int]]:
    """The accepted slice ``[start, end)`` of a chronological batch and its ``rejectedLogEventsInfo``.

    Too-old and expired events form a prefix, too-new ones a suffix; AWS's end indexes are exclusive
    and its start index inclusive.
    """
    info: dict[str, int] = {}
    old_limit = now - TOO_OLD_MS
    expired_limit = now - retention_days * 86_400_000 if retention_days else None
    too_new_limit = now + TOO_NEW_MS
    start = 0
    while start < len(timestamps) and timestamps[start] < old_limit:
        start += 1
    if start:
        info["tooOldLogEventEndIndex"] = start
    expired_end = start
    if expired_limit is not None:
        while expired_end < len(timestamps) and timestamps[expired_end] < expired_limit:
            expired_end += 1
        if expired_end > start:
            info["expiredLogEventEndIndex"] = expired_end
    end = len(timestamps)
    while end > expired_end and timestamps[end - 1] > too_new_limit:
        end -= 1
    if end < len(timestamps):
        info["tooNewLogEventStartIndex"] = end
    return expired_end, end, info


@handler("logs", "PutLogEvents")
def put_log_events(ctx: RequestContext, params: dict) -> dict:
    store = _store(ctx)
    group, stream = params["logGroupName"], params["logStreamName"]
    events = [(int(e["timestamp"]), e["message"]) for e in params["logEvents"]]
    timestamps = [ts for ts, _ in events]
    if any(b < a for a, b in pairwise(timestamps)):
        raise invalid("Log events in a single PutLogEvents request must be in chronological order.")
    if timestamps and timestamps[-1] - timestamps[0] > MAX_BATCH_SPAN_MS:
        raise invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    size = sum(len(m.encode("utf-8")) + 26 for _, m in events)
    if size > MAX_PAGE_BYTES:
        raise invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_PAGE_BYTES}")
    retention = _run(store.get_group, group).retention_days
    start, end, rejected = split_rejected(timestamps, now_ms(), retention)
    token = _run(store.append, group, stream, events[start:end], create=False)
    out: dict[str, Any] = {"nextSequenceToken": token}
    if rejected:
        out["rejectedLogEventsInfo"] = rejected
    return out


def _events_answer(page: EventsPage) -> dict:
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
            for e in page.events
        ],
        "nextForwardToken": page.forward_token,
        "nextBackwardToken": page.backward_token,
    }


@handler("logs", "GetLogEvents")
def get_log_events(ctx: RequestContext, params: dict) -> dict:
    page = _run(
        _store(ctx).get_events,
        _group_name(params),
        params["logStreamName"],
        start_time=params.get("startTime"),
        end_time=params.get("endTime"),
        start_from_head=bool(params.get("startFromHead")),
        limit=_limit(params, 10_000, 10_000),
        token=params.get("nextToken"),
    )
    return _events_answer(page)


@handler("logs", "FilterLogEvents")
def filter_log_events(ctx: RequestContext, params: dict) -> dict:
    names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
    if names and prefix:
        raise invalid("You cannot specify both logStreamNames and logStreamNamePrefix.")
    page = _run(
        _store(ctx).filter_events,
        _group_name(params),
        stream_names=names,
        stream_prefix=prefix,
        start_time=params.get("startTime"),
        # FilterLogEvents' endTime is inclusive ("later than this time are not returned")
        end_time=params["endTime"] + 1 if params.get("endTime") is not None else None,
        pattern=params.get("filterPattern"),
        limit=_limit(params, 10_000, 10_000),
        token=params.get("nextToken"),
    )
    out: dict[str, Any] = {
        "events": [
            {
                "logStreamName": e.stream_name,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
                "eventId": e.event_id,
            }
            for e in page.events
        ],
        "searchedLogStreams": [
            {"logStreamName": n, "searchedCompletely": True} for n in page.searched_streams
        ],
    }
    if page.next_token:
        out["nextToken"] = page.next_token
    return out
