"""CloudWatch metric points: written by the engine (training metrics) and by PutMetricData, read by
GetMetricStatistics / GetMetricData / ListMetrics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from openmaker.storage.db import Database
from openmaker.storage.metrics_schema import MetricPointRow


def dimensions_key(dimensions: dict[str, str] | Iterable[dict[str, str]] | None) -> str:
    """A canonical string for a set of dimensions (order-insensitive)."""
    if not dimensions:
        return ""
    pairs = (
        dimensions.items() if isinstance(dimensions, dict) else ((d["Name"], d["Value"]) for d in dimensions)
    )
    return ";".join(f"{name}={value}" for name, value in sorted(pairs))


def parse_dimensions(key: str) -> list[dict[str, str]]:
    if not key:
        return []
    return [dict(zip(("Name", "Value"), part.split("=", 1), strict=True)) for part in key.split(";")]


@dataclass(frozen=True)
class MetricPoint:
    namespace: str
    metric_name: str
    dimensions: str
    timestamp: datetime
    value: float
    unit: str = "None"


class MetricStore:
    def __init__(self, db: Database, account_id: str, region: str) -> None:
        self.db = db
        self.account_id = account_id
        self.region = region

    def put(
        self,
        namespace: str,
        metric_name: str,
        dimensions: dict[str, str] | Iterable[dict[str, str]] | None,
        points: Iterable[tuple[datetime, float]],
        unit: str = "None",
    ) -> None:
        key = dimensions_key(dimensions)
        with self.db.session() as session:
            session.add_all(
                MetricPointRow(
                    account_id=self.account_id,
                    region=self.region,
                    namespace=namespace,
                    metric_name=metric_name,
                    dimensions=key,
                    timestamp=when if when.tzinfo else when.replace(tzinfo=UTC),
                    value=float(value),
                    unit=unit,
                )
                for when, value in points
            )

    def query(
        self,
        namespace: str,
        metric_name: str,
        dimensions: dict[str, str] | Iterable[dict[str, str]] | None,
        start: datetime,
        end: datetime,
    ) -> list[MetricPoint]:
        """Points of one series with start <= timestamp < end, oldest first."""
        key = dimensions_key(dimensions)
        with self.db.session() as session:
            rows = session.scalars(
                select(MetricPointRow)
                .where(
                    MetricPointRow.account_id == self.account_id,
                    MetricPointRow.region == self.region,
                    MetricPointRow.namespace == namespace,
                    MetricPointRow.metric_name == metric_name,
                    MetricPointRow.dimensions == key,
                    MetricPointRow.timestamp >= start,
                    MetricPointRow.timestamp < end,
                )
                .order_by(MetricPointRow.timestamp, MetricPointRow.id)
            )
            return [
                MetricPoint(r.namespace, r.metric_name, r.dimensions, _utc(r.timestamp), r.value, r.unit)
                for r in rows
            ]

    def series(
        self, namespace: str | None = None, metric_name: str | None = None
    ) -> list[tuple[str, str, str]]:
        """Distinct (namespace, metric name, dimensions key) for ListMetrics."""
        query = select(MetricPointRow.namespace, MetricPointRow.metric_name, MetricPointRow.dimensions).where(
            MetricPointRow.account_id == self.account_id, MetricPointRow.region == self.region
        )
        if namespace:
            query = query.where(MetricPointRow.namespace == namespace)
        if metric_name:
            query = query.where(MetricPointRow.metric_name == metric_name)
        with self.db.session() as session:
            return sorted(set(session.execute(query.distinct()).all()))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
