"""Multipart uploads: create, upload part (and part copy), list parts, complete, abort, list uploads."""

from __future__ import annotations

from typing import Any

import anyio.to_thread

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.services.s3.common import (
    CHECKSUM_MEMBERS,
    ChecksumPlan,
    check_key,
    checksum_fields,
    owner,
    parse_copy_source,
    s3_handler,
    store,
    stored_headers,
    version_of,
)
from openmaker.services.s3.listing import encoder, max_keys
from openmaker.services.s3.objects import check_copy_conditions, receive_body
from openmaker.storage.objects import CompletedPart, UploadInfo


def _part_number(params: dict) -> int:
    number = params.get("PartNumber")
    if number is None or not 1 <= number <= 10000:
        raise AwsError("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", 400,
                       ArgumentName="partNumber", ArgumentValue=number)
    return number


@s3_handler("CreateMultipartUpload")
def create_multipart_upload(ctx: RequestContext, params: dict) -> dict:
    key = params["Key"]
    check_key(key)
    algorithm = params.get("ChecksumAlgorithm")
    ctype = params.get("ChecksumType")
    if algorithm and algorithm.upper() not in {a for a in CHECKSUM_MEMBERS.values()}:
        raise AwsError("InvalidRequest", f"openmaker does not support the {algorithm} checksum yet.", 400)
    if ctype and not algorithm:
        algorithm = "CRC64NVME" if ctype == "FULL_OBJECT" else None
        if algorithm is None:
            raise AwsError("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                           "x-amz-checksum-algorithm header.", 400)
    if ctype == "FULL_OBJECT" and algorithm and algorithm.upper() in ("SHA1", "SHA256"):
        raise AwsError("InvalidRequest", f"The FULL_OBJECT checksum type cannot be used with the "
                       f"{algorithm.lower()} checksum algorithm.", 400)
    if ctype == "COMPOSITE" and algorithm and algorithm.upper() == "CRC64NVME":
        raise AwsError("InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme "
                       "checksum algorithm.", 400)
    upload = store(ctx).create_multipart_upload(
        params["Bucket"], key, content_type=params.get("ContentType") or "binary/octet-stream",
        metadata=params.get("Metadata"), headers=stored_headers(params), checksum_algorithm=algorithm,
        checksum_type=ctype, owner=ctx.account_id, storage_class=params.get("StorageClass"),
    )
    out: dict[str, Any] = {"Bucket": params["Bucket"], "Key": key, "UploadId": upload.upload_id}
    if upload.checksum_algorithm:
        out["ChecksumAlgorithm"] = upload.checksum_algorithm
        out["ChecksumType"] = upload.checksum_type
    return out


@s3_handler("UploadPart")
async def upload_part(ctx: RequestContext, params: dict) -> dict:
    objects = store(ctx)
    bucket, key, upload_id = params["Bucket"], params["Key"], params["UploadId"]
    number = _part_number(params)
    upload: UploadInfo = await anyio.to_thread.run_sync(objects.get_upload, bucket, key, upload_id)
    plan = ChecksumPlan(ctx, params, default=upload.checksum_algorithm)
    if upload.checksum_algorithm and plan.algorithm != upload.checksum_algorithm:
        raise AwsError("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                       f"{upload.checksum_algorithm.lower()}, actual checksum Type: "
                       f"{(plan.algorithm or 'null').lower()}", 400)
    writer = await receive_body(ctx, params, plan)
    part = await anyio.to_thread.run_sync(objects.upload_part, bucket, key, upload_id, number, writer)
    out: dict[str, Any] = {"ETag": part.etag}
    if plan.algorithm and writer.checksum_value:
        out[f"Checksum{plan.algorithm}"] = writer.checksum_value
    return out


@s3_handler("UploadPartCopy")
def upload_part_copy(ctx: RequestContext, params: dict) -> dict:
    objects = store(ctx)
    bucket, key, upload_id = params["Bucket"], params["Key"], params["UploadId"]
    number = _part_number(params)
    upload = objects.get_upload(bucket, key, upload_id)
    src_bucket, src_key, src_version = parse_copy_source(params["CopySource"])
    source = objects.head_object(src_bucket, src_key, src_version)
    if source.is_delete_marker:
        raise AwsError("InvalidRequest", "The source of a copy request may not specifically refer to a delete "
                       "marker by version id.", 400)
    check_copy_conditions(source, params)
    start, length = 0, source.size
    text = params.get("CopySourceRange")
    if text:
        first, sep, last = text.removeprefix("bytes=").partition("-")
        try:
            start, end = int(first), int(last)
        except ValueError:
            start, end = -1, -1
        if not text.startswith("bytes=") or not sep or start < 0 or end < start or end >= source.size:
            raise AwsError("InvalidArgument", "Range specified is not valid for source object of size: "
                           f"{source.size}", 400, ArgumentName="x-amz-copy-source-range", ArgumentValue=text)
        length = end - start + 1
    writer = objects.new_writer(upload.checksum_algorithm)
    try:
        for chunk in objects.read_range(source, start, length):
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    part = objects.upload_part(bucket, key, upload_id, number, writer)
    result: dict[str, Any] = {"ETag": part.etag, "LastModified": part.last_modified}
    if upload.checksum_algorithm and part.checksum_value:
        result[f"Checksum{upload.checksum_algorithm}"] = part.checksum_value
    out: dict[str, Any] = {"CopyPartResult": result}
    if version_of(source):
        out["CopySourceVersionId"] = source.version_id
    return out


@s3_handler("ListParts")
def list_parts(ctx: RequestContext, params: dict) -> dict:
    objects = store(ctx)
    bucket, key, upload_id = params["Bucket"], params["Key"], params["UploadId"]
    upload = objects.get_upload(bucket, key, upload_id)
    limit = max_keys(params, "MaxParts")
    marker = params.get("PartNumberMarker") or 0
    res = objects.list_parts(bucket, key, upload_id, part_number_marker=marker, max_parts=limit)
    parts = []
    for p in res.parts:
        entry: dict[str, Any] = {"PartNumber": p.part_number, "LastModified": p.last_modified, "ETag": p.etag,
                                 "Size": p.size}
        if upload.checksum_algorithm and p.checksum_value:
            entry[f"Checksum{upload.checksum_algorithm}"] = p.checksum_value
        parts.append(entry)
    out: dict[str, Any] = {
        "Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumberMarker": marker, "MaxParts": limit,
        "IsTruncated": res.is_truncated, "Initiator": _initiator(upload), "Owner": _owner(upload),
        "StorageClass": upload.storage_class or "STANDARD",
    }
    if parts:
        out["Parts"] = parts
    if res.next_part_number_marker is not None:
        out["NextPartNumberMarker"] = res.next_part_number_marker
    if upload.checksum_algorithm:
        out["ChecksumAlgorithm"] = upload.checksum_algorithm
        out["ChecksumType"] = upload.checksum_type
    return out


def _owner(upload: UploadInfo) -> dict:
    return owner(upload.owner)


def _initiator(upload: UploadInfo) -> dict:
    own = _owner(upload)
    return {"ID": f"arn:aws:iam::{upload.owner}:root" if upload.owner else own["ID"],
            "DisplayName": own["DisplayName"]}


@s3_handler("CompleteMultipartUpload")
def complete_multipart_upload(ctx: RequestContext, params: dict) -> dict:
    bucket, key, upload_id = params["Bucket"], params["Key"], params["UploadId"]
    objects = store(ctx)
    upload = objects.get_upload(bucket, key, upload_id)
    sent = (params.get("MultipartUpload") or {}).get("Parts") or []
    if not sent:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                       "our published schema", 400)
    algorithm = upload.checksum_algorithm
    parts = [CompletedPart(p["PartNumber"], p.get("ETag") or "",
                           p.get(f"Checksum{algorithm}") if algorithm else None) for p in sent]
    info = objects.complete_multipart_upload(bucket, key, upload_id, parts)
    out: dict[str, Any] = {
        "Location": f"/{bucket}/{key}", "Bucket": bucket, "Key": key, "ETag": info.etag,
        **checksum_fields(info),
    }
    if version_of(info):
        out["VersionId"] = info.version_id
    return out


