"""Listing: ListObjects, ListObjectsV2, ListObjectVersions (EncodingType=url aware)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.services.s3.common import owner, s3_handler, store
from openmaker.storage.objects import ObjectInfo


def encoder(params: dict):
    """Encode names in the response when the client asked for EncodingType=url (botocore always
    does for these operations and decodes them again)."""
    encoding = params.get("EncodingType")
    if encoding and encoding != "url":
        raise AwsError("InvalidArgument", "Invalid Encoding Method specified in Request", 400,
                       ArgumentName="encoding-type", ArgumentValue=encoding)
    if encoding == "url":
        return lambda s: None if s is None else quote(s, safe="/")
    return lambda s: s


def max_keys(params: dict, name: str = "MaxKeys") -> int:
    value = params.get(name)
    if value is None:
        return 1000
    if value < 0:
        raise AwsError("InvalidArgument", f"Argument {name.lower()} must be an integer between 0 and 2147483647",
                       400, ArgumentName=name.lower(), ArgumentValue=value)
    return min(value, 1000)


def _entry(info: ObjectInfo, enc: Any, fetch_owner: bool) -> dict:
    entry: dict[str, Any] = {
        "Key": enc(info.key), "LastModified": info.last_modified, "ETag": info.etag, "Size": info.size,
        "StorageClass": info.storage_class or "STANDARD",
    }
    if info.checksum_algorithm:
        entry["ChecksumAlgorithm"] = [info.checksum_algorithm]
        entry["ChecksumType"] = info.checksum_type or "FULL_OBJECT"
    if fetch_owner:
        entry["Owner"] = owner(info.owner)
    return entry


def _common(params: dict, enc: Any, prefixes: list[str]) -> dict:
    out: dict[str, Any] = {"Name": params["Bucket"], "Prefix": enc(params.get("Prefix") or "")}
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
    if prefixes:
        out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in prefixes]
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out


@s3_handler("ListObjects")
def list_objects(ctx: RequestContext, params: dict) -> dict:
    enc = encoder(params)
    limit = max_keys(params)
    res = store(ctx).list_objects(params["Bucket"], prefix=params.get("Prefix") or "",
                                  delimiter=params.get("Delimiter"), marker=params.get("Marker") or None,
                                  max_keys=limit)
    out = _common(params, enc, res.common_prefixes)
    out.update(Marker=enc(params.get("Marker") or ""), MaxKeys=limit, IsTruncated=res.is_truncated)
    if res.contents:
        out["Contents"] = [_entry(o, enc, True) for o in res.contents]
    if res.is_truncated and params.get("Delimiter"):
        out["NextMarker"] = enc(res.next_marker)
    return out


def _token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def _position(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AwsError("InvalidArgument", "The continuation token provided is incorrect", 400,
                       ArgumentName="continuation-token") from None


@s3_handler("ListObjectsV2")
def list_objects_v2(ctx: RequestContext, params: dict) -> dict:
    enc = encoder(params)
    limit = max_keys(params)
    token = params.get("ContinuationToken")
    start_after = params.get("StartAfter")
    marker = _position(token) if token else start_after or None
    res = store(ctx).list_objects(params["Bucket"], prefix=params.get("Prefix") or "",
                                  delimiter=params.get("Delimiter"), marker=marker, max_keys=limit)
    out = _common(params, enc, res.common_prefixes)
    out.update(MaxKeys=limit, IsTruncated=res.is_truncated,
               KeyCount=len(res.contents) + len(res.common_prefixes))
    if res.contents:
        out["Contents"] = [_entry(o, enc, bool(params.get("FetchOwner"))) for o in res.contents]
    if token:
        out["ContinuationToken"] = token
    if start_after:
        out["StartAfter"] = enc(start_after)
    if res.is_truncated and res.next_marker is not None:
        out["NextContinuationToken"] = _token(res.next_marker)
    return out


@s3_handler("ListObjectVersions")
def list_object_versions(ctx: RequestContext, params: dict) -> dict:
    enc = encoder(params)
    limit = max_keys(params)
    key_marker = params.get("KeyMarker") or None
    version_marker = params.get("VersionIdMarker") or None
    if version_marker and not key_marker:
        raise AwsError("InvalidArgument", "A version-id marker cannot be specified without a key marker.", 400,
                       ArgumentName="version-id-marker", ArgumentValue=version_marker)
    res = store(ctx).list_object_versions(params["Bucket"], prefix=params.get("Prefix") or "",
                                          delimiter=params.get("Delimiter"), key_marker=key_marker,
                                          version_id_marker=version_marker, max_keys=limit)
    out = _common(params, enc, res.common_prefixes)
    out.update(KeyMarker=enc(key_marker or ""), VersionIdMarker=version_marker or "", MaxKeys=limit,
               IsTruncated=res.is_truncated)
    versions, markers = [], []
    for v in res.versions:
        base = {"Key": enc(v.key), "VersionId": v.version_id, "IsLatest": v.is_latest,
                "LastModified": v.last_modified, "Owner": owner(v.owner)}
        if v.is_delete_marker:
            markers.append(base)
        else:
            base.update(ETag=v.etag, Size=v.size, StorageClass=v.storage_class or "STANDARD")
            if v.checksum_algorithm:
                base["ChecksumAlgorithm"] = [v.checksum_algorithm]
                base["ChecksumType"] = v.checksum_type or "FULL_OBJECT"
            versions.append(base)
    if versions:
        out["Versions"] = versions
    if markers:
        out["DeleteMarkers"] = markers
    if res.is_truncated:
        out["NextKeyMarker"] = enc(res.next_key_marker)
        if res.next_version_id_marker:
            out["NextVersionIdMarker"] = res.next_version_id_marker
    return out
