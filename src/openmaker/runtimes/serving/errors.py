"""Errors that carry the HTTP status the model server answers with.

The containers answer a bad request body with 415 (cannot decode the Content-Type) or 406 (cannot
encode for the Accept), anything else a handler raises with 500. A handler may raise
:class:`InferenceError` with its own status (the toolkit's ``BaseInferenceToolkitError`` plays that
part); the hosting engine turns every non-2xx answer into ``ModelError`` with OriginalStatusCode and
OriginalMessage, so the message is what the caller will read.
"""

from __future__ import annotations

from http import HTTPStatus


class InferenceError(Exception):
    """An error answered with ``status`` and ``message`` as the response body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = int(status)
        self.message = message

    # The toolkit's BaseInferenceToolkitError spells it ``status_code``; user code may read either.
    @property
    def status_code(self) -> int:
        return self.status


class UnsupportedFormatError(InferenceError):
    """The request body's Content-Type has no decoder: 415, with the toolkit's advice."""

    def __init__(self, content_type: str | None, status: int = HTTPStatus.UNSUPPORTED_MEDIA_TYPE) -> None:
        super().__init__(
            status,
            f"Content type {content_type} is not supported by this framework.\n\n"
            "Please implement input_fn to deserialize the request data or an output_fn to serialize "
            "the response. For more information, see the SageMaker Python SDK README.",
        )
        self.content_type = content_type


class NotAcceptableError(UnsupportedFormatError):
    """No encoder for any type in the Accept header: 406."""

    def __init__(self, accept: str | None) -> None:
        super().__init__(accept, HTTPStatus.NOT_ACCEPTABLE)


class BadRequestError(InferenceError):
    """The body claims a supported type but does not parse as one: 400."""

    def __init__(self, message: str) -> None:
        super().__init__(HTTPStatus.BAD_REQUEST, message)


class ModelLoadError(Exception):
    """The model or the user's code could not be loaded; the server exits with this message."""