@s3_handler("AbortMultipartUpload")
def abort_multipart_upload(ctx: RequestContext, params: dict) -> dict:
    store(ctx).abort_multipart_upload(params["Bucket"], params["Key"], params["UploadId"])
    return {}


@s3_handler("ListMultipartUploads")
def list_multipart_uploads(ctx: RequestContext, params: dict) -> dict:
    enc = encoder(params)
    limit = max_keys(params, "MaxUploads")
    key_marker = params.get("KeyMarker") or None
    res = store(ctx).list_multipart_uploads(
        params["Bucket"], prefix=params.get("Prefix") or "", delimiter=params.get("Delimiter"),
        key_marker=key_marker, upload_id_marker=params.get("UploadIdMarker") or None, max_uploads=limit,
    )
    out: dict[str, Any] = {
        "Bucket": params["Bucket"], "KeyMarker": enc(key_marker or ""),
        "UploadIdMarker": params.get("UploadIdMarker") or "", "MaxUploads": limit,
        "IsTruncated": res.is_truncated, "Prefix": enc(params.get("Prefix") or ""),
    }
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    if res.common_prefixes:
        out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in res.common_prefixes]
    uploads = []
    for u in res.uploads:
        entry: dict[str, Any] = {"UploadId": u.upload_id, "Key": enc(u.key), "Initiated": u.initiated,
                                 "StorageClass": u.storage_class or "STANDARD", "Owner": _owner(u),
                                 "Initiator": _initiator(u)}
        if u.checksum_algorithm:
            entry["ChecksumAlgorithm"] = u.checksum_algorithm
            entry["ChecksumType"] = u.checksum_type
        uploads.append(entry)
    if uploads:
        out["Uploads"] = uploads
    if res.is_truncated:
        out["NextKeyMarker"] = enc(res.next_key_marker)
        if res.next_upload_id_marker:
            out["NextUploadIdMarker"] = res.next_upload_id_marker
    return out
