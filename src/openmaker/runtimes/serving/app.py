"""The HTTP side: a bare ASGI app for ``/ping``, ``/invocations`` and ``/execution-parameters``.

No framework (Starlette routing, request objects) sits between uvicorn and the handler chain: the
endpoint's latency budget is a couple of milliseconds over ``model.predict``, and the three routes need
only the path, two or three headers and the body. Handlers run in a thread pool so a slow prediction
never blocks ``/ping`` or other requests on the event loop.

One exception, for speed: when the chain is the framework's or algorithm's own defaults (no
``input_fn``/``predict_fn``/``output_fn``/``transform_fn`` of the user's: only openmaker's code and
``model.predict`` run, and none of it starts event loops of its own), a small request (<= 64 KiB) is run
right on the event loop while no other invocation is in the pool and recent small invocations took
under a millisecond on average — the thread hop (hand-off, wake-ups, GIL passes) costs more than such
a ``predict``. A slow one pushes the average up and the next requests go to the pool again.
``OPENMAKER_SERVING_INLINE_MS=0`` turns this off.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from http import HTTPStatus
from typing import Any, Protocol

from openmaker.runtimes.serving.transformer import TEXT, RequestContext, Response, Transformer

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
CUSTOM_ATTRIBUTES = b"x-amzn-sagemaker-custom-attributes"
PREDICT_PREFIX = "/v1/models/"
INLINE_MAX_BODY = 64 * 1024


def _inline_limit() -> float:
    """Seconds: the average small invocation must stay under this to run on the event loop."""
    try:
        return max(0.0, float(os.environ.get("OPENMAKER_SERVING_INLINE_MS") or 1.0)) / 1000
    except ValueError:
        return 0.001


class Invoker(Protocol):
    model_dir: str
    wants_context: bool

    def invoke(self, body: bytes, content_type: str | None, accept: str | None,
               context: RequestContext | None = None) -> Response: ...


class ModelServerApp:
    """The ASGI callable uvicorn serves."""

    def __init__(self, transformer: Invoker, executor: Executor, execution_parameters: dict[str, Any]) -> None:
        self.transformer = transformer
        self.executor = executor
        self.execution_parameters = json.dumps(execution_parameters).encode()
        self.wants_context = bool(getattr(transformer, "wants_context", True))
        self.rest = getattr(transformer, "rest", None)  # TF Serving's REST predict, when served
        # Only our own handler chains may run on the event loop (see the module docstring).
        own = type(transformer) is Transformer and not transformer.user_functions
        self.inline_limit = _inline_limit() if own else 0.0
        self._pooled = 0  # invocations in the thread pool right now (changed on the loop only)
        self._recent: float | None = None  # moving average of small invocations' seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/invocations" and method == "POST":
            response = await self._invocations(scope, receive)
        elif path == "/ping" and method in ("GET", "HEAD"):
            response = Response(HTTPStatus.OK, b"", TEXT)
        elif path == "/execution-parameters" and method == "GET":
            response = Response(HTTPStatus.OK, self.execution_parameters, "application/json")
        elif self.rest is not None and path.startswith(PREDICT_PREFIX) and path.endswith(":predict"):
            body = await _body(receive)
            answer = await asyncio.get_running_loop().run_in_executor(self.executor, self.rest, body)
            response = Response(answer.status_code, answer.content, "application/json")
        else:
            response = Response(HTTPStatus.NOT_FOUND, f"No route for {method} {path}".encode(), TEXT)
        await send({
            "type": "http.response.start",
            "status": response.status,
            "headers": [(b"content-type", response.content_type.encode("latin-1")),
                        (b"content-length", str(len(response.body)).encode())],
        })
        await send({"type": "http.response.body", "body": response.body})

    async def _invocations(self, scope: Scope, receive: Receive) -> Response:
        content_type = accept = attributes = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == CUSTOM_ATTRIBUTES:
                attributes = value.decode("latin-1")
        body = await _body(receive)
        context = None
        if self.wants_context or attributes is not None:
            headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
            context = RequestContext(self.transformer.model_dir, content_type, accept, attributes, len(body), headers)
        small = len(body) <= INLINE_MAX_BODY
        recent = self._recent
        if small and not self._pooled and recent is not None and recent < self.inline_limit:
            return self._timed(body, content_type, accept, context)
        self._pooled += 1
        try:
            if small and self.inline_limit:
                return await asyncio.get_running_loop().run_in_executor(
                    self.executor, self._timed, body, content_type, accept, context
                )
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, self.transformer.invoke, body, content_type, accept, context
            )
        finally:
            self._pooled -= 1

    def _timed(self, body: bytes, content_type: str | None, accept: str | None,
               context: RequestContext | None) -> Response:
        started = time.perf_counter()
        try:
            return self.transformer.invoke(body, content_type, accept, context)
        finally:
            took = time.perf_counter() - started
            recent = self._recent
            self._recent = took if recent is None else recent * 0.8 + took * 0.2


async def _body(receive: Receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)
