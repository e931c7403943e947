"""botocore's service models: which services openmaker serves and how to find them."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel

# botocore service names served on the one port. Adding a service = adding its name here and
# registering handlers for its operations.
SERVED = ("s3", "sts", "iam", "logs", "sagemaker", "sagemaker-runtime", "cloudwatch")

# The SigV4 credential-scope service each served API is signed with (when it differs from its name).
SIGNING_NAMES = {"sagemaker-runtime": "sagemaker"}


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(name: str) -> ServiceModel:
    return _session().get_service_model(name)


# Smithy RPC v2 with CBOR bodies (CloudWatch in current botocore).
CBOR = "smithy-rpc-v2-cbor"


def protocol(name: str) -> str:
    """The model's default protocol: json, query, rest-json, rest-xml or smithy-rpc-v2-cbor."""
    return service_model(name).metadata["protocol"]


def protocols(name: str) -> tuple[str, ...]:
    """Every protocol the service answers (``metadata.protocols``), default first.

    A service that moved protocol (CloudWatch: query → JSON 1.0 → RPC v2 CBOR) still gets requests in
    the older ones from older clients, so a request's protocol is chosen per request
    (:func:`openmaker.aws.routing.request_protocol`) among these.
    """
    metadata = service_model(name).metadata
    listed = tuple(metadata.get("protocols") or ())
    default = metadata["protocol"]
    return listed if default in listed else (default, *listed)


def query_compatible(name: str) -> bool:
    """``awsQueryCompatible``: JSON/CBOR errors also carry the query error code (x-amzn-query-error)."""
    return "awsQueryCompatible" in service_model(name).metadata


@cache
def query_error_shapes(name: str) -> dict[str, str]:
    """Query error code (``InvalidParameterValue``) → error shape name (``InvalidParameterValueException``)."""
    shapes = {}
    for shape in service_model(name).error_shapes:
        code = shape.metadata.get("error", {}).get("code")
        if code:
            shapes[code] = shape.name
    return shapes


@cache
def by_target_prefix() -> dict[str, str]:
    """X-Amz-Target prefix (``SageMaker``, ``Logs_20140328``) → service name."""
    prefixes = {}
    for name in SERVED:
        prefix = service_model(name).metadata.get("targetPrefix")
        if prefix:
            prefixes[prefix] = name
    return prefixes


@cache
def by_signing_name() -> dict[str, str]:
    """Credential-scope service → the served service, for services without a unique path or target."""
    names: dict[str, str] = {}
    for name in SERVED:
        if name in SIGNING_NAMES:
            continue
        names[service_model(name).signing_name or name] = name  # signingName, else endpointPrefix
    return names


@cache
def by_api_version() -> dict[str, str]:
    """Query-protocol API ``Version`` → service (STS, IAM, and CloudWatch for older clients)."""
    return {service_model(name).api_version: name for name in SERVED if "query" in protocols(name)}


def operation(service: str, name: str) -> OperationModel | None:
    model = service_model(service)
    if name in model.operation_names:
        return model.operation_model(name)
    return None
