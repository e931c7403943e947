"""AWS errors as values: a code, a message, an HTTP status and any extra members of the error shape."""

from __future__ import annotations


class AwsError(Exception):
    """An error answered to the client in the service's protocol.

    ``fields`` are extra members of the error (S3's ``BucketName``/``Key``, the runtime's
    ``OriginalStatusCode``...); ``headers`` are extra response headers.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        status: int = 400,
        *,
        sender_fault: bool = True,
        headers: dict[str, str] | None = None,
        **fields: object,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.headers = headers or {}
        self.fields = fields


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def not_implemented(service: str, operation: str) -> AwsError:
    """A real operation without a handler: a client error (never a 5xx, which clients retry)."""
    return AwsError(
        "NotImplemented" if service == "s3" else "UnknownOperationException",
        f"openmaker does not implement {service} {operation} yet.",
        400,
    )


class InternalError(AwsError):
    def __init__(self, message: str = "We encountered an internal error. Please try again.") -> None:
        super().__init__("InternalError", message, 500, sender_fault=False)
