"""Processing jobs: CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs, StopProcessingJob.

Same flow as training (validate → record → engine.submit); inputs and outputs are checked for what
the service refuses beyond the shapes: duplicate names, non-S3 URIs, local paths outside
``/opt/ml/processing``.
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.aws.handlers import handler
from openmaker.services.sagemaker.common import (
    arn,
    check_image,
    check_instances,
    check_role,
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

KIND = "ProcessingJob"
LOCAL_ROOT = "/opt/ml/processing"


def _missing(name: str):
    return not_found(f"Could not find requested job with name {name}")


@handler("sagemaker", "CreateProcessingJob")
def create_processing_job(ctx: RequestContext, params: dict) -> dict:
    name = params["ProcessingJobName"]
    _validate(ctx, params)
    tags = check_tags(params.get("Tags"))
    job_arn = arn(ctx, "processing-job", name)
    spec = json_safe({key: value for key, value in params.items() if key != "Tags"})
    try:
        jobs(ctx).create(KIND, name, job_arn, spec, tags=tags)
    except JobExists:
        raise in_use(
            "Processing job names must be unique within an AWS account and region, and a processing job "
            f"with this name already exists ({job_arn})"
        ) from None
    ctx.app.engine.submit(KIND, name)
    return {"ProcessingJobArn": job_arn}


def _check_local_path(path: str, where: str) -> None:
    if not (path == LOCAL_ROOT or path.startswith(LOCAL_ROOT + "/")) or "/../" in path + "/":
        raise validation_error(f"{where} LocalPath {path!r} must be a path under {LOCAL_ROOT}.")


def _validate(ctx: RequestContext, params: dict) -> None:
    check_role(params.get("RoleArn"))
    cluster = (params.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    check_instances(cluster, "processingResources.clusterConfig")
    names: set[str] = set()
    for item in params.get("ProcessingInputs") or []:
        input_name = item["InputName"]
        if input_name in names:
            raise validation_error(
                f"Input names must be unique; '{input_name}' appears more than once in ProcessingInputs."
            )
        names.add(input_name)
        s3 = item.get("S3Input")
        if s3 is None:
            raise validation_error(
                f"Processing input '{input_name}': openmaker reads inputs from S3 only (S3Input)."
            )
        check_s3_uri(s3["S3Uri"], f"Processing input '{input_name}' S3Uri")
        _check_local_path(s3.get("LocalPath", ""), f"Processing input '{input_name}'")
    outputs = (params.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    names = set()
    for item in outputs:
        output_name = item["OutputName"]
        if output_name in names:
            raise validation_error(
                f"Output names must be unique; '{output_name}' appears more than once in ProcessingOutputConfig."
            )
        names.add(output_name)
        s3 = item.get("S3Output")
        if s3 is None:
            raise validation_error(
                f"Processing output '{output_name}': openmaker writes outputs to S3 only (S3Output)."
            )
        check_s3_uri(s3["S3Uri"], f"Processing output '{output_name}' S3Uri")
        _check_local_path(s3.get("LocalPath", ""), f"Processing output '{output_name}'")
    app = params["AppSpecification"]
    check_image(
        ctx, app["ImageUri"], "process", app.get("ContainerEntrypoint"), params.get("Environment") or {}
    )


@handler("sagemaker", "DescribeProcessingJob")
def describe_processing_job(ctx: RequestContext, params: dict) -> dict:
    name = params["ProcessingJobName"]
    record = jobs(ctx).get(KIND, name)
    if record is None:
        raise _missing(name)
    return describe(ctx, record)


def describe(ctx: RequestContext, record: JobRecord) -> dict[str, Any]:
    members = ctx.operation.output_shape.members
    out: dict[str, Any] = {key: value for key, value in record.spec.items() if key in members}
    out.update(
        {
            "ProcessingJobName": record.name,
            "ProcessingJobArn": record.arn,
            "ProcessingJobStatus": record.status,
            "ExitMessage": record.state.get("ExitMessage"),
            "FailureReason": record.failure_reason,
            "ProcessingStartTime": record.start_time,
            "ProcessingEndTime": record.end_time,
            "CreationTime": record.creation_time,
            "LastModifiedTime": record.last_modified_time,
        }
    )
    return drop_none(out)


@handler("sagemaker", "ListProcessingJobs")
def list_processing_jobs(ctx: RequestContext, params: dict) -> dict:
    records, token = list_records(ctx, KIND, params)
    summaries = [
        drop_none(
            {
                "ProcessingJobName": r.name,
                "ProcessingJobArn": r.arn,
                "CreationTime": r.creation_time,
                "ProcessingEndTime": r.end_time,
                "LastModifiedTime": r.last_modified_time,
                "ProcessingJobStatus": r.status,
                "FailureReason": r.failure_reason,
                "ExitMessage": r.state.get("ExitMessage"),
            }
        )
        for r in records
    ]
    return drop_none({"ProcessingJobSummaries": summaries, "NextToken": token})


@handler("sagemaker", "StopProcessingJob")
def stop_processing_job(ctx: RequestContext, params: dict) -> dict:
    name = params["ProcessingJobName"]
    return stop_job(ctx, KIND, name, _missing(name))
