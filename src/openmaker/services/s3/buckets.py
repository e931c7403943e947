"""Bucket operations: create, head, list, delete, location, versioning."""

from __future__ import annotations

import ipaddress
import re

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.services.s3.common import owner, s3_handler, store

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules."""
    bad = (
        not _NAME.match(name)
        or ".." in name or ".-" in name or "-." in name
        or name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )
    if not bad:
        try:
            ipaddress.IPv4Address(name)
            bad = True
        except ValueError:
            pass
    if bad:
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400, BucketName=name)


@s3_handler("ListBuckets")
def list_buckets(ctx: RequestContext, params: dict) -> dict:
    prefix = params.get("Prefix") or ""
    region = params.get("BucketRegion")
    buckets = [
        {"Name": b.name, "CreationDate": b.created_at, "BucketRegion": b.region}
        for b in store(ctx).list_buckets(ctx.account_id)
        if b.name.startswith(prefix) and (region is None or b.region == region)
    ]
    limit = params.get("MaxBuckets")
    token = params.get("ContinuationToken")
    if token:
        buckets = [b for b in buckets if b["Name"] > token]
    out: dict = {"Owner": owner(ctx.account_id)}
    if limit and len(buckets) > limit:
        buckets = buckets[:limit]
        out["ContinuationToken"] = buckets[-1]["Name"]
    out["Buckets"] = buckets
    if params.get("Prefix") is not None:
        out["Prefix"] = prefix
    return out


@s3_handler("CreateBucket")
def create_bucket(ctx: RequestContext, params: dict) -> dict:
    name = params["Bucket"]
    check_bucket_name(name)
    constraint = (params.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
    if constraint == "us-east-1":
        raise AwsError("InvalidLocationConstraint", "The specified location-constraint is not valid", 400,
                       LocationConstraint=constraint)
    if constraint == "EU":
        constraint = "eu-west-1"
    region = constraint or "us-east-1"
    if constraint and ctx.region not in ("us-east-1", constraint):
        raise AwsError("IllegalLocationConstraintException",
                       f"The {constraint} location constraint is incompatible for the region specific "
                       "endpoint this request was sent to.", 400)
    if not constraint and ctx.region != "us-east-1":
        region = ctx.region  # a regional endpoint makes its own region the default
    store(ctx).create_bucket(name, owner=ctx.account_id, region=region)
    return {"Location": f"/{name}"}


@s3_handler("HeadBucket")
def head_bucket(ctx: RequestContext, params: dict) -> dict:
    bucket = store(ctx).get_bucket(params["Bucket"])
    ctx.response_headers["x-amz-bucket-region"] = bucket.region
    return {"BucketRegion": bucket.region, "AccessPointAlias": False}


@s3_handler("DeleteBucket")
def delete_bucket(ctx: RequestContext, params: dict) -> dict:
    store(ctx).delete_bucket(params["Bucket"])
    return {}


@s3_handler("GetBucketLocation")
def get_bucket_location(ctx: RequestContext, params: dict) -> dict:
    region = store(ctx).get_bucket(params["Bucket"]).region
    return {"LocationConstraint": None if region == "us-east-1" else region}


@s3_handler("PutBucketVersioning")
def put_bucket_versioning(ctx: RequestContext, params: dict) -> dict:
    config = params.get("VersioningConfiguration") or {}
    status = config.get("Status")
    if status not in ("Enabled", "Suspended"):
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                       "our published schema", 400)
    store(ctx).set_versioning(params["Bucket"], status)
    return {}


@s3_handler("GetBucketVersioning")
def get_bucket_versioning(ctx: RequestContext, params: dict) -> dict:
    status = store(ctx).get_bucket(params["Bucket"]).versioning
    return {"Status": status} if status else {}
