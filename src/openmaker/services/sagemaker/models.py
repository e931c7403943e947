"""Models: CreateModel, DescribeModel, ListModels, DeleteModel.

A model is only a record (what to run: one PrimaryContainer, or Containers for an inference
pipeline); endpoints snapshot it when they deploy, so deleting a model never breaks a running
endpoint. Messages are the service's own: the SDK matches "Could not find" and "Cannot create
already existing model".
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.aws.handlers import handler
from openmaker.services.sagemaker.common import (
    arn,
    check_image,
    check_role,
    check_s3_uri,
    check_tags,
    drop_none,
    jobs,
    json_safe,
    list_records,
    not_found,
)
from openmaker.storage.jobs import JobExists, JobNotFound, JobRecord

KIND = "Model"


def model_arn(ctx: RequestContext, name: str) -> str:
    return arn(ctx, "model", name)


def missing(ctx: RequestContext, name: str):
    return not_found(f'Could not find model "{model_arn(ctx, name)}".')


def containers_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's containers in call order (a plain model has one)."""
    if spec.get("Containers"):
        return list(spec["Containers"])
    return [spec["PrimaryContainer"]] if spec.get("PrimaryContainer") else []


def execution_mode(spec: dict[str, Any]) -> str:
    return (spec.get("InferenceExecutionConfig") or {}).get("Mode") or "Serial"


@handler("sagemaker", "CreateModel")
def create_model(ctx: RequestContext, params: dict) -> dict:
    name = params["ModelName"]
    _validate(ctx, params)
    tags = check_tags(params.get("Tags"))
    spec = json_safe({key: value for key, value in params.items() if key != "Tags"})
    try:
        jobs(ctx).create(
            KIND, name, model_arn(ctx, name), spec, status="Created", secondary_status=None, tags=tags
        )
    except JobExists:
        raise validation_error(f'Cannot create already existing model "{model_arn(ctx, name)}".') from None
    return {"ModelArn": model_arn(ctx, name)}


def _validate(ctx: RequestContext, params: dict) -> None:
    check_role(params.get("ExecutionRoleArn"))
    primary, containers = params.get("PrimaryContainer"), params.get("Containers")
    if bool(primary) == bool(containers):
        raise validation_error(
            "Either PrimaryContainer or Containers must be specified, but not both "
            "(Containers makes an inference pipeline)."
        )
    mode = (params.get("InferenceExecutionConfig") or {}).get("Mode")
    if mode == "Direct" and not containers:
        raise validation_error("InferenceExecutionConfig Mode Direct requires Containers.")
    items = containers or [primary]
    hostnames = [c.get("ContainerHostname") for c in items if c.get("ContainerHostname")]
    if len(set(hostnames)) != len(hostnames):
        raise validation_error("ContainerHostname values must be unique within a model.")
    for index, container in enumerate(items):
        where = "PrimaryContainer" if primary else f"Containers[{index}]"
        if container.get("ModelPackageName"):
            raise validation_error(
                f"{where}: openmaker does not support ModelPackageName; give Image and ModelDataUrl."
            )
        if not container.get("Image"):
            raise validation_error(f"{where}: Image is required.")
        if container.get("Mode") == "MultiModel":
            raise validation_error(
                f"{where}: multi-model endpoints (Mode MultiModel) are not supported by openmaker."
            )
        if container.get("ModelDataUrl"):
            check_s3_uri(container["ModelDataUrl"], f"{where} ModelDataUrl")
        check_image(ctx, container["Image"], "serve", None, container.get("Environment") or {})


@handler("sagemaker", "DescribeModel")
def describe_model(ctx: RequestContext, params: dict) -> dict:
    record = jobs(ctx).get(KIND, params["ModelName"])
    if record is None:
        raise missing(ctx, params["ModelName"])
    members = ctx.operation.output_shape.members
    out: dict[str, Any] = {key: value for key, value in record.spec.items() if key in members}
    out.update({"ModelName": record.name, "ModelArn": record.arn, "CreationTime": record.creation_time})
    return drop_none(out)


@handler("sagemaker", "ListModels")
def list_models(ctx: RequestContext, params: dict) -> dict:
    records, token = list_records(ctx, KIND, params)
    return drop_none({"Models": [_summary(r) for r in records], "NextToken": token})


def _summary(record: JobRecord) -> dict[str, Any]:
    return {"ModelName": record.name, "ModelArn": record.arn, "CreationTime": record.creation_time}


@handler("sagemaker", "DeleteModel")
def delete_model(ctx: RequestContext, params: dict) -> dict:
    try:
        jobs(ctx).delete(KIND, params["ModelName"])
    except JobNotFound:
        raise missing(ctx, params["ModelName"]) from None
    return {}
