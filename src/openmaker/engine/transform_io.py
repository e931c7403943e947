"""A transform job's objects: which input files there are, how each is read, where its output goes.

Inputs are read straight from the object store's blob files (no HTTP, no staging copy), Gzip ones
through a streaming decompressor, so memory does not grow with file size. Each input file gets one
output object, ``<S3OutputPath>/<key relative to the input prefix>.out`` — the same relative path
the training channels use — written through a :class:`BlobWriter` and committed only when the whole
file succeeded: a file that fails leaves no partial ``.out`` (SageMaker writes none either, since a
partial file could not keep records in input order).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any, BinaryIO

from openmaker.engine.s3io import S3Uri, StagingError, list_keys, open_blob
from openmaker.engine.staging import _manifest_entries, _relative


@dataclass(frozen=True)
class InputFile:
    info: Any  # the object's ObjectInfo
    relative: str  # its path relative to the input prefix (or the manifest's prefix)

    @property
    def name(self) -> str:
        """How logs and FailureReason name the file: ``bucket/key``, as SageMaker's data logs do."""
        return f"{self.info.bucket}/{self.info.key}"


def list_inputs(objects: Any, transform_input: dict[str, Any]) -> list[InputFile]:
    """The job's input files in key order (S3Prefix) or manifest order (ManifestFile)."""
    source = (transform_input.get("DataSource") or {}).get("S3DataSource") or {}
    uri = S3Uri.parse(source.get("S3Uri", ""))
    data_type = source.get("S3DataType") or "S3Prefix"
    if data_type == "ManifestFile":
        return [InputFile(info, rel) for info, rel in _manifest_entries(objects, uri)]
    if data_type != "S3Prefix":
        raise StagingError(
            f"S3DataType {data_type} is not supported for transform input (use S3Prefix or ManifestFile)"
        )
    found = [InputFile(info, _relative(uri.key, info.key)) for info in list_keys(objects, uri)]
    if not found:
        raise StagingError(f"no objects found under {uri}")
    return found


def open_input(objects: Any, item: InputFile, compression: str) -> BinaryIO:
    """A streaming reader of the file's (decompressed) bytes."""
    raw = open_blob(objects, item.info)
    if compression != "Gzip":
        return raw
    return gzip.GzipFile(fileobj=raw, mode="rb")  # closing it does not close raw; see close_input


def close_input(stream: BinaryIO) -> None:
    inner = getattr(stream, "fileobj", None)
    stream.close()
    if inner is not None:
        inner.close()


def output_uri(output_path: str, item: InputFile) -> S3Uri:
    return S3Uri.parse(output_path).join(item.relative + ".out")


class OutputObject:
    """One ``.out`` being written; nothing is visible until :meth:`commit`."""

    def __init__(self, objects: Any, uri: S3Uri, content_type: str | None) -> None:
        self.objects = objects
        self.uri = uri
        self.content_type = content_type
        self.writer = objects.new_writer()
        self.size = 0

    def write(self, data: bytes) -> None:
        if data:
            self.writer.write(data)
            self.size += len(data)

    def commit(self) -> None:
        from openmaker.storage import errors

        try:
            self.objects.commit_object(
                self.uri.bucket, self.uri.key, self.writer, content_type=self.content_type
            )
        except errors.NoSuchBucket as exc:
            raise StagingError(f"the output bucket {self.uri.bucket!r} does not exist ({self.uri})") from exc

    def abort(self) -> None:
        self.writer.abort()
