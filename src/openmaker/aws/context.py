"""What a handler knows about the request it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel

from openmaker.aws.request import HttpRequest


@dataclass
class Principal:
    """The identity that signed the request."""

    access_key_id: str
    arn: str
    account_id: str
    user_id: str
    session_token: str | None = None


@dataclass
class RequestContext:
    service: str  # botocore service name: "s3", "sts", "iam", "logs", "sagemaker", ...
    operation: OperationModel
    request: HttpRequest
    request_id: str
    region: str
    account_id: str
    principal: Principal | None = None
    app: Any = None  # the server's AppState (storage, engine); typed loosely: aws/ imports no room
    response_headers: dict[str, str] = field(default_factory=dict)
    response_status: int | None = None  # overrides the operation's default status (S3 206, 204...)

    @property
    def operation_name(self) -> str:
        return self.operation.name


@dataclass
class Credential:
    """A secret the server knows, and who signs with it."""

    secret_access_key: str
    principal: Principal
    session_token: str | None = None
    expiration: Any = None  # datetime for temporary credentials
