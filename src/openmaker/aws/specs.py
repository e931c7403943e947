"""botocore's service models: which services openmaker serves and how to find them."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel

# botocore service names served on the one port. Adding a service = adding its name here and
# registering handlers for its operations.
SERVED = ("s3", "sts", "iam", "logs", "sagemaker", "sagemaker-runtime")

# The SigV4 credential-scope service each served API is signed with (when it differs from its name).
SIGNING_NAMES = {"sagemaker-runtime": "sagemaker"}


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(name: str) -> ServiceModel:
    return _session().get_service_model(name)


def protocol(name: str) -> str:
    """One of json, query, rest-json, rest-xml."""
    return service_model(name).metadata["protocol"]


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
        names[service_model(name).metadata.get("signingName") or name] = name
    return names


@cache
def by_api_version() -> dict[str, str]:
    """Query-protocol API ``Version`` → service (STS and IAM share the query protocol)."""
    return {service_model(name).api_version: name for name in SERVED if protocol(name) == "query"}


def operation(service: str, name: str) -> OperationModel | None:
    model = service_model(service)
    if name in model.operation_names:
        return model.operation_model(name)
    return None
