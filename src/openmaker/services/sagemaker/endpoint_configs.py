"""Endpoint configurations: CreateEndpointConfig, DescribeEndpointConfig, ListEndpointConfigs,
DeleteEndpointConfig.

A config is a record; endpoints copy it (with its models) when they deploy. The SDK v1's deploy
calls DescribeEndpointConfig first and expects ValidationException "Could not find ..." for a new
name, so that message is the service's own.
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.aws.handlers import handler
from openmaker.services.sagemaker import models
from openmaker.services.sagemaker.common import (
    arn,
    check_role,
    check_s3_uri,
    check_tags,
    drop_none,
    jobs,
    json_safe,
    list_records,
    not_found,
)
from openmaker.storage.jobs import JobExists, JobNotFound

KIND = "EndpointConfig"


def config_arn(ctx: RequestContext, name: str) -> str:
    return arn(ctx, "endpoint-config", name)


def missing(ctx: RequestContext, name: str):
    return not_found(f'Could not find endpoint configuration "{config_arn(ctx, name)}".')


@handler("sagemaker", "CreateEndpointConfig")
def create_endpoint_config(ctx: RequestContext, params: dict) -> dict:
    name = params["EndpointConfigName"]
    _validate(ctx, params)
    tags = check_tags(params.get("Tags"))
    spec = json_safe({key: value for key, value in params.items() if key != "Tags"})
    for variant in spec["ProductionVariants"]:
        variant.setdefault("InitialVariantWeight", 1.0)
    try:
        jobs(ctx).create(
            KIND, name, config_arn(ctx, name), spec, status="Created", secondary_status=None, tags=tags
        )
    except JobExists:
        raise validation_error(
            f'Cannot create already existing endpoint configuration "{config_arn(ctx, name)}".'
        ) from None
    return {"EndpointConfigArn": config_arn(ctx, name)}


def _validate(ctx: RequestContext, params: dict) -> None:
    check_role(params.get("ExecutionRoleArn"))
    variants = params["ProductionVariants"]
    if not variants:
        raise validation_error("ProductionVariants must contain at least one production variant.")
    names = [v["VariantName"] for v in variants]
    if len(set(names)) != len(names):
        raise validation_error("The production variant names in ProductionVariants must be unique.")
    for variant in variants:
        where = f"Production variant {variant['VariantName']}"
        if not variant.get("ModelName"):
            raise validation_error(f"{where}: ModelName is required.")
        if jobs(ctx).get(models.KIND, variant["ModelName"]) is None:
            raise models.missing(ctx, variant["ModelName"])
        if variant.get("ServerlessConfig") is None:
            if variant.get("InitialInstanceCount") is None or not variant.get("InstanceType"):
                raise validation_error(
                    f"{where}: InitialInstanceCount and InstanceType are required unless ServerlessConfig is given."
                )
            if variant["InitialInstanceCount"] < 1:
                raise validation_error(f"{where}: InitialInstanceCount must be at least 1.")
        if variant.get("InitialVariantWeight", 1.0) < 0:
            raise validation_error(f"{where}: InitialVariantWeight must not be negative.")
    capture = params.get("DataCaptureConfig")
    if capture:
        check_s3_uri(capture["DestinationS3Uri"], "DataCaptureConfig DestinationS3Uri")
        if not capture.get("CaptureOptions"):
            raise validation_error("DataCaptureConfig CaptureOptions must name at least one capture mode.")
    output = ((params.get("AsyncInferenceConfig") or {}).get("OutputConfig")) or {}
    if output.get("S3OutputPath"):
        check_s3_uri(output["S3OutputPath"], "AsyncInferenceConfig OutputConfig S3OutputPath")


@handler("sagemaker", "DescribeEndpointConfig")
def describe_endpoint_config(ctx: RequestContext, params: dict) -> dict:
    record = jobs(ctx).get(KIND, params["EndpointConfigName"])
    if record is None:
        raise missing(ctx, params["EndpointConfigName"])
    members = ctx.operation.output_shape.members
    out: dict[str, Any] = {key: value for key, value in record.spec.items() if key in members}
    out.update(
        {
            "EndpointConfigName": record.name,
            "EndpointConfigArn": record.arn,
            "CreationTime": record.creation_time,
        }
    )
    return drop_none(out)


@handler("sagemaker", "ListEndpointConfigs")
def list_endpoint_configs(ctx: RequestContext, params: dict) -> dict:
    records, token = list_records(ctx, KIND, params)
    summaries = [
        {"EndpointConfigName": r.name, "EndpointConfigArn": r.arn, "CreationTime": r.creation_time}
        for r in records
    ]
    return drop_none({"EndpointConfigs": summaries, "NextToken": token})


@handler("sagemaker", "DeleteEndpointConfig")
def delete_endpoint_config(ctx: RequestContext, params: dict) -> dict:
    try:
        jobs(ctx).delete(KIND, params["EndpointConfigName"])
    except JobNotFound:
        raise missing(ctx, params["EndpointConfigName"]) from None
    return {}
