"""Tables of the object store: buckets, object versions, multipart uploads and their parts.

Only metadata lives here; bytes live in blob files named by random ids (see ``objects.py``).
Keys must sort in UTF-8 binary order (S3's order): SQLite's default BINARY collation compares the
UTF-8 bytes, PostgreSQL needs ``COLLATE "C"``, which the ``KeyType`` variant asks for.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from openmaker.storage.db import Base, NulEscapedString, binary_string

# Object keys: up to 1024 UTF-8 bytes, compared bytewise. On PostgreSQL NUL is escaped (see
# NulEscapedString), which may double the length.
KeyType = String(1024).with_variant(NulEscapedString(2048, collation="C"), "postgresql")


class BucketRow(Base):
    __tablename__ = "s3_buckets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(binary_string(63), unique=True, nullable=False)
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    region: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    versioning: Mapped[str | None] = mapped_column(String(16))  # None, "Enabled", "Suspended"
    # Bumped by every write transaction: on PostgreSQL the row lock serializes writers of a bucket,
    # on SQLite the first write takes the database lock before anything is read.
    lock_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    attributes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # tags, policy...


class ObjectVersionRow(Base):
    __tablename__ = "s3_object_versions"
    __table_args__ = (
        UniqueConstraint("bucket_id", "key", "version_id", name="uq_s3_version"),
        # Listing the current objects: one range scan per page.
        Index("ix_s3_versions_current", "bucket_id", "is_latest", "is_delete_marker", "key"),
        # Listing versions: by key, newest first.
        Index("ix_s3_versions_key", "bucket_id", "key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("s3_buckets.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(KeyType, nullable=False)
    version_id: Mapped[str] = mapped_column(String(64), nullable=False)
    is_latest: Mapped[bool] = mapped_column(Boolean, nullable=False)
    is_delete_marker: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_modified: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    etag: Mapped[str | None] = mapped_column(String(80))  # unquoted: "<md5 hex>" or "<hex>-<N>"
    blob: Mapped[str | None] = mapped_column(String(200))  # path relative to the store root
    content_type: Mapped[str | None] = mapped_column(Text)  # as sent: no length limit
    user_metadata: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    headers: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # Content-Encoding...
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16))
    checksum_value: Mapped[str | None] = mapped_column(String(128))
    checksum_type: Mapped[str | None] = mapped_column(String(16))  # FULL_OBJECT / COMPOSITE
    parts_count: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(64))
    storage_class: Mapped[str] = mapped_column(String(32), nullable=False, default="STANDARD")


class UploadRow(Base):
    __tablename__ = "s3_multipart_uploads"
    __table_args__ = (Index("ix_s3_uploads_key", "bucket_id", "key", "initiated"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upload_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    bucket_id: Mapped[int] = mapped_column(ForeignKey("s3_buckets.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(KeyType, nullable=False)
    initiated: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    content_type: Mapped[str | None] = mapped_column(Text)  # as sent: no length limit
    user_metadata: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    headers: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16))
    checksum_type: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    storage_class: Mapped[str] = mapped_column(String(32), nullable=False, default="STANDARD")


class PartRow(Base):
    __tablename__ = "s3_multipart_parts"

    upload_pk: Mapped[int] = mapped_column(
        ForeignKey("s3_multipart_uploads.id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    etag: Mapped[str] = mapped_column(String(40), nullable=False)  # unquoted md5 hex
    checksum_value: Mapped[str | None] = mapped_column(String(128))
    blob: Mapped[str] = mapped_column(String(200), nullable=False)
    last_modified: Mapped[datetime] = mapped_column(DateTime, nullable=False)
