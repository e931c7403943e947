"""Moving bytes between the object store and a job's workspace, without HTTP.

Staging hard-links blob files into the workspace (blobs are immutable and replaced by new names, so
a link is a zero-copy snapshot); uploads stream into a :class:`BlobWriter` and commit atomically.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHUNK = 1024 * 1024


class StagingError(Exception):
    """Input data could not be read (shown to the user as a ClientError FailureReason)."""


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not uri.startswith("s3://"):
            raise StagingError(f"not an S3 URI: {uri!r}")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise StagingError(f"no bucket in S3 URI: {uri!r}")
        return cls(bucket, key)

    def join(self, *parts: str) -> S3Uri:
        key = self.key.rstrip("/")
        for part in parts:
            part = part.strip("/")
            if part:
                key = f"{key}/{part}" if key else part
        return S3Uri(self.bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def list_keys(objects: Any, uri: S3Uri) -> list[Any]:
    """Every current object under ``uri``'s prefix (ObjectInfo), in key order; folder markers skipped."""
    from openmaker.storage import errors

    found: list[Any] = []
    marker: str | None = None
    try:
        while True:
            page = objects.list_objects(uri.bucket, prefix=uri.key, marker=marker, max_keys=1000)
            found.extend(o for o in page.contents if not o.key.endswith("/"))
            if not page.is_truncated or not page.contents:
                return found
            marker = page.next_marker or page.contents[-1].key
    except errors.NoSuchBucket as exc:
        raise StagingError(f"the bucket {uri.bucket!r} does not exist ({uri})") from exc


def head(objects: Any, uri: S3Uri) -> Any:
    from openmaker.storage import errors

    try:
        return objects.head_object(uri.bucket, uri.key)
    except (errors.NoSuchKey, errors.NoSuchBucket) as exc:
        raise StagingError(f"no object at {uri}") from exc


def place(objects: Any, info: Any, dest: Path, link: bool = True) -> None:
    """Put an object's bytes at ``dest``: a hard link to its blob when possible (``link``), else a
    copy (for files the job may rewrite in place, which must not reach the stored blob)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    source = objects.blob_path(info)
    if link:
        try:
            os.link(source, dest)
            return
        except OSError:
            pass
    shutil.copyfile(source, dest)


def open_blob(objects: Any, info: Any):
    return open(objects.blob_path(info), "rb")


def upload_file(objects: Any, path: Path, uri: S3Uri, content_type: str | None = None) -> Any:
    """Store one local file as ``uri`` (streamed through a BlobWriter, committed atomically)."""
    writer = objects.new_writer()
    try:
        with open(path, "rb") as f:
            while data := f.read(_CHUNK):
                writer.write(data)
    except BaseException:
        writer.abort()
        raise
    return objects.commit_object(uri.bucket, uri.key, writer, content_type=content_type)


def upload_tree(objects: Any, root: Path, uri: S3Uri) -> int:
    """Upload every regular file under ``root`` to ``uri``/<relative path>; returns the count."""
    count = 0
    for path in walk_files(root):
        upload_file(objects, path, uri.join(path.relative_to(root).as_posix()))
        count += 1
    return count


def walk_files(root: Path) -> Iterator[Path]:
    """Regular files under ``root`` (symlinks are not followed: a job cannot make us read outside)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path
