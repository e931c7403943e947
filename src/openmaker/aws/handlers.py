"""The handler registry: one function per (service, operation).

A handler takes ``(ctx, params)`` where ``params`` is the request parsed and validated against the
operation's input shape (botocore member names, Python types), and returns a dict shaped like the
output shape. It may be sync (run in a worker thread) or async (run on the event loop; use it for
streaming bodies). Errors are raised as :class:`openmaker.aws.errors.AwsError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from openmaker.aws.context import RequestContext

Handler = Callable[[RequestContext, dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]

_HANDLERS: dict[tuple[str, str], Handler] = {}


def handler(service: str, operation: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``service``'s ``operation``."""

    def register(fn: Handler) -> Handler:
        key = (service, operation)
        if key in _HANDLERS and _HANDLERS[key] is not fn:
            raise RuntimeError(f"two handlers for {service} {operation}")
        _HANDLERS[key] = fn
        return fn

    return register


def get_handler(service: str, operation: str) -> Handler | None:
    return _HANDLERS.get((service, operation))


def registered() -> dict[tuple[str, str], Handler]:
    return dict(_HANDLERS)
