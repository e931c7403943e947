"""The one error the data formats raise, usable on both sides of the container boundary.

A training job prints ``message`` into ``/opt/ml/output/failure`` (it is worded like the real algorithms'
"Customer Error" text); the model server answers with ``status`` and ``message``. The serving side
(:func:`openmaker.runtimes.serving.transformer.error_response`) already honours any exception carrying a
4xx ``status`` and a ``message``, so formats need not import the server.
"""

from __future__ import annotations

from http import HTTPStatus


class DataFormatError(ValueError):
    """Data that cannot be read as the content type it claims: 400 for the model server."""

    status: int = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = int(status)

    @property
    def status_code(self) -> int:
        """The inference toolkit's spelling of ``status``."""
        return self.status


class UnsupportedContentTypeError(DataFormatError):
    """No reader for the content type (415), or no writer for the Accept type (406)."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE

    def __init__(
        self, content_type: str | None, supported: tuple[str, ...] = (), *, accept: bool = False
    ) -> None:
        what = "accept type" if accept else "content type"
        message = f"The {what} {content_type!r} is not supported."
        if supported:
            message += " Supported: " + ", ".join(supported) + "."
        super().__init__(message, HTTPStatus.NOT_ACCEPTABLE if accept else None)
        self.content_type = content_type
