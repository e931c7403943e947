"""Staging S3 data into a host's workspace: training channels and processing inputs.

One function, :func:`stage_s3`, covers both APIs' options: S3Prefix / ManifestFile, FullyReplicated /
ShardedByS3Key (objects in key order, host ``i`` of ``n`` takes every ``n``-th), Gzip decompression,
File and FastFile mode (FastFile is File here: the data is local already). Pipe mode is refused with
a message the user can act on.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openmaker.engine.s3io import S3Uri, StagingError, head, list_keys, open_blob, place


@dataclass(frozen=True)
class Source:
    uri: str
    data_type: str = "S3Prefix"  # S3Prefix | ManifestFile
    distribution: str = "FullyReplicated"  # FullyReplicated | ShardedByS3Key
    compression: str = "None"  # None | Gzip
    mode: str = "File"  # File | FastFile | Pipe


def _relative(prefix: str, key: str) -> str:
    """Where an object goes under the channel: its key relative to the prefix (or to the prefix's
    parent folder when the prefix ends inside a name, e.g. ``data/tr`` → ``train/a.csv``)."""
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    if prefix == "" or prefix.endswith("/") or key[len(prefix)] == "/":
        return key[len(prefix) :].lstrip("/")
    parent = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    return key[len(parent) :].lstrip("/")


def _manifest_entries(objects: Any, uri: S3Uri) -> list[tuple[Any, str]]:
    with open_blob(objects, head(objects, uri)) as f:
        try:
            manifest = json.load(f)
        except ValueError as exc:
            raise StagingError(f"the manifest {uri} is not valid JSON") from exc
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise StagingError(f'the manifest {uri} must be a JSON list starting with {{"prefix": "s3://..."}}')
    base = S3Uri.parse(manifest[0].get("prefix", ""))
    entries = []
    for rel in manifest[1:]:
        if not isinstance(rel, str):
            raise StagingError(f"the manifest {uri} has a non-string entry {rel!r}")
        entries.append((head(objects, S3Uri(base.bucket, base.key + rel)), rel))
    return entries


def stage_s3(objects: Any, source: Source, dest: Path, host_index: int, host_count: int) -> int:
    """Fill ``dest`` with the source's objects for this host; returns how many were staged."""
    if source.mode == "Pipe":
        raise StagingError(
            "Pipe input mode is not supported by openmaker; use File or FastFile (the data is read "
            "from local files, which is as fast)"
        )
    uri = S3Uri.parse(source.uri)
    if source.data_type == "ManifestFile":
        entries = _manifest_entries(objects, uri)
    elif source.data_type == "S3Prefix":
        entries = [(info, _relative(uri.key, info.key)) for info in list_keys(objects, uri)]
        if not entries:
            raise StagingError(f"no objects found under {source.uri}")
    else:
        raise StagingError(f"S3DataType {source.data_type} is not supported (use S3Prefix or ManifestFile)")
    if source.distribution == "ShardedByS3Key" and host_count > 1:
        entries = sorted(entries, key=lambda e: e[0].key)[host_index::host_count]
    dest.mkdir(parents=True, exist_ok=True)
    for info, rel in entries:
        target = dest / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise StagingError(f"object key {info.key!r} would land outside the data directory")
        if source.compression == "Gzip":
            if target.suffix == ".gz":
                target = target.with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with (
                    open_blob(objects, info) as raw,
                    gzip.GzipFile(fileobj=raw) as gz,
                    open(target, "wb") as out,
                ):
                    shutil.copyfileobj(gz, out, 1024 * 1024)
            except (OSError, EOFError) as exc:
                raise StagingError(f"{info.key} is not gzip data (CompressionType Gzip)") from exc
        else:
            place(objects, info, target)
    return len(entries)
