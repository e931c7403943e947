"""Object operations: put, get, head, delete (one or many), copy."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.streams import FileBody
from openmaker.services.s3.common import (
    ChecksumPlan,
    check_content_md5,
    check_key,
    checksum_fields,
    evaluate_conditions,
    parse_copy_source,
    parse_range,
    precondition_failed,
    s3_handler,
    store,
    stored_headers,
    version_of,
)
from openmaker.storage import errors
from openmaker.storage.objects import BlobWriter, ObjectInfo

# Bodies are handed to the writer in pieces of about this size, each hashed and written in a worker
# thread while the event loop receives the next one (hashlib and file writes release the GIL).
WRITE_BATCH = 1024 * 1024


async def _pipe_into(writer: BlobWriter, body: Any) -> None:
    """Feed a streaming body to ``writer``, overlapping receiving with hashing and writing."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future | None = None
    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in body:
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                data = b"".join(batch)
                batch.clear()
                batched = 0
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, writer.write, data)
    finally:
        if pending is not None:
            await asyncio.wait([pending])
    if pending is not None:
        pending.result()
    if batch:
        writer.write(b"".join(batch))


async def receive_body(ctx: RequestContext, params: dict, plan: ChecksumPlan) -> BlobWriter:
    """Stream the request body into a new writer and check its digests; aborted on any error."""
    writer = store(ctx).new_writer(plan.algorithm)
    try:
        body = params.get("Body")
        if isinstance(body, bytes | bytearray):
            writer.write(bytes(body))
        elif isinstance(body, str):
            writer.write(body.encode())
        elif body is not None:
            await _pipe_into(writer, body)
        declared = params.get("ContentLength")
        if declared is not None and body is not None and not plan.trailer and declared != writer.size \
                and "aws-chunked" not in ctx.request.headers.get("content-encoding", ""):
            raise AwsError("IncompleteBody", "You did not provide the number of bytes specified by the "
                           "Content-Length HTTP header.", 400)
        check_content_md5(params, writer)
        plan.verify(body, writer)
    except BaseException:
        writer.abort()
        raise
    return writer


@s3_handler("PutObject")
async def put_object(ctx: RequestContext, params: dict) -> dict:
    objects = store(ctx)
    bucket, key = params["Bucket"], params["Key"]
    check_key(key)
    await anyio.to_thread.run_sync(objects.get_bucket, bucket)
    plan = ChecksumPlan(ctx, params)
    writer = await receive_body(ctx, params, plan)
    try:
        if params.get("IfNoneMatch") == "*" or params.get("IfMatch"):
            await anyio.to_thread.run_sync(_check_write_conditions, objects, params)
        info = await anyio.to_thread.run_sync(lambda: objects.commit_object(
            bucket, key, writer, content_type=params.get("ContentType") or "binary/octet-stream",
            metadata=params.get("Metadata"), headers=stored_headers(params), owner=ctx.account_id,
            storage_class=params.get("StorageClass") or "STANDARD",
        ))
    except BaseException:
        writer.abort()
        raise
    out: dict[str, Any] = {"ETag": info.etag, **checksum_fields(info)}
    if version_of(info):
        out["VersionId"] = info.version_id
    return out


def _check_write_conditions(objects: Any, params: dict) -> None:
    """Conditional writes: If-None-Match: * (create only) and If-Match (replace only that ETag)."""
    try:
        current = objects.head_object(params["Bucket"], params["Key"])
    except errors.NoSuchKey:
        current = None
    if params.get("IfNoneMatch") == "*" and current is not None:
        raise precondition_failed("If-None-Match")
    if params.get("IfMatch"):
        if current is None:
            raise AwsError("NoSuchKey", "The specified key does not exist.", 404, Key=params["Key"])
        if params["IfMatch"].strip('"') != current.etag.strip('"'):
            raise precondition_failed("If-Match")


