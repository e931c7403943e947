"""The HTTP side: a bare ASGI app for ``/ping``, ``/invocations`` and ``/execution-parameters``.

No framework (Starlette routing, request objects) sits between uvicorn and the handler chain: the
endpoint's latency budget is a couple of milliseconds over ``model.predict``, and the three routes need
only the path, two or three headers and the body. Handlers run in a thread pool so a slow prediction
never blocks ``/ping`` or other requests on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from http import HTTPStatus
from typing import Any, Protocol

from openmaker.runtimes.serving.transformer import TEXT, RequestContext, Response

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
CUSTOM_ATTRIBUTES = b"x-amzn-sagemaker-custom-attributes"
PREDICT_PREFIX = "/v1/models/"


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
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self.transformer.invoke, body, content_type, accept, context
        )


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
