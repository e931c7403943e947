"""CloudWatch metrics: PutMetricData, GetMetricStatistics, GetMetricData and ListMetrics.

Training jobs' metrics land in the same store (namespace ``/aws/sagemaker/TrainingJobs``, dimension
``TrainingJobName``), which is what the SageMaker SDK's ``TrainingJobAnalytics`` reads back through
GetMetricStatistics. Errors are raised with CloudWatch's query codes (``InvalidParameterValue``...);
the protocol layer names the matching error shapes for JSON and CBOR clients.

Aggregation follows CloudWatch: buckets of ``Period`` seconds aligned to the epoch (so a StartTime
with seconds in it is rounded down, as the SDK expects), statistics per bucket, percentiles by
nearest rank.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.handlers import handler
from openmaker.storage.metrics import MetricPoint, MetricStore, parse_dimensions

MAX_DATAPOINTS = 1440  # GetMetricStatistics
MAX_EXPANDED_SAMPLES = 10_000  # StatisticValues / Counts are stored as individual samples
LIST_PAGE = 500
FUTURE_LIMIT = timedelta(hours=2)
PAST_LIMIT = timedelta(days=14)
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE = re.compile(r"^p(100|\d{1,2}(\.\d{1,10})?)$")
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def _store(ctx: RequestContext) -> MetricStore:
    return ctx.app.metrics


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- PutMetricData --------------------------------------------------------------------------------


@handler("cloudwatch", "PutMetricData")
def put_metric_data(ctx: RequestContext, params: dict) -> dict:
    namespace = params["Namespace"]
    if namespace.startswith("AWS/"):
        raise invalid(f"The value {namespace} for parameter Namespace is invalid.")
    data = params.get("MetricData") or []
    if not data:
        raise AwsError("MissingParameter", "The parameter MetricData is required.", 400)
    now = datetime.now(UTC)
    batches = [_datum_samples(datum, index, now) for index, datum in enumerate(data, 1)]
    store = _store(ctx)
    for datum, (when, samples) in zip(data, batches, strict=True):
        store.put(
            namespace,
            datum["MetricName"],
            datum.get("Dimensions") or [],
            ((when, value) for value in samples),
            datum.get("Unit") or "None",
        )
    return {}


def _datum_samples(datum: dict, index: int, now: datetime) -> tuple[datetime, list[float]]:
    """The timestamp and the individual samples one MetricDatum stands for."""
    where = f"MetricData.member.{index}"
    when = _utc(datum.get("Timestamp") or now)
    if when > now + FUTURE_LIMIT:
        raise invalid(
            f"The parameter {where}.Timestamp must specify a time no more than two hours in the future."
        )
    if when < now - PAST_LIMIT:
        raise invalid(f"The parameter {where}.Timestamp must specify a time within the past two weeks.")
    given = [name for name in ("Value", "StatisticValues", "Values") if datum.get(name) is not None]
    if len(given) > 1:
        raise combination(
            f"The parameters {where}.{given[0]} and {where}.{given[1]} are mutually exclusive and you have specified both."
        )
    if not given:
        raise AwsError("MissingParameter", f"The parameter {where}.Value is required.", 400)
    names = set()
    for dimension in datum.get("Dimensions") or []:
        if dimension["Name"] in names:
            raise invalid(f"The value {dimension['Name']} for parameter {where}.Dimensions is duplicated.")
        names.add(dimension["Name"])
    if given[0] == "Value":
        return when, [_finite(datum["Value"], f"{where}.Value")]
    if given[0] == "Values":
        return when, _expand_values(datum, where)
    return when, _expand_statistics(datum["StatisticValues"], where)


def _finite(value: float, where: str) -> float:
    if not math.isfinite(value):
        raise invalid(f"The value {value} for parameter {where} is invalid.")
    return value


def _expand_values(datum: dict, where: str) -> list[float]:
    values = [_finite(v, f"{where}.Values") for v in datum["Values"]]
    counts = datum.get("Counts")
    if counts is None:
        return values
    if len(counts) != len(values):
        raise combination(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
    samples: list[float] = []
    for value, count in zip(values, counts, strict=True):
        samples.extend([value] * _whole(count, f"{where}.Counts"))
    return samples


def _expand_statistics(stats: dict, where: str) -> list[float]:
    """A StatisticSet as samples that reproduce its SampleCount, Sum, Minimum and Maximum exactly.

    The store keeps samples, not pre-aggregated sets; ``n`` samples (the minimum, the maximum and
    ``n - 2`` equal ones carrying the rest of the sum) give back every statistic CloudWatch reports
    for the set. Percentiles of such data are approximate, as they are in CloudWatch.
    """
    count = _whole(stats["SampleCount"], f"{where}.StatisticValues.SampleCount")
    total, low, high = stats["Sum"], stats["Minimum"], stats["Maximum"]
    for value, name in ((total, "Sum"), (low, "Minimum"), (high, "Maximum")):
        _finite(value, f"{where}.StatisticValues.{name}")
    if low > high:
        raise invalid(f"The parameter {where}.StatisticValues.Minimum must be less than or equal to Maximum.")
    if count == 0:
        return []
    if count == 1:
        return [total]
    if count == 2:
        return [low, high]
    middle = (total - low - high) / (count - 2)
    return [low, high, *([middle] * (count - 2))]


def _whole(count: float, where: str) -> int:
    if count < 0 or not math.isfinite(count) or count != int(count):
        raise invalid(f"The value {count} for parameter {where} is invalid.")
    if count > MAX_EXPANDED_SAMPLES:
        raise invalid(
            f"The value {count} for parameter {where} exceeds openmaker's limit of {MAX_EXPANDED_SAMPLES} samples per datum."
        )
    return int(count)


# --- statistics -----------------------------------------------------------------------------------


def _check_period(period: int, where: str = "Period") -> None:
    if period < 1 or (period not in HIGH_RESOLUTION_PERIODS and period % 60):
        raise invalid(f"The parameter {where} must be a multiple of 60.")


def _percentile(values: list[float], name: str) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = float(name[1:]) / 100
    index = max(0, math.ceil(rank * len(values)) - 1)
    return values[min(index, len(values) - 1)]


def _statistic(values: list[float], name: str) -> float:
    if name == "SampleCount":
        return float(len(values))
    if name == "Sum":
        return math.fsum(values)
    if name == "Average":
        return math.fsum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    return _percentile(sorted(values), name)


def _buckets(points: Iterable[MetricPoint], period: int) -> dict[datetime, list[MetricPoint]]:
    buckets: dict[datetime, list[MetricPoint]] = {}
    for point in points:
        epoch = int(point.timestamp.timestamp())
        start = datetime.fromtimestamp(epoch - epoch % period, UTC)
        buckets.setdefault(start, []).append(point)
    return buckets


def _aligned(start: datetime, period: int) -> datetime:
    epoch = int(_utc(start).timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, UTC)


def _points(
    store: MetricStore,
    namespace: str,
    name: str,
    dimensions: list | None,
    start: datetime,
    end: datetime,
    unit: str | None,
) -> list[MetricPoint]:
    points = store.query(namespace, name, dimensions or [], start, end)
    return [p for p in points if p.unit == unit] if unit else points


@handler("cloudwatch", "GetMetricStatistics")
def get_metric_statistics(ctx: RequestContext, params: dict) -> dict:
    period = params["Period"]
    _check_period(period)
    statistics = params.get("Statistics") or []
    extended = params.get("ExtendedStatistics") or []
    if statistics and extended:
        raise combination("Must specify either Statistics or ExtendedStatistics, but not both.")
    if not statistics and not extended:
        raise AwsError("MissingParameter", "Must specify either Statistics or ExtendedStatistics.", 400)
    for name in extended:
        if not PERCENTILE.match(name):
            raise invalid(f"The value {name} for parameter ExtendedStatistics is not supported.")
    start, end = _utc(params["StartTime"]), _utc(params["EndTime"])
    if start >= end:
        raise invalid("The parameter StartTime must be less than the parameter EndTime.")
    aligned = _aligned(start, period)
    requested = math.ceil((end - aligned).total_seconds() / period) * (len(statistics) + len(extended))
    if requested > MAX_DATAPOINTS:
        raise combination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of {MAX_DATAPOINTS:,}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )
    unit = params.get("Unit")
    points = _points(
        _store(ctx), params["Namespace"], params["MetricName"], params.get("Dimensions"), aligned, end, unit
    )
    datapoints = []
    for moment, bucket in sorted(_buckets(points, period).items()):
        values = [p.value for p in bucket]
        datapoint: dict[str, Any] = {"Timestamp": moment, "Unit": unit or bucket[-1].unit}
        for name in statistics:
            datapoint[name] = _statistic(values, name)
        if extended:
            datapoint["ExtendedStatistics"] = {name: _statistic(values, name) for name in extended}
        datapoints.append(datapoint)
    return {"Label": params["MetricName"], "Datapoints": datapoints}


# --- GetMetricData --------------------------------------------------------------------------------


def _encode_token(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode_token(token: str | None) -> dict:
    if not token:
        return {}
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(value, dict):
            return value
    except (ValueError, binascii.Error):
        pass
    raise AwsError(
        "InvalidNextToken", "The service couldn't process your request because the NextToken is invalid.", 400
    )


@handler("cloudwatch", "GetMetricData")
def get_metric_data(ctx: RequestContext, params: dict) -> dict:
    start, end = _utc(params["StartTime"]), _utc(params["EndTime"])
    if start >= end:
        raise invalid("The parameter StartTime must be less than the parameter EndTime.")
    queries = params["MetricDataQueries"]
    seen: set[str] = set()
    for index, query in enumerate(queries, 1):
        where = f"MetricDataQueries.member.{index}"
        if query["Id"] in seen:
            raise AwsError(
                "ValidationError", f"The value {query['Id']} for parameter {where}.Id is duplicated.", 400
            )
        seen.add(query["Id"])
        if query.get("Expression") is not None:
            raise AwsError(
                "ValidationError",
                f"openmaker does not evaluate metric math yet ({where}.Expression); query the metrics with MetricStat.",
                400,
            )
        if query.get("MetricStat") is None:
            raise AwsError("ValidationError", f"The parameter {where}.MetricStat is required.", 400)
        stat = query["MetricStat"]["Stat"]
        if stat not in STATISTICS and not PERCENTILE.match(stat):
            raise invalid(f"The value {stat} for parameter {where}.MetricStat.Stat is not supported.")
        _check_period(query["MetricStat"]["Period"], f"{where}.MetricStat.Period")
    descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    budget = params.get("MaxDatapoints") or 100_800
    skip = _decode_token(params.get("NextToken"))
    results, next_token = [], None
    for query in queries:
        if query.get("ReturnData") is False:
            continue
        series = _query_series(ctx, query, start, end, descending)
        offset = int(skip.get(query["Id"], 0))
        page = series[offset : offset + budget]
        budget -= len(page)
        complete = offset + len(page) >= len(series)
        if not complete:
            next_token = {**skip, query["Id"]: offset + len(page)}
        results.append(
            {
                "Id": query["Id"],
                "Label": query.get("Label") or query["MetricStat"]["Metric"]["MetricName"],
                "Timestamps": [moment for moment, _ in page],
                "Values": [value for _, value in page],
                "StatusCode": "Complete" if complete else "PartialData",
            }
        )
    out: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if next_token:
        out["NextToken"] = _encode_token(next_token)
    return out


def _query_series(
    ctx: RequestContext, query: dict, start: datetime, end: datetime, descending: bool
) -> list[tuple[datetime, float]]:
    stat = query["MetricStat"]
    metric = stat["Metric"]
    period = stat["Period"]
    points = _points(
        _store(ctx),
        metric.get("Namespace", ""),
        metric.get("MetricName", ""),
        metric.get("Dimensions"),
        _aligned(start, period),
        end,
        stat.get("Unit"),
    )
    series = [
        (moment, _statistic([p.value for p in bucket], stat["Stat"]))
        for moment, bucket in _buckets(points, period).items()
    ]
    return sorted(series, reverse=descending)


# --- ListMetrics ----------------------------------------------------------------------------------


@handler("cloudwatch", "ListMetrics")
def list_metrics(ctx: RequestContext, params: dict) -> dict:
    store = _store(ctx)
    filters = params.get("Dimensions") or []
    recent_since = datetime.now(UTC) - timedelta(hours=3) if params.get("RecentlyActive") == "PT3H" else None
    metrics = []
    for namespace, name, key in store.series(params.get("Namespace"), params.get("MetricName")):
        dimensions = parse_dimensions(key)
        if not _matches(dimensions, filters):
            continue
        if recent_since and not store.query(
            namespace, name, dimensions, recent_since, datetime.now(UTC) + timedelta(days=1)
        ):
            continue
        metrics.append({"Namespace": namespace, "MetricName": name, "Dimensions": dimensions})
    offset = int(_decode_token(params.get("NextToken")).get("offset", 0))
    out: dict[str, Any] = {"Metrics": metrics[offset : offset + LIST_PAGE]}
    if offset + LIST_PAGE < len(metrics):
        out["NextToken"] = _encode_token({"offset": offset + LIST_PAGE})
    return out


def _matches(dimensions: list[dict[str, str]], filters: list[dict[str, str]]) -> bool:
    have = {d["Name"]: d["Value"] for d in dimensions}
    for wanted in filters:
        if wanted["Name"] not in have:
            return False
        if wanted.get("Value") is not None and have[wanted["Name"]] != wanted["Value"]:
            return False
    return True