def _object_headers(info: ObjectInfo, params: dict) -> dict[str, Any]:
    """The members GetObject and HeadObject share."""
    out: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "LastModified": info.last_modified,
        "ETag": info.etag,
        "ContentType": info.content_type or "binary/octet-stream",
        "Metadata": info.metadata or None,
    }
    for name in ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires",
                 "WebsiteRedirectLocation"):
        if info.headers.get(name) is not None:
            out[name] = info.headers[name]
    for name in ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType",
                 "Expires"):
        override = params.get(f"Response{name}")
        if override is not None:
            out[name] = override
    if version_of(info):
        out["VersionId"] = info.version_id
    if info.storage_class and info.storage_class != "STANDARD":
        out["StorageClass"] = info.storage_class
    if params.get("ChecksumMode") == "ENABLED":
        out.update(checksum_fields(info))
    return out


def _read_target(ctx: RequestContext, params: dict, method: str) -> tuple[ObjectInfo, tuple[int, int] | None]:
    """Find the version a GET/HEAD asks for and apply its conditions and range."""
    version_id = params.get("VersionId")
    info = store(ctx).head_object(params["Bucket"], params["Key"], version_id)
    if info.is_delete_marker:
        raise AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405,
                       headers={"x-amz-delete-marker": "true", "x-amz-version-id": info.version_id,
                                "allow": "DELETE"}, Method=method, ResourceType="DeleteMarker")
    status = evaluate_conditions(info, params.get("IfMatch"), params.get("IfNoneMatch"),
                                 params.get("IfModifiedSince"), params.get("IfUnmodifiedSince"))
    if status == 412:
        raise precondition_failed("If-Match" if params.get("IfMatch") else "If-Unmodified-Since")
    if status == 304:
        raise _NotModified(info)
    part = params.get("PartNumber")
    if part is not None:
        if part != 1 or (info.parts_count or 1) > 1:
            if part < 1 or part > (info.parts_count or 1):
                raise AwsError("InvalidPartNumber", "The requested partnumber is not satisfiable", 416,
                               PartNumberRequested=part, ActualPartCount=info.parts_count or 1)
            raise AwsError("NotImplemented", "openmaker does not serve single parts of multipart objects yet.", 501)
        return info, None
    return info, parse_range(params.get("Range"), info.size)


class _NotModified(Exception):
    def __init__(self, info: ObjectInfo) -> None:
        super().__init__("not modified")
        self.info = info


def _not_modified(ctx: RequestContext, info: ObjectInfo) -> dict:
    ctx.response_status = 304
    return {"ETag": info.etag, "LastModified": info.last_modified}


@s3_handler("GetObject")
def get_object(ctx: RequestContext, params: dict) -> dict:
    try:
        info, window = _read_target(ctx, params, "GET")
    except _NotModified as nm:
        return _not_modified(ctx, nm.info)
    out = _object_headers(info, params)
    if info.parts_count and params.get("PartNumber"):
        out["PartsCount"] = info.parts_count
    path = store(ctx).blob_path(info)
    if window is None:
        out["ContentLength"] = info.size
        out["Body"] = FileBody(path, 0, info.size)
    else:
        start, end = window
        ctx.response_status = 206
        out["ContentLength"] = end - start + 1
        out["ContentRange"] = f"bytes {start}-{end}/{info.size}"
        out["Body"] = FileBody(path, start, end - start + 1)
        out.pop("ChecksumType", None)
        for name in [k for k in out if k.startswith("Checksum")]:
            out.pop(name)  # S3 gives no whole-object checksum for a range
    return out


@s3_handler("HeadObject")
def head_object(ctx: RequestContext, params: dict) -> dict:
    try:
        info, window = _read_target(ctx, params, "HEAD")
    except _NotModified as nm:
        return _not_modified(ctx, nm.info)
    out = _object_headers(info, params)
    if info.parts_count and params.get("PartNumber"):
        out["PartsCount"] = info.parts_count
    if window is None:
        out["ContentLength"] = info.size
    else:
        start, end = window
        ctx.response_status = 206
        out["ContentLength"] = end - start + 1
        out["ContentRange"] = f"bytes {start}-{end}/{info.size}"
    return out


