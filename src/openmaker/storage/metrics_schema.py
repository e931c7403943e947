"""CloudWatch metric data points (training metrics land here as jobs emit them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openmaker.storage.db import Base


class MetricPointRow(Base):
    __tablename__ = "cloudwatch_metric_points"
    __table_args__ = (
        Index("ix_cloudwatch_points_series", "namespace", "metric_name", "dimensions", "timestamp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    namespace: Mapped[str] = mapped_column(String(255))
    metric_name: Mapped[str] = mapped_column(String(255))
    dimensions: Mapped[str] = mapped_column(String(2048))  # canonical "Name=Value;..." sorted by name
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32), default="None")
