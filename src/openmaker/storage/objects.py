"""The filesystem object store: metadata in the database, bytes in immutable blob files.

Blob files are named by random ids under ``root/blobs/<bucket id>/<xx>/``; no path is ever derived
from a key, so any key (``../``, NUL, 1024 UTF-8 bytes) is harmless. A write goes to a temp file in
``root/tmp`` (same filesystem), is renamed to its final blob name, and only then one database
transaction makes it visible; blobs it replaces are unlinked after that commit. A crash therefore
leaves the old or the new object visible, never a partial one, plus at worst an unreferenced file
that :meth:`ObjectStore.sweep` removes at start-up.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from openmaker.storage import errors
from openmaker.storage.db import Database
from openmaker.storage.hashing import b64, composite_checksum, new_hasher
from openmaker.storage.objects_schema import BucketRow, ObjectVersionRow, PartRow, UploadRow

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_KEY_BYTES = 1024
_BATCH = 1000
_COPY_CHUNK = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Values handed out (detached from any session)


@dataclass(frozen=True)
class BucketInfo:
    name: str
    owner: str
    region: str
    created_at: datetime
    versioning: str | None  # None (never enabled), "Enabled", "Suspended"
    id: int = 0


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    version_id: str  # "null" for objects written while versioning was off or suspended
    is_latest: bool
    is_delete_marker: bool
    last_modified: datetime  # aware UTC, whole seconds (as S3)
    size: int = 0
    etag: str = ""  # quoted, as S3 sends it: '"<md5>"' or '"<md5>-<N>"'
    blob: str | None = None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)  # ContentEncoding, CacheControl, ...
    checksum_algorithm: str | None = None
    checksum_value: str | None = None
    checksum_type: str | None = None
    parts_count: int | None = None
    owner: str | None = None
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class DeleteResult:
    key: str
    version_id: str | None  # the version removed, or the delete marker created
    delete_marker: bool


@dataclass(frozen=True)
class ListResult:
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None  # the last key or common prefix returned


@dataclass(frozen=True)
class VersionListResult:
    versions: list[ObjectInfo]  # delete markers included (is_delete_marker)
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None


@dataclass(frozen=True)
class UploadInfo:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    owner: str | None = None
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class UploadListResult:
    uploads: list[UploadInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    etag: str  # quoted
    size: int
    last_modified: datetime
    checksum_value: str | None = None


@dataclass(frozen=True)
class PartListResult:
    parts: list[PartInfo]
    is_truncated: bool
    next_part_number_marker: int | None


@dataclass(frozen=True)
class CompletedPart:
    part_number: int
    etag: str  # quotes optional
    checksum: str | None = None  # the part checksum the client sent, checked when given


# ---------------------------------------------------------------------------------------------
# Writing bytes


class BlobWriter:
    """A body being received: written to a temp file while MD5, size and a checksum are computed.

    Sync on purpose; the async handler feeds it chunks (or runs it in a thread). Finish it with
    ``ObjectStore.commit_object``/``upload_part`` or throw it away with :meth:`abort`.
    """

    def __init__(self, tmp_dir: Path, checksum_algorithm: str | None, fsync: bool) -> None:
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="w-")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._fsync = fsync
        self._md5 = hashlib.md5()
        self.checksum_algorithm = checksum_algorithm.upper() if checksum_algorithm else None
        self._checksum = new_hasher(self.checksum_algorithm) if self.checksum_algorithm else None
        self.size = 0
        self.closed = False
        self._md5_digest: bytes | None = None
        self._checksum_value: str | None = None

    def write(self, data: bytes) -> None:
        if self.closed:
            raise ValueError("write to a finished BlobWriter")
        self._file.write(data)
        self._md5.update(data)
        if self._checksum is not None:
            self._checksum.update(data)
        self.size += len(data)

    @property
    def md5_digest(self) -> bytes:
        return self._md5_digest if self._md5_digest is not None else self._md5.digest()

    @property
    def md5_hex(self) -> str:
        return self.md5_digest.hex()

    @property
    def checksum_value(self) -> str | None:
        """Base64 of the requested checksum over everything written so far."""
        if self._checksum_value is not None:
            return self._checksum_value
        return b64(self._checksum.digest()) if self._checksum is not None else None

    def finish(self) -> Path:
        """Flush (and fsync when asked) and close the temp file; the values stay readable."""
        if not self.closed:
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())
            self._file.close()
            self._md5_digest = self._md5.digest()
            self._checksum_value = self.checksum_value
            self.closed = True
        return self.path

    def abort(self) -> None:
        """Forget the body: nothing was or will be stored."""
        if not self.closed:
            self._file.close()
            self.closed = True
        _unlink(self.path)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type, *_: object) -> None:
        if exc_type is not None:
            self.abort()


def _unlink(path: Path | str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


def _aware(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _quote(etag: str) -> str:
    return f'"{etag}"'


def _unquote(etag: str) -> str:
    return etag.strip().strip('"')


def new_version_id() -> str:
    """A random, URL-safe version id (S3's are 32 characters)."""
    return secrets.token_urlsafe(24)


def prefix_successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``.

    UTF-8 byte order equals code point order, so bumping the last code point (skipping the
    surrogates, dropping U+10FFFF) gives the exclusive upper bound of the prefix's key range.
    """
    while prefix:
        code = ord(prefix[-1]) + 1
        if code == 0xD800:
            code = 0xE000
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


def check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise errors.KeyTooLongError()


# ---------------------------------------------------------------------------------------------


class ObjectStore:
    """Buckets, versioned objects and multipart uploads over one database and one directory."""

    def __init__(
        self, db: Database, root: Path | str, *, fsync: bool = False, min_part_size: int = MIN_PART_SIZE
    ) -> None:
        self.db = db
        self.root = Path(root)
        self.fsync = fsync
        self.min_part_size = min_part_size
        self.tmp_dir = self.root / "tmp"
        self.blob_dir = self.root / "blobs"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)

    # -- blobs ---------------------------------------------------------------------------------

    def new_writer(self, checksum_algorithm: str | None = None) -> BlobWriter:
        return BlobWriter(self.tmp_dir, checksum_algorithm, self.fsync)

    def blob_path(self, obj: ObjectInfo | str) -> Path:
        """The file holding an object's bytes (serve ranges from it; never write to it)."""
        rel = obj if isinstance(obj, str) else obj.blob
        if not rel:
            raise ValueError("a delete marker has no bytes")
        return self.root / rel

    def _publish(self, tmp: Path, bucket_id: int) -> str:
        """Rename a finished temp file to a new blob name; returns the path relative to root."""
        name = secrets.token_hex(16)
        rel = f"blobs/{bucket_id}/{name[:2]}/{name}"
        final = self.root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        if self.fsync:
            fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return rel

    def _discard(self, blobs: Sequence[str | None]) -> None:
        for rel in blobs:
            if rel:
                _unlink(self.root / rel)

    def sweep(self, older_than: float = 0.0) -> int:
        """Remove temp files and blob files no row points to; returns how many were removed.

        Meant for start-up: a blob published by a write still in flight has no row yet, so when
        running while serving pass ``older_than`` (seconds) well above any write's duration.
        """
        import time

        limit = time.time() - older_than
        removed = 0
        for path in self.tmp_dir.iterdir():
            if path.is_file() and path.stat().st_mtime <= limit:
                _unlink(path)
                removed += 1
        with self.db.session() as s:
            known = set(s.scalars(select(ObjectVersionRow.blob).where(ObjectVersionRow.blob.is_not(None))))
            known.update(s.scalars(select(PartRow.blob)))
        for dirpath, _dirs, files in os.walk(self.blob_dir):
            for name in files:
                path = Path(dirpath) / name
                rel = path.relative_to(self.root).as_posix()
                if rel not in known and path.stat().st_mtime <= limit:
                    _unlink(path)
                    removed += 1
        return removed

    # -- buckets -------------------------------------------------------------------------------

    @staticmethod
    def _bucket_info(row: BucketRow) -> BucketInfo:
        return BucketInfo(row.name, row.owner, row.region, _aware(row.created_at), row.versioning, row.id)

    def _bucket_row(self, s: Session, name: str) -> BucketRow:
        row = s.scalar(select(BucketRow).where(BucketRow.name == name))
        if row is None:
            raise errors.NoSuchBucket(BucketName=name)
        return row

    def _lock_bucket(self, s: Session, name: str) -> BucketRow:
        """Start a write transaction on ``name``: its first statement is a write, so writers of a
        bucket are serialized (row lock on PostgreSQL, the database lock on SQLite) before they
        read anything they will decide on."""
        done = s.execute(
            update(BucketRow).where(BucketRow.name == name).values(lock_seq=BucketRow.lock_seq + 1)
        )
        if done.rowcount == 0:
            raise errors.NoSuchBucket(BucketName=name)
        return self._bucket_row(s, name)

    def create_bucket(self, name: str, *, owner: str, region: str) -> BucketInfo:
        with self.db.session() as s:
            existing = s.scalar(select(BucketRow).where(BucketRow.name == name))
            if existing is not None:
                if existing.owner == owner:
                    raise errors.BucketAlreadyOwnedByYou(BucketName=name)
                raise errors.BucketAlreadyExists(BucketName=name)
            row = BucketRow(
                name=name,
                owner=owner,
                region=region,
                created_at=_now(),
                versioning=None,
                lock_seq=0,
                attributes={},
            )
            s.add(row)
            s.flush()
            return self._bucket_info(row)

    def get_bucket(self, name: str) -> BucketInfo:
        with self.db.session() as s:
            return self._bucket_info(self._bucket_row(s, name))

    def list_buckets(self, owner: str | None = None) -> list[BucketInfo]:
        with self.db.session() as s:
            q = select(BucketRow).order_by(BucketRow.name)
            if owner is not None:
                q = q.where(BucketRow.owner == owner)
            return [self._bucket_info(r) for r in s.scalars(q)]

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket (no versions, no delete markers); pending uploads are aborted."""
        with self.db.session() as s:
            row = self._lock_bucket(s, name)
            if s.scalar(select(ObjectVersionRow.id).where(ObjectVersionRow.bucket_id == row.id).limit(1)):
                raise errors.BucketNotEmpty(BucketName=name)
            part_blobs = list(
                s.scalars(
                    select(PartRow.blob)
                    .join(UploadRow, PartRow.upload_pk == UploadRow.id)
                    .where(UploadRow.bucket_id == row.id)
                )
            )
            upload_pks = select(UploadRow.id).where(UploadRow.bucket_id == row.id)
            s.execute(delete(PartRow).where(PartRow.upload_pk.in_(upload_pks)))
            s.execute(delete(UploadRow).where(UploadRow.bucket_id == row.id))
            s.delete(row)
            bucket_id = row.id
        self._discard(part_blobs)
        shutil.rmtree(self.blob_dir / str(bucket_id), ignore_errors=True)

    def set_versioning(self, name: str, status: str) -> None:
        if status not in ("Enabled", "Suspended"):
            raise errors.InvalidRequest("Versioning status must be Enabled or Suspended")
        with self.db.session() as s:
            row = self._lock_bucket(s, name)
            if status == "Suspended" and row.versioning is None:
                return  # a never-versioned bucket stays unversioned (S3 reports no status)
            row.versioning = status

    def get_versioning(self, name: str) -> str | None:
        return self.get_bucket(name).versioning

    # -- objects: writing ----------------------------------------------------------------------

    def commit_object(
        self,
        bucket: str,
        key: str,
        writer: BlobWriter,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        headers: dict[str, Any] | None = None,
        owner: str | None = None,
        storage_class: str = "STANDARD",
    ) -> ObjectInfo:
        """Make what ``writer`` received the newest version of ``key`` (atomically)."""
        try:
            check_key(key)
            bucket_id = self.get_bucket(bucket).id
            tmp = writer.finish()
        except BaseException:
            writer.abort()
            raise
        fields = dict(
            size=writer.size,
            etag=writer.md5_hex,
            content_type=content_type,
            user_metadata=dict(metadata or {}),
            headers=dict(headers or {}),
            checksum_algorithm=writer.checksum_algorithm,
            checksum_value=writer.checksum_value,
            checksum_type="FULL_OBJECT" if writer.checksum_algorithm else None,
            parts_count=None,
            owner=owner,
            storage_class=storage_class or "STANDARD",
        )
        return self._commit(bucket, bucket_id, key, tmp, fields)

    def _commit(self, bucket: str, bucket_id: int, key: str, tmp: Path, fields: dict[str, Any]) -> ObjectInfo:
        try:
            rel = self._publish(tmp, bucket_id)
        except BaseException:
            _unlink(tmp)
            raise
        try:
            with self.db.session() as s:
                brow = self._lock_bucket(s, bucket)
                row, garbage = self._insert_version(s, brow, key, blob=rel, **fields)
                info = self._object_info(bucket, row)
        except BaseException:
            _unlink(self.root / rel)
            raise
        self._discard(garbage)
        return info

    def _insert_version(
        self, s: Session, brow: BucketRow, key: str, *, is_delete_marker: bool = False, **fields: Any
    ) -> tuple[ObjectVersionRow, list[str | None]]:
        """Add the newest version of ``key``; returns it and the blobs no longer referenced."""
        version_id = new_version_id() if brow.versioning == "Enabled" else "null"
        V = ObjectVersionRow
        s.execute(
            update(V)
            .where(V.bucket_id == brow.id, V.key == key, V.is_latest.is_(True))
            .values(is_latest=False)
        )
        garbage: list[str | None] = []
        if version_id == "null":
            for old in s.scalars(
                select(V).where(V.bucket_id == brow.id, V.key == key, V.version_id == "null")
            ):
                garbage.append(old.blob)
                s.delete(old)
            s.flush()
        row = V(
            bucket_id=brow.id,
            key=key,
            version_id=version_id,
            is_latest=True,
            is_delete_marker=is_delete_marker,
            last_modified=_now(),
            **fields,
        )
        s.add(row)
        s.flush()
        return row, garbage

    @staticmethod
    def _object_info(bucket: str, row: ObjectVersionRow) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=row.key,
            version_id=row.version_id,
            is_latest=row.is_latest,
            is_delete_marker=row.is_delete_marker,
            last_modified=_aware(row.last_modified),
            size=row.size or 0,
            etag=_quote(row.etag) if row.etag else "",
            blob=row.blob,
            content_type=row.content_type,
            metadata=dict(row.user_metadata or {}),
            headers=dict(row.headers or {}),
            checksum_algorithm=row.checksum_algorithm,
            checksum_value=row.checksum_value,
            checksum_type=row.checksum_type,
            parts_count=row.parts_count,
            owner=row.owner,
            storage_class=row.storage_class,
        )

    # -- objects: reading ----------------------------------------------------------------------

    def head_object(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        """The latest version (NoSuchKey if none or a delete marker) or the named one (which may be
        a delete marker: the caller decides what that means for its operation)."""
        V = ObjectVersionRow
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            q = select(V).where(V.bucket_id == brow.id, V.key == key)
            if version_id is None:
                row = s.scalar(q.where(V.is_latest.is_(True)))
                if row is None:
                    raise errors.NoSuchKey(Key=key)
                if row.is_delete_marker:
                    raise errors.NoSuchKey(Key=key, delete_marker=True, version_id=row.version_id)
            else:
                row = s.scalar(q.where(V.version_id == version_id))
                if row is None:
                    raise errors.NoSuchVersion(Key=key, VersionId=version_id)
            return self._object_info(bucket, row)

    get_object = head_object

    def read_range(self, obj: ObjectInfo, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes of ``obj`` in chunks (for copies; the HTTP layer streams from blob_path)."""
        remaining = obj.size - start if length is None else length
        with open(self.blob_path(obj), "rb") as f:
            f.seek(start)
            while remaining > 0:
                data = f.read(min(_COPY_CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    # -- objects: deleting ---------------------------------------------------------------------

    def delete_object(self, bucket: str, key: str, version_id: str | None = None) -> DeleteResult:
        """S3's DeleteObject: remove a version, or the object (unversioned), or add a delete marker."""
        V = ObjectVersionRow
        garbage: list[str | None] = []
        with self.db.session() as s:
            brow = self._lock_bucket(s, bucket)
            base = (V.bucket_id == brow.id, V.key == key)
            if version_id is not None:
                row = s.scalar(select(V).where(*base, V.version_id == version_id))
                if row is None:
                    return DeleteResult(key, version_id, False)
                was_latest, marker = row.is_latest, row.is_delete_marker
                garbage.append(row.blob)
                s.delete(row)
                s.flush()
                if was_latest:
                    newest = s.scalar(select(V).where(*base).order_by(V.id.desc()).limit(1))
                    if newest is not None:
                        newest.is_latest = True
                result = DeleteResult(key, version_id, marker)
            elif brow.versioning is None:
                garbage.extend(s.scalars(select(V.blob).where(*base)))
                s.execute(delete(V).where(*base))
                result = DeleteResult(key, None, False)
            else:
                row, garbage = self._insert_version(
                    s,
                    brow,
                    key,
                    is_delete_marker=True,
                    size=0,
                    etag=None,
                    blob=None,
                    user_metadata={},
                    headers={},
                    owner=None,
                )
                result = DeleteResult(key, row.version_id, True)
        self._discard(garbage)
        return result

    def delete_objects(
        self, bucket: str, items: Sequence[tuple[str, str | None]]
    ) -> list[DeleteResult | errors.StorageError]:
        """Delete many; each item gets its result or the error it raised."""
        self.get_bucket(bucket)
        out: list[DeleteResult | errors.StorageError] = []
        for key, version_id in items:
            try:
                check_key(key)
                out.append(self.delete_object(bucket, key, version_id))
            except errors.StorageError as exc:
                out.append(exc)
        return out

    # -- objects: copying ----------------------------------------------------------------------

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        src_version_id: str | None = None,
        replace_metadata: bool = False,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        headers: dict[str, Any] | None = None,
        checksum_algorithm: str | None = None,
        owner: str | None = None,
        storage_class: str | None = None,
    ) -> tuple[ObjectInfo, ObjectInfo]:
        """Copy a version to a new object; returns (new object, source). The blob is hard-linked
        when possible (blobs are immutable, so sharing an inode is safe)."""
        check_key(dst_key)
        src = self.head_object(src_bucket, src_key, src_version_id)
        if src.is_delete_marker:
            raise errors.InvalidRequest(
                "The source of a copy request may not specifically refer to a delete marker by version id."
            )
        dst_id = self.get_bucket(dst_bucket).id
        algorithm = (checksum_algorithm or src.checksum_algorithm or "").upper() or None
        reuse = "-" not in src.etag and algorithm == src.checksum_algorithm
        tmp = self.tmp_dir / f"c-{secrets.token_hex(16)}"
        if reuse:
            try:
                os.link(self.blob_path(src), tmp)
            except OSError:
                shutil.copyfile(self.blob_path(src), tmp)
            etag, checksum = _unquote(src.etag), src.checksum_value
        else:  # multipart source or a new checksum: the values must be computed over the bytes
            writer = self.new_writer(algorithm)
            try:
                for chunk in self.read_range(src):
                    writer.write(chunk)
                os.replace(writer.finish(), tmp)
            except BaseException:
                writer.abort()
                raise
            etag, checksum = writer.md5_hex, writer.checksum_value
        fields = dict(
            size=src.size,
            etag=etag,
            content_type=content_type if replace_metadata else src.content_type,
            user_metadata=dict(metadata or {}) if replace_metadata else dict(src.metadata),
            headers=dict(headers or {}) if replace_metadata else dict(src.headers),
            checksum_algorithm=algorithm,
            checksum_value=checksum,
            checksum_type="FULL_OBJECT" if algorithm else None,
            parts_count=None,
            owner=owner or src.owner,
            storage_class=storage_class or src.storage_class,
        )
        return self._commit(dst_bucket, dst_id, dst_key, tmp, fields), src

    # -- listing -------------------------------------------------------------------------------

    def _scan(
        self,
        s: Session,
        model: Any,
        where: Sequence[Any],
        hi: str | None,
        start: str,
        inclusive: bool,
        within_id: int | None = None,
        newest_first: bool = False,
        batch: int = _BATCH,
    ) -> Iterator[Any]:
        """Rows of ``model`` in (key, id) order from a start position, fetched in indexed batches.

        ``within_id`` resumes inside the rows of key ``start`` (after that id); ids run newest
        first for versions, oldest first for uploads.
        """
        order_id = model.id.desc() if newest_first else model.id.asc()
        key, wid, incl = start, within_id, inclusive
        batch = max(1, min(batch, _BATCH))
        while True:
            if wid is not None:
                id_cond = model.id < wid if newest_first else model.id > wid
                rows = list(
                    s.scalars(
                        select(model).where(*where, model.key == key, id_cond).order_by(order_id).limit(batch)
                    )
                )
                yield from rows
                if len(rows) == batch:
                    wid = rows[-1].id
                    continue
                wid, incl = None, False
            conds = [*where, model.key >= key if incl else model.key > key]
            if hi is not None:
                conds.append(model.key < hi)
            rows = list(s.scalars(select(model).where(*conds).order_by(model.key, order_id).limit(batch)))
            yield from rows
            if len(rows) < batch:
                return
            batch = _BATCH
            key, wid = rows[-1].key, rows[-1].id

    def _walk(
        self,
        scan: Any,
        prefix: str,
        delimiter: str | None,
        marker: str | None,
        max_items: int,
        start: str,
        inclusive: bool,
        within_id: int | None = None,
    ) -> tuple[list[Any], list[str], bool, str | None, Any]:
        """Roll rows into keys and common prefixes; a common prefix is skipped with one new query.

        Returns (rows, prefixes, truncated, last item's key or prefix, last row if last was a row).
        """
        rows: list[Any] = []
        prefixes: list[str] = []
        last_name: str | None = None
        last_row: Any = None
        it = scan(start, inclusive, within_id)
        while True:
            row = next(it, None)
            if row is None:
                return rows, prefixes, False, last_name, last_row
            if delimiter:
                cut = row.key.find(delimiter, len(prefix))
                if cut >= 0:
                    cp = row.key[: cut + len(delimiter)]
                    nxt = prefix_successor(cp)
                    if marker is None or cp > marker:
                        if len(rows) + len(prefixes) >= max_items:
                            return rows, prefixes, True, last_name, last_row
                        prefixes.append(cp)
                        last_name, last_row = cp, None
                    if nxt is None:
                        return rows, prefixes, False, last_name, last_row
                    it = scan(nxt, True, None)
                    continue
            if len(rows) + len(prefixes) >= max_items:
                return rows, prefixes, True, last_name, last_row
            rows.append(row)
            last_name, last_row = row.key, row

    @staticmethod
    def _start(prefix: str, marker: str | None) -> tuple[str, bool]:
        if marker is not None and marker >= prefix:
            return marker, False
        return prefix, True

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        marker: str | None = None,
        max_keys: int = 1000,
    ) -> ListResult:
        """Current objects in key order after ``marker`` (ListObjects marker, V2 start-after or
        continuation position)."""
        V = ObjectVersionRow
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            where = (V.bucket_id == brow.id, V.is_latest.is_(True), V.is_delete_marker.is_(False))
            hi = prefix_successor(prefix)

            def scan(start: str, incl: bool, _wid: int | None) -> Iterator[Any]:
                return self._scan(s, V, where, hi, start, incl, batch=max_keys + 1)

            start, incl = self._start(prefix, marker)
            rows, prefixes, truncated, last, _ = self._walk(
                scan, prefix, delimiter or None, marker, max_keys, start, incl
            )
            return ListResult(
                [self._object_info(bucket, r) for r in rows], prefixes, truncated, last if truncated else None
            )

    def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
        max_keys: int = 1000,
    ) -> VersionListResult:
        V = ObjectVersionRow
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            where = (V.bucket_id == brow.id,)
            hi = prefix_successor(prefix)

            def scan(start: str, incl: bool, wid: int | None) -> Iterator[Any]:
                return self._scan(s, V, where, hi, start, incl, wid, newest_first=True, batch=max_keys + 1)

            start, incl = self._start(prefix, key_marker)
            within = None
            if key_marker is not None and version_id_marker and key_marker >= prefix:
                within = s.scalar(
                    select(V.id).where(*where, V.key == key_marker, V.version_id == version_id_marker)
                )
            # A key marker inside a rolled-up prefix must not hide that key's own later versions.
            marker = key_marker if within is None else None
            rows, prefixes, truncated, last, last_row = self._walk(
                scan, prefix, delimiter or None, marker, max_keys, start, incl, within
            )
            return VersionListResult(
                [self._object_info(bucket, r) for r in rows],
                prefixes,
                truncated,
                last if truncated else None,
                last_row.version_id if truncated and last_row is not None else None,
            )

    # -- multipart -----------------------------------------------------------------------------

    @staticmethod
    def _upload_info(bucket: str, row: UploadRow) -> UploadInfo:
        return UploadInfo(
            upload_id=row.upload_id,
            bucket=bucket,
            key=row.key,
            initiated=_aware(row.initiated),
            content_type=row.content_type,
            metadata=dict(row.user_metadata or {}),
            headers=dict(row.headers or {}),
            checksum_algorithm=row.checksum_algorithm,
            checksum_type=row.checksum_type,
            owner=row.owner,
            storage_class=row.storage_class,
        )

    def _upload_row(self, s: Session, brow: BucketRow, key: str, upload_id: str) -> UploadRow:
        row = s.scalar(
            select(UploadRow).where(
                UploadRow.upload_id == upload_id, UploadRow.bucket_id == brow.id, UploadRow.key == key
            )
        )
        if row is None:
            raise errors.NoSuchUpload(UploadId=upload_id)
        return row

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        headers: dict[str, Any] | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
        owner: str | None = None,
        storage_class: str | None = None,
    ) -> UploadInfo:
        check_key(key)
        algorithm = checksum_algorithm.upper() if checksum_algorithm else None
        if algorithm and not checksum_type:
            checksum_type = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            row = UploadRow(
                upload_id=secrets.token_urlsafe(48),
                bucket_id=brow.id,
                key=key,
                initiated=_now(),
                content_type=content_type,
                user_metadata=dict(metadata or {}),
                headers=dict(headers or {}),
                checksum_algorithm=algorithm,
                checksum_type=checksum_type if algorithm else None,
                owner=owner,
                storage_class=storage_class or "STANDARD",
            )
            s.add(row)
            s.flush()
            return self._upload_info(bucket, row)

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        with self.db.session() as s:
            return self._upload_info(bucket, self._upload_row(s, self._bucket_row(s, bucket), key, upload_id))

    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, writer: BlobWriter
    ) -> PartInfo:
        """Store a part (replacing an earlier one with the same number); ETag is its MD5."""
        try:
            upload = self.get_upload(bucket, key, upload_id)
            bucket_id = self.get_bucket(bucket).id
            tmp = writer.finish()
            rel = self._publish(tmp, bucket_id)
        except BaseException:
            writer.abort()
            raise
        checksum = writer.checksum_value if writer.checksum_algorithm == upload.checksum_algorithm else None
        now = _now()
        old_blob: str | None = None
        try:
            with self.db.session() as s:
                brow = self._lock_bucket(s, bucket)
                urow = self._upload_row(s, brow, key, upload_id)
                part = s.get(PartRow, (urow.id, part_number))
                if part is None:
                    s.add(
                        PartRow(
                            upload_pk=urow.id,
                            part_number=part_number,
                            size=writer.size,
                            etag=writer.md5_hex,
                            checksum_value=checksum,
                            blob=rel,
                            last_modified=now,
                        )
                    )
                else:
                    old_blob = part.blob
                    part.size, part.etag, part.checksum_value = writer.size, writer.md5_hex, checksum
                    part.blob, part.last_modified = rel, now
        except BaseException:
            _unlink(self.root / rel)
            raise
        self._discard([old_blob])
        return PartInfo(part_number, _quote(writer.md5_hex), writer.size, _aware(now), checksum)

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int = 0, max_parts: int = 1000
    ) -> PartListResult:
        with self.db.session() as s:
            urow = self._upload_row(s, self._bucket_row(s, bucket), key, upload_id)
            rows = list(
                s.scalars(
                    select(PartRow)
                    .where(PartRow.upload_pk == urow.id, PartRow.part_number > part_number_marker)
                    .order_by(PartRow.part_number)
                    .limit(max_parts + 1)
                )
            )
        truncated = len(rows) > max_parts
        rows = rows[:max_parts]
        parts = [
            PartInfo(r.part_number, _quote(r.etag), r.size, _aware(r.last_modified), r.checksum_value)
            for r in rows
        ]
        return PartListResult(parts, truncated, parts[-1].part_number if parts else None)

    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart]
    ) -> ObjectInfo:
        """Validate the part list, concatenate the parts into one blob, publish it atomically."""
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            urow = self._upload_row(s, brow, key, upload_id)
            upload = self._upload_info(bucket, urow)
            stored = {
                p.part_number: p for p in s.scalars(select(PartRow).where(PartRow.upload_pk == urow.id))
            }
            stored = {n: (p.size, p.etag, p.checksum_value, p.blob) for n, p in stored.items()}
            bucket_id = brow.id
        if not parts:
            raise errors.InvalidRequest("You must specify at least one part")
        previous = 0
        for part in parts:
            if part.part_number <= previous:
                raise errors.InvalidPartOrder(UploadId=upload_id)
            previous = part.part_number
        chosen = []
        for part in parts:
            got = stored.get(part.part_number)
            if got is None or _unquote(part.etag) != got[1]:
                raise errors.InvalidPart(UploadId=upload_id, PartNumber=part.part_number, ETag=part.etag)
            if part.checksum and got[2] and part.checksum != got[2]:
                raise errors.InvalidPart(UploadId=upload_id, PartNumber=part.part_number, ETag=part.etag)
            chosen.append(got)
        for part, got in zip(parts[:-1], chosen[:-1], strict=True):
            if got[0] < self.min_part_size:
                raise errors.EntityTooSmall(
                    ProposedSize=got[0],
                    MinSizeAllowed=self.min_part_size,
                    PartNumber=part.part_number,
                    ETag=part.etag,
                )
        algorithm, ctype = upload.checksum_algorithm, upload.checksum_type
        full = new_hasher(algorithm) if algorithm and ctype == "FULL_OBJECT" else None
        tmp = self._concatenate([self.root / got[3] for got in chosen], full)
        md5s = b"".join(bytes.fromhex(got[1]) for got in chosen)
        etag = f"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}"
        checksum = None
        if algorithm:
            if full is not None:
                checksum = b64(full.digest())
            elif all(got[2] for got in chosen):
                checksum = composite_checksum(algorithm, [got[2] for got in chosen])
        fields = dict(
            size=sum(got[0] for got in chosen),
            etag=etag,
            content_type=upload.content_type,
            user_metadata=upload.metadata,
            headers=upload.headers,
            checksum_algorithm=algorithm if checksum else None,
            checksum_value=checksum,
            checksum_type=ctype if checksum else None,
            parts_count=len(chosen),
            owner=upload.owner,
            storage_class=upload.storage_class,
        )
        try:
            rel = self._publish(tmp, bucket_id)
        except BaseException:
            _unlink(tmp)
            raise
        try:
            with self.db.session() as s:
                brow = self._lock_bucket(s, bucket)
                urow = self._upload_row(s, brow, key, upload_id)
                part_blobs = list(s.scalars(select(PartRow.blob).where(PartRow.upload_pk == urow.id)))
                s.execute(delete(PartRow).where(PartRow.upload_pk == urow.id))
                s.delete(urow)
                row, garbage = self._insert_version(s, brow, key, blob=rel, **fields)
                info = self._object_info(bucket, row)
        except BaseException:
            _unlink(self.root / rel)
            raise
        self._discard(garbage + part_blobs)
        return info

    def _concatenate(self, sources: list[Path], hasher: Any) -> Path:
        """Join part files into one temp file (kernel copy unless a full-object checksum is needed)."""
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="m-")
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for src in sources:
                    with open(src, "rb") as f:
                        if hasher is None:
                            _copy_all(f, out)
                        else:
                            while data := f.read(_COPY_CHUNK):
                                hasher.update(data)
                                out.write(data)
                if self.fsync:
                    os.fsync(out.fileno())
        except BaseException:
            _unlink(name)
            raise
        return Path(name)

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self.db.session() as s:
            brow = self._lock_bucket(s, bucket)
            urow = self._upload_row(s, brow, key, upload_id)
            blobs = list(s.scalars(select(PartRow.blob).where(PartRow.upload_pk == urow.id)))
            s.execute(delete(PartRow).where(PartRow.upload_pk == urow.id))
            s.delete(urow)
        self._discard(blobs)

    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        max_uploads: int = 1000,
    ) -> UploadListResult:
        U = UploadRow
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            where = (U.bucket_id == brow.id,)
            hi = prefix_successor(prefix)

            def scan(start: str, incl: bool, wid: int | None) -> Iterator[Any]:
                return self._scan(s, U, where, hi, start, incl, wid, batch=max_uploads + 1)

            start, incl = self._start(prefix, key_marker)
            within = None
            if key_marker is not None and upload_id_marker and key_marker >= prefix:
                within = s.scalar(
                    select(U.id).where(*where, U.key == key_marker, U.upload_id == upload_id_marker)
                )
            marker = key_marker if within is None else None
            rows, prefixes, truncated, last, last_row = self._walk(
                scan, prefix, delimiter or None, marker, max_uploads, start, incl, within
            )
            return UploadListResult(
                [self._upload_info(bucket, r) for r in rows],
                prefixes,
                truncated,
                last if truncated else None,
                last_row.upload_id if truncated and last_row is not None else None,
            )

    def count_objects(self, bucket: str) -> int:
        """How many current objects a bucket holds (for the console)."""
        V = ObjectVersionRow
        with self.db.session() as s:
            brow = self._bucket_row(s, bucket)
            return (
                s.scalar(
                    select(func.count())
                    .select_from(V)
                    .where(and_(V.bucket_id == brow.id, V.is_latest.is_(True), V.is_delete_marker.is_(False)))
                )
                or 0
            )


def _copy_all(src: Any, dst: Any) -> None:
    """Copy a whole file with copy_file_range where the kernel offers it, else in chunks."""
    src_start, dst_start = src.tell(), dst.tell()
    if hasattr(os, "copy_file_range"):
        try:
            while os.copy_file_range(src.fileno(), dst.fileno(), 1 << 30):
                pass
            return
        except OSError:  # not supported here: start this file over the slow way
            src.seek(src_start)
            dst.seek(dst_start)
            dst.truncate()
    shutil.copyfileobj(src, dst, _COPY_CHUNK)
