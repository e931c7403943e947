"""Batch transform: CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob.

Same flow as training and processing (validate → record → ``engine.submit``). Create checks what
the service checks beyond the shapes: the model exists (the SDK matches "Could not find model"),
S3 URIs, DataProcessing paths that parse, and options openmaker cannot honour. Describe answers the
request as given, plus the execution parameters the engine settled on for the ones left out
(SageMaker reports those too, from the container's ``/execution-parameters`` or its defaults).
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.aws.handlers import handler
from openmaker.engine.data_processing import compile_path
from openmaker.engine.record_split import SPLIT_TYPES
from openmaker.services.sagemaker.common import (
    arn,
    check_instances,
    check_s3_uri,
    check_tags,
    drop_none,
    in_use,
    jobs,
    json_safe,
    list_records,
    not_found,
    stop_job,
)
from openmaker.storage.jobs import JobExists, JobRecord

KIND = "TransformJob"
EXECUTION_PARAMETERS = ("MaxConcurrentTransforms", "MaxPayloadInMB", "BatchStrategy")


def _missing(name: str):
    return not_found(f"Could not find requested job with name {name}")


@handler("sagemaker", "CreateTransformJob")
def create_transform_job(ctx: RequestContext, params: dict) -> dict:
    name = params["TransformJobName"]
    _validate(ctx, params)
    tags = check_tags(params.get("Tags"))
    job_arn = arn(ctx, "transform-job", name)
    spec = json_safe({key: value for key, value in params.items() if key != "Tags"})
    try:
        jobs(ctx).create(KIND, name, job_arn, spec, secondary_status=None, tags=tags)
    except JobExists:
        raise in_use(
            "Transform job names must be unique within an AWS account and region, and a transform job "
            f"with this name already exists ({job_arn})"
        ) from None
    ctx.app.engine.submit(KIND, name)
    return {"TransformJobArn": job_arn}


def _validate(ctx: RequestContext, params: dict) -> None:
    model = params["ModelName"]
    if jobs(ctx).get("Model", model) is None:
        raise validation_error(f'Could not find model "{arn(ctx, "model", model)}".')
    source = params["TransformInput"]["DataSource"].get("S3DataSource")
    if source is None:
        raise validation_error(
            "TransformInput.DataSource: openmaker reads transform input from S3 only (S3DataSource)."
        )
    check_s3_uri(source["S3Uri"], "TransformInput.DataSource.S3DataSource.S3Uri")
    if source.get("S3DataType") not in ("S3Prefix", "ManifestFile"):
        raise validation_error(
            f"S3DataType {source.get('S3DataType')} is not supported for batch transform; use S3Prefix or ManifestFile."
        )
    split_type = params["TransformInput"].get("SplitType") or "None"
    if split_type not in SPLIT_TYPES:
        raise validation_error(
            f"SplitType {split_type} is not supported; use one of {', '.join(SPLIT_TYPES)}."
        )
    check_s3_uri(params["TransformOutput"]["S3OutputPath"], "TransformOutput.S3OutputPath")
    check_instances(params["TransformResources"], "transformResources")
    payload = params.get("MaxPayloadInMB")
    if payload is not None and payload > 100:
        raise validation_error(
            f"1 validation error detected: Value '{payload}' at 'maxPayloadInMB' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    if payload == 0 and split_type != "None":
        raise validation_error("MaxPayloadInMB 0 (no limit) is only allowed with SplitType None.")
    processing = params.get("DataProcessing") or {}
    for key in ("InputFilter", "OutputFilter"):
        try:
            compile_path(processing.get(key), key)
        except ValueError as exc:
            raise validation_error(str(exc)) from None


@handler("sagemaker", "DescribeTransformJob")
def describe_transform_job(ctx: RequestContext, params: dict) -> dict:
    name = params["TransformJobName"]
    record = jobs(ctx).get(KIND, name)
    if record is None:
        raise _missing(name)
    return describe(ctx, record)


def describe(ctx: RequestContext, record: JobRecord) -> dict[str, Any]:
    members = ctx.operation.output_shape.members
    out: dict[str, Any] = {key: value for key, value in record.spec.items() if key in members}
    for key, value in (record.state.get("ExecutionParameters") or {}).items():
        if key in EXECUTION_PARAMETERS:
            out.setdefault(key, value)
    out.update(
        {
            "TransformJobName": record.name,
            "TransformJobArn": record.arn,
            "TransformJobStatus": record.status,
            "FailureReason": record.failure_reason,
            "TransformStartTime": record.start_time,
            "TransformEndTime": record.end_time,
            "CreationTime": record.creation_time,
        }
    )
    return drop_none(out)


@handler("sagemaker", "ListTransformJobs")
def list_transform_jobs(ctx: RequestContext, params: dict) -> dict:
    records, token = list_records(ctx, KIND, params)
    summaries = [
        drop_none(
            {
                "TransformJobName": r.name,
                "TransformJobArn": r.arn,
                "CreationTime": r.creation_time,
                "TransformEndTime": r.end_time,
                "LastModifiedTime": r.last_modified_time,
                "TransformJobStatus": r.status,
                "FailureReason": r.failure_reason,
            }
        )
        for r in records
    ]
    return drop_none({"TransformJobSummaries": summaries, "NextToken": token})


@handler("sagemaker", "StopTransformJob")
def stop_transform_job(ctx: RequestContext, params: dict) -> dict:
    name = params["TransformJobName"]
    return stop_job(ctx, KIND, name, _missing(name))
