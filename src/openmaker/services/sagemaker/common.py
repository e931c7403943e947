"""What every SageMaker job handler shares: ARNs, errors worded as the service words them, the checks
the service makes beyond the shapes, list filtering and opaque pagination tokens.

The job record keeps the Create request JSON-safe in ``spec`` (datetimes as ISO strings) so Describe
can hand it back as given; ``state`` is what the engine learned while running it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError, validation_error
from openmaker.storage.jobs import JobRecord, JobStore

S3_URI = re.compile(r"^(s3|https)://[^/]+(/.*)?$")
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+$")
SAGEMAKER_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]*):(\d{12}):([a-z-]+)/(.+)$")
TERMINAL = ("Completed", "Failed", "Stopped")


def jobs(ctx: RequestContext) -> JobStore:
    return ctx.app.jobs


def arn(ctx: RequestContext, resource: str, name: str) -> str:
    """SageMaker lower-cases the resource name in ARNs (names themselves keep their case)."""
    return f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:{resource}/{name.lower()}"


def not_found(message: str = "Requested resource not found.") -> AwsError:
    return validation_error(message)


def in_use(message: str) -> AwsError:
    return AwsError("ResourceInUse", message, 400)


# --- JSON-safe specs ------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """Params as the database can hold them: datetimes → ISO strings, bytes → base64 text."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def when(value: Any) -> datetime | None:
    """An ISO string the engine wrote (or a datetime) → an aware datetime for the serializer."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in d.items() if value is not None}


def transitions(record: JobRecord) -> list[dict[str, Any]]:
    """SecondaryStatusTransitions; every entry has a StatusMessage (the SDK's ``fit()`` indexes it)."""
    return [
        drop_none(
            {
                "Status": item.get("Status"),
                "StartTime": when(item.get("StartTime")),
                "EndTime": when(item.get("EndTime")),
                "StatusMessage": item.get("StatusMessage") or "",
            }
        )
        for item in record.state.get("SecondaryStatusTransitions") or []
    ]


# --- checks beyond the shapes ---------------------------------------------------------------------


def check_s3_uri(value: str, where: str) -> None:
    if not S3_URI.match(value):
        raise validation_error(f"{where} {value!r} is not a valid S3 URI: expected s3://bucket/prefix.")


def check_role(value: str | None) -> None:
    if value is not None and not ROLE_ARN.match(value):
        raise validation_error(
            f"Role ARN {value!r} is not a valid IAM role ARN (arn:aws:iam::<account>:role/<name>)."
        )


def check_instances(resources: dict, where: str) -> None:
    count = resources.get("InstanceCount")
    if count is not None and count < 1:
        raise validation_error(
            f"1 validation error detected: Value '{count}' at '{where}.instanceCount' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1"
        )


def check_image(ctx: RequestContext, uri: str, role: str, entrypoint: list[str] | None, config: dict) -> None:
    """Refuse, at create time, an image openmaker cannot run.

    The runtime's resolver knows which images have a command; asking it here turns what would be a
    job failing seconds later into an immediate ValidationException that says how to fix it (register
    the image, or give ContainerEntrypoint), which is what ``fit()`` users see first. If the resolver is
    not there, the engine reports the problem as the job's FailureReason instead.
    """
    try:
        from openmaker.engine.images import UnknownImage, resolve_image
    except ImportError:
        return
    try:
        spec = resolve_image(uri, ctx.app.settings.home)
        if not entrypoint and spec.command(role, "python3", config) is None:
            raise UnknownImage(spec.no_command_message(role))
    except UnknownImage as error:
        raise validation_error(str(error)) from None


def check_tags(tags: list[dict] | None) -> list[dict[str, str]]:
    tags = tags or []
    keys = [tag["Key"] for tag in tags]
    if len(set(keys)) != len(keys):
        raise validation_error("Tag keys must be unique.")
    for key in keys:
        if key.lower().startswith("aws:"):
            raise validation_error(f"Tag key {key!r} uses the reserved prefix 'aws:'.")
    return [{"Key": tag["Key"], "Value": tag.get("Value", "")} for tag in tags]


# --- listing --------------------------------------------------------------------------------------


def stop_job(ctx: RequestContext, kind: str, name: str, missing: AwsError) -> dict:
    """What every Stop*Job does: refuse a missing or finished job, mark it Stopping, let the engine
    stop it (SIGTERM, grace, SIGKILL)."""
    store = jobs(ctx)
    record = store.get(kind, name)
    if record is None:
        raise missing
    if record.terminal:
        raise validation_error(f"The job status is {record.status}")
    store.request_stop(kind, name)
    ctx.app.engine.stop(kind, name)
    return {}


def list_records(ctx: RequestContext, kind: str, params: dict) -> tuple[list[JobRecord], str | None]:
    """One page of a ListXxxJobs call: filters, sort, MaxResults and an opaque NextToken.

    The token binds the offset to the filters it was made for, so a token replayed with other
    filters is refused instead of silently skipping records.
    """
    filters = {
        key: params.get(key)
        for key in (
            "NameContains",
            "StatusEquals",
            "CreationTimeAfter",
            "CreationTimeBefore",
            "LastModifiedTimeAfter",
            "LastModifiedTimeBefore",
            "SortBy",
            "SortOrder",
        )
    }
    fingerprint = hashlib.sha256(json.dumps(json_safe(filters), sort_keys=True).encode()).hexdigest()[:16]
    offset = _decode_token(params.get("NextToken"), fingerprint)
    limit = params.get("MaxResults") or 10
    records = jobs(ctx).list(
        kind,
        status=params.get("StatusEquals"),
        name_contains=params.get("NameContains"),
        created_after=params.get("CreationTimeAfter"),
        created_before=params.get("CreationTimeBefore"),
        modified_after=params.get("LastModifiedTimeAfter"),
        modified_before=params.get("LastModifiedTimeBefore"),
        sort_by=params.get("SortBy") or "CreationTime",
        descending=(params.get("SortOrder") or "Descending") == "Descending",
        offset=offset,
        limit=limit + 1,
    )
    token = None
    if len(records) > limit:
        records = records[:limit]
        token = _encode_token(offset + limit, fingerprint)
    return records, token


def paginate(items: list[Any], params: dict, filters: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of an already filtered and sorted list (MaxResults, NextToken bound to ``filters``)."""
    fingerprint = hashlib.sha256(json.dumps(json_safe(filters), sort_keys=True).encode()).hexdigest()[:16]
    offset = _decode_token(params.get("NextToken"), fingerprint)
    limit = params.get("MaxResults") or 10
    page = items[offset : offset + limit]
    token = _encode_token(offset + limit, fingerprint) if offset + limit < len(items) else None
    return page, token


def _encode_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode()


def _decode_token(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
        if value.get("f") == fingerprint and isinstance(value.get("o"), int) and value["o"] >= 0:
            return value["o"]
    except (ValueError, AttributeError, binascii.Error):
        pass
    raise validation_error("The NextToken is not valid for this request.")
