"""Tarballs in and out of workspaces: safe extraction and streamed ``tar.gz`` packaging.

Extraction refuses absolute names, ``..`` components, device files and links that point outside the
target, whatever Python version's tarfile filters exist. Packaging streams tar → gzip → BlobWriter,
so a large model never sits in memory or in a second temp file.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import IO, Any

from openmaker.engine.s3io import S3Uri, walk_files

GZIP_LEVEL = 3


class UnsafeArchive(Exception):
    pass


def _check_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or name.startswith(("/", "\\")):
        raise UnsafeArchive(f"archive member {name!r} would land outside the target directory")
    return path


def _inside(base: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(base.resolve())
        return True
    except ValueError:
        return False


def safe_extract(source: IO[bytes] | Path, target: Path) -> int:
    """Extract a (possibly gzip-compressed) tar into ``target``; returns the number of members.

    Raises :class:`UnsafeArchive` before writing a member that is absolute, climbs with ``..``, is a
    device/FIFO, or is a link whose target resolves outside ``target``.
    """
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    kwargs: dict[str, Any] = {"name": source} if isinstance(source, Path) else {"fileobj": source}
    with tarfile.open(mode="r:*", **kwargs) as tar:
        for member in tar:
            rel = _check_name(member.name)
            dest = target / rel
            if not _inside(target, dest.parent):
                raise UnsafeArchive(f"archive member {member.name!r} goes through a link out of the target")
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.is_symlink() or dest.exists():
                    dest.unlink()
                extracted = tar.extractfile(member)
                assert extracted is not None
                with extracted, open(dest, "wb") as out:
                    while data := extracted.read(1024 * 1024):
                        out.write(data)
                os.chmod(dest, (member.mode & 0o777) | 0o600)
            elif member.issym() or member.islnk():
                link = member.linkname
                if PurePosixPath(link).is_absolute():
                    raise UnsafeArchive(f"archive link {member.name!r} points to an absolute path")
                base = dest.parent if member.issym() else target
                if not _inside(target, base / link):
                    raise UnsafeArchive(f"archive link {member.name!r} points outside the target")
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.is_symlink() or dest.exists():
                    dest.unlink()
                if member.issym():
                    os.symlink(link, dest)
                else:
                    os.link(target / link, dest)
            else:
                raise UnsafeArchive(f"archive member {member.name!r} is a device or FIFO")
            count += 1
    return count


class _WriterFile:
    """File-like face of a BlobWriter for gzip (which wants write/flush)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def write(self, data: bytes) -> int:
        self.writer.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def pack_dirs(objects: Any, roots: list[Path], uri: S3Uri) -> Any:
    """Stream ``roots`` (merged; the first holding a name wins) as one tar.gz object at ``uri``."""
    writer = objects.new_writer()
    seen: set[str] = set()
    try:
        gz_file = gzip.GzipFile(fileobj=_WriterFile(writer), mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        with gz_file as gz, tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for root in roots:
                for path in walk_files(root):
                    name = path.relative_to(root).as_posix()
                    if name not in seen:
                        seen.add(name)
                        tar.add(path, arcname=name, recursive=False)
    except BaseException:
        writer.abort()
        raise
    return objects.commit_object(uri.bucket, uri.key, writer, content_type="application/x-tar")


def has_files(roots: list[Path]) -> bool:
    return any(next(walk_files(root), None) is not None for root in roots)
