"""Endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, UpdateEndpoint,
UpdateEndpointWeightsAndCapacities, DeleteEndpoint.

Each handler checks the request, writes the endpoint's record first — status, and the deployment
to run snapshotted from the endpoint config and its models (``state["Deployment"]``, or
``state["Pending"]`` during an update) — then asks the hosting manager to act. Describe reads the
record and the live instance counts; it never waits on the fleet.
"""

from __future__ import annotations

from typing import Any

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.aws.handlers import handler
from openmaker.services.sagemaker import endpoint_configs, models
from openmaker.services.sagemaker.common import (
    arn,
    check_tags,
    drop_none,
    jobs,
    json_safe,
    list_records,
    not_found,
    when,
)
from openmaker.storage.jobs import JobExists, JobNotFound, JobRecord

KIND = "Endpoint"
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


def endpoint_arn(ctx: RequestContext, name: str) -> str:
    return arn(ctx, "endpoint", name)


def missing(ctx: RequestContext, name: str):
    return not_found(f'Could not find endpoint "{endpoint_arn(ctx, name)}".')


def hosting(ctx: RequestContext) -> Any:
    return ctx.app.engine.hosting


def _require(ctx: RequestContext, name: str) -> JobRecord:
    record = jobs(ctx).get(KIND, name)
    if record is None:
        raise missing(ctx, name)
    return record


def snapshot(ctx: RequestContext, config_name: str, previous: dict | None = None) -> dict[str, Any]:
    """The deployment an endpoint runs: its config with each variant's model copied in."""
    config = jobs(ctx).get(endpoint_configs.KIND, config_name)
    if config is None:
        raise endpoint_configs.missing(ctx, config_name)
    kept = {v["VariantName"]: v for v in (previous or {}).get("Variants") or []}
    variants = []
    for item in config.spec["ProductionVariants"]:
        model = jobs(ctx).get(models.KIND, item["ModelName"])
        if model is None:
            raise models.missing(ctx, item["ModelName"])
        count = item.get("InitialInstanceCount") or 1
        weight = float(item.get("InitialVariantWeight", 1.0))
        old = kept.get(item["VariantName"])
        if old is not None:
            count, weight = old["DesiredInstanceCount"], old["DesiredWeight"]
        variants.append(
            {
                **item,
                "Containers": models.containers_of(model.spec),
                "Mode": models.execution_mode(model.spec),
                "EnableNetworkIsolation": bool(model.spec.get("EnableNetworkIsolation")),
                "DesiredInstanceCount": count,
                "DesiredWeight": weight,
            }
        )
    return {
        "EndpointConfigName": config.name,
        "Variants": variants,
        "DataCaptureConfig": config.spec.get("DataCaptureConfig"),
        "AsyncInferenceConfig": config.spec.get("AsyncInferenceConfig"),
    }


@handler("sagemaker", "CreateEndpoint")
def create_endpoint(ctx: RequestContext, params: dict) -> dict:
    name = params["EndpointName"]
    tags = check_tags(params.get("Tags"))
    deployment = snapshot(ctx, params["EndpointConfigName"])
    spec = json_safe({key: value for key, value in params.items() if key != "Tags"})
    store = jobs(ctx)
    try:
        store.create(
            KIND, name, endpoint_arn(ctx, name), spec, status="Creating", secondary_status=None, tags=tags
        )
    except JobExists:
        raise validation_error(
            f'Cannot create already existing endpoint "{endpoint_arn(ctx, name)}".'
        ) from None
    store.update(KIND, name, state={"Deployment": deployment})
    hosting(ctx).create(name)
    return {"EndpointArn": endpoint_arn(ctx, name)}


@handler("sagemaker", "DescribeEndpoint")
def describe_endpoint(ctx: RequestContext, params: dict) -> dict:
    record = _require(ctx, params["EndpointName"])
    deployment = record.state.get("Deployment") or {}
    pending = record.state.get("Pending")
    live = hosting(ctx).live(record.name) if record.status not in ("Creating", "Failed") else None
    out = {
        "EndpointName": record.name,
        "EndpointArn": record.arn,
        "EndpointConfigName": deployment.get("EndpointConfigName") or record.spec.get("EndpointConfigName"),
        "EndpointStatus": record.status,
        "FailureReason": record.failure_reason or None,
        "CreationTime": record.creation_time,
        "LastModifiedTime": record.last_modified_time,
        "AsyncInferenceConfig": deployment.get("AsyncInferenceConfig"),
    }
    if record.status != "Creating":
        out["ProductionVariants"] = [_variant(item, live) for item in deployment.get("Variants") or []]
        out["DataCaptureConfig"] = _capture(deployment.get("DataCaptureConfig"))
    if pending:
        out["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending["EndpointConfigName"],
            "ProductionVariants": [
                {**_variant(item, None), "InstanceType": item.get("InstanceType")}
                for item in pending["Variants"]
            ],
            "StartTime": when(record.state.get("PendingSince")),
        }
    return drop_none(out)


