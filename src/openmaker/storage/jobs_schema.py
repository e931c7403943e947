"""Tables of SageMaker's long-running resources (training, processing, transform, tuning jobs) and
the tags of any SageMaker ARN.

One table serves every job kind: the Create request is kept verbatim in ``spec`` and what the engine
learns while running (transitions, metrics, artifacts) in ``state``, so a new kind needs no schema
change. The status columns are real columns because lists filter and sort on them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openmaker.storage.db import Base, binary_string


class JobRow(Base):
    __tablename__ = "sagemaker_jobs"
    __table_args__ = (
        UniqueConstraint("account_id", "region", "kind", "name", name="uq_sagemaker_jobs_name"),
        Index("ix_sagemaker_jobs_kind_status", "kind", "status"),
        Index("ix_sagemaker_jobs_kind_created", "kind", "creation_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # TrainingJob, ProcessingJob, TransformJob, ...
    name: Mapped[str] = mapped_column(binary_string(128))
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    arn: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(32))
    secondary_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    spec: Mapped[dict] = mapped_column(JSON)
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    parent: Mapped[str | None] = mapped_column(String(128), nullable=True)  # e.g. the tuning job
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    creation_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_modified_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TagRow(Base):
    __tablename__ = "sagemaker_tags"

    arn: Mapped[str] = mapped_column(String(512), primary_key=True)
    key: Mapped[str] = mapped_column(binary_string(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256), default="")
