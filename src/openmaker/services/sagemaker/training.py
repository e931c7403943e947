"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

The handlers record and report; the engine runs. Create validates what the real service validates
beyond the shapes, records the job (InProgress/Starting) and hands it to the engine. Describe
rebuilds the real response from the recorded request (every member the output shape shares with it)
and what the engine wrote into the record's state.
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
    transitions,
    when,
)
from openmaker.storage.jobs import JobExists, JobRecord

KIND = "TrainingJob"


@handler("sagemaker", "CreateTrainingJob")
def create_training_job(ctx: RequestContext, params: dict) -> dict:
    name = params["TrainingJobName"]
    validate(ctx, params)
    tags = check_tags(params.get("Tags"))
    job_arn = arn(ctx, "training-job", name)
    spec = json_safe({key: value for key, value in params.items() if key != "Tags"})
    try:
        jobs(ctx).create(KIND, name, job_arn, spec, message="Preparing the instances for training", tags=tags)
    except JobExists:
        raise in_use(
            "Training job names must be unique within an AWS account and region, and a training job "
            f"with this name already exists ({job_arn})"
        ) from None
    ctx.app.engine.submit(KIND, name)
    return {"TrainingJobArn": job_arn}


def validate(ctx: RequestContext, params: dict) -> None:
    """What CreateTrainingJob checks beyond the shapes (tuning jobs check their definitions with it)."""
    algorithm = params.get("AlgorithmSpecification") or {}
    if not algorithm.get("TrainingImage"):
        if algorithm.get("AlgorithmName"):
            raise validation_error(
                "openmaker does not run AWS Marketplace algorithms (AlgorithmName); give AlgorithmSpecification.TrainingImage."
            )
        raise validation_error(
            "Either AlgorithmSpecification.TrainingImage or AlgorithmName must be specified."
        )
    check_role(params.get("RoleArn"))
    check_s3_uri(params["OutputDataConfig"]["S3OutputPath"], "OutputDataConfig.S3OutputPath")
    resources = params.get("ResourceConfig") or {}
    check_instances(resources, "resourceConfig")
    if not resources.get("InstanceType") and not resources.get("InstanceGroups"):
        raise validation_error("ResourceConfig must specify InstanceType (or InstanceGroups).")
    names: set[str] = set()
    for channel in params.get("InputDataConfig") or []:
        channel_name = channel["ChannelName"]
        if channel_name in names:
            raise validation_error(
                f"Channel names must be unique; '{channel_name}' appears more than once in InputDataConfig."
            )
        names.add(channel_name)
        source = channel.get("DataSource") or {}
        if source.get("S3DataSource"):
            check_s3_uri(source["S3DataSource"]["S3Uri"], f"InputDataConfig channel '{channel_name}' S3Uri")
        elif source.get("FileSystemDataSource"):
            raise validation_error(
                f"Channel '{channel_name}': openmaker reads channels from S3 only (FileSystemDataSource is not supported)."
            )
        else:
            raise validation_error(f"Channel '{channel_name}' must specify DataSource.S3DataSource.")
    checkpoint = params.get("CheckpointConfig")
    if checkpoint:
        check_s3_uri(checkpoint["S3Uri"], "CheckpointConfig.S3Uri")
    stopping = params.get("StoppingCondition") or {}
    if params.get("EnableManagedSpotTraining"):
        wait = stopping.get("MaxWaitTimeInSeconds")
        if wait is None:
            raise validation_error(
                "MaxWaitTimeInSeconds must be specified when EnableManagedSpotTraining is true."
            )
        if wait < stopping.get("MaxRuntimeInSeconds", 0):
            raise validation_error(
                "MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds."
            )
    check_image(
        ctx,
        algorithm["TrainingImage"],
        "train",
        algorithm.get("ContainerEntrypoint"),
        params.get("HyperParameters") or {},
    )


@handler("sagemaker", "DescribeTrainingJob")
def describe_training_job(ctx: RequestContext, params: dict) -> dict:
    record = jobs(ctx).get(KIND, params["TrainingJobName"])
    if record is None:
        raise not_found()
    return describe(ctx, record)


def describe(ctx: RequestContext, record: JobRecord) -> dict[str, Any]:
    """DescribeTrainingJob's answer for ``record`` (also used for tuning jobs' children later)."""
    shape = ctx.operation.output_shape if ctx.operation.name == "DescribeTrainingJob" else None
    members = shape.members if shape is not None else {}
    spec, state = record.spec, record.state
    out: dict[str, Any] = {key: value for key, value in spec.items() if key in members or shape is None}
    algorithm = dict(spec.get("AlgorithmSpecification") or {})
    algorithm.setdefault("EnableSageMakerMetricsTimeSeries", False)
    output = dict(spec.get("OutputDataConfig") or {})
    output.setdefault("KmsKeyId", "")  # Estimator.attach reads it unconditionally
    out.update(
        {
            "TrainingJobName": record.name,
            "TrainingJobArn": record.arn,
            "ModelArtifacts": state.get("ModelArtifacts"),
            "TrainingJobStatus": record.status,
            "SecondaryStatus": record.secondary_status or record.status,
            "FailureReason": record.failure_reason,
            "AlgorithmSpecification": algorithm,
            "OutputDataConfig": output,
            "CreationTime": record.creation_time,
            "TrainingStartTime": record.start_time,
            "TrainingEndTime": record.end_time,
            "LastModifiedTime": record.last_modified_time,
            "SecondaryStatusTransitions": transitions(record),
            "FinalMetricDataList": [
                drop_none(
                    {
                        "MetricName": m.get("MetricName"),
                        "Value": m.get("Value"),
                        "Timestamp": when(m.get("Timestamp")),
                    }
                )
                for m in state.get("FinalMetricDataList") or []
            ],
            "EnableNetworkIsolation": bool(spec.get("EnableNetworkIsolation", False)),
            "EnableInterContainerTrafficEncryption": bool(
                spec.get("EnableInterContainerTrafficEncryption", False)
            ),
            "EnableManagedSpotTraining": bool(spec.get("EnableManagedSpotTraining", False)),
            "TrainingTimeInSeconds": state.get("TrainingTimeInSeconds"),
            "BillableTimeInSeconds": state.get("BillableTimeInSeconds"),
        }
    )
    if "DebugHookConfig" in spec or "ProfilerConfig" in spec:
        profiler = spec.get("ProfilerConfig") or {}
        out["ProfilingStatus"] = "Disabled" if profiler.get("DisableProfiler", not profiler) else "Enabled"
    return drop_none(out)


@handler("sagemaker", "ListTrainingJobs")
def list_training_jobs(ctx: RequestContext, params: dict) -> dict:
    records, token = list_records(ctx, KIND, params)
    summaries = [
        drop_none(
            {
                "TrainingJobName": r.name,
                "TrainingJobArn": r.arn,
                "CreationTime": r.creation_time,
                "TrainingEndTime": r.end_time,
                "LastModifiedTime": r.last_modified_time,
                "TrainingJobStatus": r.status,
                "SecondaryStatus": r.secondary_status,
            }
        )
        for r in records
    ]
    return drop_none({"TrainingJobSummaries": summaries, "NextToken": token})


@handler("sagemaker", "StopTrainingJob")
def stop_training_job(ctx: RequestContext, params: dict) -> dict:
    return stop_job(ctx, KIND, params["TrainingJobName"], not_found())