def _variant(item: dict[str, Any], live: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    now = (live or {}).get(item["VariantName"]) or {}
    images = [
        {"SpecifiedImage": c.get("Image"), "ResolvedImage": c.get("Image"), "ResolutionTime": None}
        for c in item.get("Containers") or []
    ]
    return drop_none(
        {
            "VariantName": item["VariantName"],
            "DeployedImages": [drop_none(i) for i in images],
            "CurrentWeight": now.get("CurrentWeight", item["DesiredWeight"]) if live else None,
            "DesiredWeight": item["DesiredWeight"],
            "CurrentInstanceCount": now.get("CurrentInstanceCount", 0) if live is not None else None,
            "DesiredInstanceCount": item["DesiredInstanceCount"],
            "CurrentServerlessConfig": item.get("ServerlessConfig"),
            "DesiredServerlessConfig": item.get("ServerlessConfig"),
        }
    )


def _capture(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    enabled = config.get("EnableCapture", True)
    return drop_none(
        {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": config.get("InitialSamplingPercentage"),
            "DestinationS3Uri": config.get("DestinationS3Uri"),
            "KmsKeyId": config.get("KmsKeyId"),
        }
    )


@handler("sagemaker", "ListEndpoints")
def list_endpoints(ctx: RequestContext, params: dict) -> dict:
    records, token = list_records(ctx, KIND, params)
    summaries = [
        {
            "EndpointName": r.name,
            "EndpointArn": r.arn,
            "CreationTime": r.creation_time,
            "LastModifiedTime": r.last_modified_time,
            "EndpointStatus": r.status,
        }
        for r in records
    ]
    return drop_none({"Endpoints": summaries, "NextToken": token})


@handler("sagemaker", "UpdateEndpoint")
def update_endpoint(ctx: RequestContext, params: dict) -> dict:
    name = params["EndpointName"]
    record = _require(ctx, name)
    if record.status in BUSY:
        raise validation_error(f'Cannot update in-progress endpoint "{record.arn}".')
    if record.status == "Failed":
        raise validation_error(
            f'Cannot update failed endpoint "{record.arn}". Delete it and create it again.'
        )
    previous = record.state.get("Deployment") if params.get("RetainAllVariantProperties") else None
    pending = snapshot(ctx, params["EndpointConfigName"], previous)
    from datetime import UTC, datetime

    jobs(ctx).update(
        KIND,
        name,
        status="Updating",
        state={"Pending": pending, "PendingSince": datetime.now(UTC).isoformat()},
    )
    hosting(ctx).update(name)
    return {"EndpointArn": record.arn}


@handler("sagemaker", "UpdateEndpointWeightsAndCapacities")
def update_weights(ctx: RequestContext, params: dict) -> dict:
    name = params["EndpointName"]
    record = _require(ctx, name)
    if record.status != "InService":
        raise validation_error(f'Cannot update in-progress endpoint "{record.arn}".')
    deployment = record.state.get("Deployment") or {}
    variants = {v["VariantName"]: v for v in deployment.get("Variants") or []}
    desired = {item["VariantName"]: item for item in params["DesiredWeightsAndCapacities"]}
    unknown = sorted(set(desired) - set(variants))
    if unknown:
        raise validation_error(
            f'The variant name(s) {", ".join(unknown)} are not present in endpoint "{record.arn}".'
        )
    for variant_name, item in desired.items():
        if item.get("DesiredWeight") is None and item.get("DesiredInstanceCount") is None:
            raise validation_error(
                f"Variant {variant_name}: give DesiredWeight, DesiredInstanceCount or both."
            )
        if item.get("DesiredWeight") is not None:
            variants[variant_name]["DesiredWeight"] = float(item["DesiredWeight"])
        if item.get("DesiredInstanceCount") is not None:
            variants[variant_name]["DesiredInstanceCount"] = int(item["DesiredInstanceCount"])
    jobs(ctx).update(KIND, name, status="Updating", state={"Deployment": deployment})
    hosting(ctx).update_weights(name, desired)
    return {"EndpointArn": record.arn}


@handler("sagemaker", "DeleteEndpoint")
def delete_endpoint(ctx: RequestContext, params: dict) -> dict:
    name = params["EndpointName"]
    _require(ctx, name)
    hosting(ctx).delete(name)
    try:
        jobs(ctx).delete(KIND, name)
    except JobNotFound:
        raise missing(ctx, name) from None
    return {}