@s3_handler("DeleteObject")
def delete_object(ctx: RequestContext, params: dict) -> dict:
    key = params["Key"]
    check_key(key)
    result = store(ctx).delete_object(params["Bucket"], key, params.get("VersionId"))
    out: dict[str, Any] = {}
    if result.delete_marker:
        out["DeleteMarker"] = True
    if result.version_id:
        out["VersionId"] = result.version_id
    return out


@s3_handler("DeleteObjects")
def delete_objects(ctx: RequestContext, params: dict) -> dict:
    spec = params.get("Delete") or {}
    items = spec.get("Objects") or []
    if len(items) > 1000:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                       "our published schema", 400)
    results = store(ctx).delete_objects(params["Bucket"], [(o["Key"], o.get("VersionId")) for o in items])
    deleted, failed = [], []
    for item, result in zip(items, results, strict=True):
        if isinstance(result, errors.StorageError):
            failed.append({"Key": item["Key"], "VersionId": item.get("VersionId"), "Code": result.code,
                           "Message": result.message})
            continue
        entry: dict[str, Any] = {"Key": result.key}
        if item.get("VersionId"):
            entry["VersionId"] = item["VersionId"]
        if result.delete_marker:
            entry["DeleteMarker"] = True
            entry["DeleteMarkerVersionId"] = result.version_id
        deleted.append(entry)
    out: dict[str, Any] = {}
    if deleted and not spec.get("Quiet"):
        out["Deleted"] = deleted
    if failed:
        out["Errors"] = failed
    return out


def check_copy_conditions(info: ObjectInfo, params: dict) -> None:
    status = evaluate_conditions(info, params.get("CopySourceIfMatch"), params.get("CopySourceIfNoneMatch"),
                                 params.get("CopySourceIfModifiedSince"), params.get("CopySourceIfUnmodifiedSince"))
    if status is not None:
        raise precondition_failed("x-amz-copy-source-If-Match" if params.get("CopySourceIfMatch")
                                  else "x-amz-copy-source-If-None-Match")


@s3_handler("CopyObject")
def copy_object(ctx: RequestContext, params: dict) -> dict:
    objects = store(ctx)
    src_bucket, src_key, src_version = parse_copy_source(params["CopySource"])
    bucket, key = params["Bucket"], params["Key"]
    check_key(key)
    source = objects.head_object(src_bucket, src_key, src_version)
    if source.is_delete_marker:
        raise AwsError("InvalidRequest", "The source of a copy request may not specifically refer to a delete "
                       "marker by version id.", 400)
    check_copy_conditions(source, params)
    directive = params.get("MetadataDirective") or "COPY"
    if directive not in ("COPY", "REPLACE"):
        raise AwsError("InvalidArgument", "Unknown metadata directive.", 400, ArgumentName="x-amz-metadata-directive",
                       ArgumentValue=directive)
    replace = directive == "REPLACE"
    changes = replace or params.get("StorageClass") or params.get("WebsiteRedirectLocation") \
        or params.get("ServerSideEncryption") or params.get("ChecksumAlgorithm")
    if (src_bucket, src_key) == (bucket, key) and not changes:
        raise AwsError("InvalidRequest", "This copy request is illegal because it is trying to copy an object to "
                       "itself without changing the object's metadata, storage class, website redirect location "
                       "or encryption attributes.", 400)
    new, src = objects.copy_object(
        src_bucket, src_key, bucket, key, src_version_id=source.version_id,
        replace_metadata=replace, content_type=params.get("ContentType") or "binary/octet-stream",
        metadata=params.get("Metadata"), headers=stored_headers(params),
        checksum_algorithm=params.get("ChecksumAlgorithm"), owner=ctx.account_id,
        storage_class=params.get("StorageClass"),
    )
    result: dict[str, Any] = {"ETag": new.etag, "LastModified": new.last_modified,
                              **checksum_fields(new)}
    out: dict[str, Any] = {"CopyObjectResult": result}
    if version_of(new):
        out["VersionId"] = new.version_id
    if version_of(src):
        out["CopySourceVersionId"] = src.version_id
    return out
