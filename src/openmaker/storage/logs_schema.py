"""Tables of CloudWatch Logs: groups, streams and events.

Events are ordered within a stream by ``(timestamp, seq)``; ``seq`` is a per-stream counter taken
from ``LogStream.next_seq``, so that pair is unique and both paging directions are index range
scans on ``ix_log_events_stream_ts``. Times are epoch milliseconds, as the Logs API speaks them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openmaker.storage.db import Base, NulEscapedText, binary_string

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (autoincrementing); BigInteger there.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class LogGroup(Base):
    __tablename__ = "log_groups"
    __table_args__ = (UniqueConstraint("account_id", "region", "name", name="uq_log_groups_name"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(binary_string(512))
    creation_time: Mapped[int] = mapped_column(BigInteger)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class LogStream(Base):
    __tablename__ = "log_streams"
    __table_args__ = (UniqueConstraint("group_id", "name", name="uq_log_streams_name"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("log_groups.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(binary_string(512))
    creation_time: Mapped[int] = mapped_column(BigInteger)
    first_event_timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_event_timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_ingestion_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    next_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class LogEvent(Base):
    __tablename__ = "log_events"
    __table_args__ = (Index("ix_log_events_stream_ts", "stream_id", "timestamp", "seq", unique=True),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("log_streams.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    ingestion_time: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text().with_variant(NulEscapedText(), "postgresql"))
