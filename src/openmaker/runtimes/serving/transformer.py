"""The handler chain: the user's functions over the framework defaults, as the inference toolkit runs it.

``transform_fn(model, body, content_type, accept)`` when the script defines it (the 4-argument legacy
MXNet ``transform_fn(net, data, input_content_type, output_content_type)`` is the same call), else
``output_fn(predict_fn(input_fn(body, content_type), model), accept)``. Any function may take one more
argument, the request context, as the toolkit allows. Defining ``transform_fn`` together with any of
the other three is refused at start-up, like the containers do.

Functions are resolved and their arity checked once at start-up; a request only calls them.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import ModuleType
from typing import Any

from openmaker.runtimes.serving import codecs
from openmaker.runtimes.serving.errors import BadRequestError, InferenceError, ModelLoadError
from openmaker.runtimes.serving.handlers import HandlerSet

logger = logging.getLogger("openmaker-serving")
TEXT = "text/plain; charset=utf-8"
TRACE_FRAMES = 8


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str


@dataclass(slots=True)
class RequestContext:
    """What the model servers hand handlers as ``context`` (MMS and TF Serving spell fields differently)."""

    model_dir: str
    request_content_type: str | None = None
    accept_header: str | None = None
    custom_attributes: str | None = None
    content_length: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def system_properties(self) -> dict[str, Any]:
        return {"model_dir": self.model_dir, "gpu_id": None}

    def get_request_header(self, _index: int, name: str) -> str | None:
        return self.headers.get(name.lower())


Call = Callable[[tuple, RequestContext | None], Any]


def _adapt(function: Callable, arity: int, name: str) -> tuple[Call, bool]:
    """A caller for ``function`` with ``arity`` arguments, plus the context when it takes one more."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return (lambda args, _ctx: function(*args)), False
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return (lambda args, _ctx: function(*args)), False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is p.empty)
    if len(positional) == arity + 1 and required <= arity + 1:
        return (lambda args, ctx: function(*args, ctx)), True
    if required <= arity <= len(positional):
        return (lambda args, _ctx: function(*args)), False
    raise ModelLoadError(
        f"{name} takes {len(positional)} arguments but the model server passes {arity} "
        f"(or {arity + 1} with the context)."
    )


def error_response(error: BaseException) -> Response:
    """The answer for a failed request: the handler's status, else 500 with message and traceback."""
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    if isinstance(error, InferenceError) or (isinstance(status, int) and 400 <= status < 600):
        message = getattr(error, "message", None) or str(error)
        logger.error("Invocation failed (%s): %s", status, message.splitlines()[0] if message else "")
        return Response(int(status), str(message).encode(), TEXT)
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
    logger.error("Invocation failed (500): %s", message.replace("\n", " "))
    # The server's own frames (the chain's lambdas) say nothing to the caller: keep the user's.
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
    trace = "".join(traceback.format_list(frames[-TRACE_FRAMES:]))
    body = f"{message}\nTraceback (most recent call last):\n{trace}"
    return Response(HTTPStatus.INTERNAL_SERVER_ERROR, body.encode(), TEXT)


def to_response(result: Any, accept: str) -> Response:
    """Whatever an ``output_fn``/``transform_fn`` returned, as a response."""
    content_type = accept
    status = HTTPStatus.OK
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
    elif hasattr(result, "get_data") and hasattr(result, "mimetype"):  # a Flask/werkzeug Response
        status = getattr(result, "status_code", HTTPStatus.OK)
        content_type = result.headers.get("Content-Type") or result.mimetype or accept
        result = result.get_data()
    if isinstance(result, bytes):
        body = result
    elif isinstance(result, str):
        body = result.encode()
    elif isinstance(result, bytearray | memoryview):
        body = bytes(result)
    elif result is None:
        body = b""
    else:  # a dict or an array returned as-is: the only reasonable encoding is JSON
        body = json.dumps(codecs.to_list(result), default=codecs._json_default).encode()
        content_type = codecs.JSON
    return Response(int(status), body, str(content_type or accept))


class Transformer:
    """Loads the model and runs requests through the chain; one instance per server process."""

    def __init__(self, handlers: HandlerSet, module: ModuleType | None, model_dir: str,
                 default_accept: str | None = None, default_content_type: str | None = None) -> None:
        self.handlers = handlers
        self.module = module
        self.model_dir = model_dir
        self.default_accept = default_accept or handlers.default_accept
        self.default_content_type = default_content_type or handlers.default_content_type
        self.model: Any = None

        user = {name: getattr(module, name, None) for name in
                ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")} if module else {}
        user = {name: fn for name, fn in user.items() if callable(fn)}
        if "transform_fn" in user and {"input_fn", "predict_fn", "output_fn"} & user.keys():
            raise ModelLoadError("Cannot use transform_fn implementation in conjunction with input_fn, "
                                 "predict_fn, and/or output_fn implementation")
        self.user_functions = sorted(user)

        def pick(name: str, arity: int) -> tuple[Call, bool]:
            return _adapt(user.get(name) or getattr(handlers, name), arity, name)

        self._model_fn, _ = pick("model_fn", 1)
        if "transform_fn" in user:
            self._transform, self.wants_context = _adapt(user["transform_fn"], 4, "transform_fn")
        else:
            self._input_fn, in_ctx = pick("input_fn", 2)
            self._predict_fn, pred_ctx = pick("predict_fn", 2)
            self._output_fn, out_ctx = pick("output_fn", 2)
            self._transform = self._chain
            self.wants_context = in_ctx or pred_ctx or out_ctx
        self._warmup = getattr(module, "model_warmup_fn", None) if module else None

    def load(self) -> None:
        context = RequestContext(model_dir=self.model_dir)
        self.model = self._model_fn((self.model_dir,), context)
        if callable(self._warmup):
            self._warmup(self.model_dir, self.model)

    def _chain(self, args: tuple, context: RequestContext | None) -> Any:
        model, body, content_type, accept = args
        data = self._input_fn((body, content_type), context)
        prediction = self._predict_fn((data, model), context)
        return self._output_fn((prediction, accept), context)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None,
               context: RequestContext | None = None) -> Response:
        """Run one request; never raises (errors become their HTTP answers)."""
        try:
            if not body and self.handlers.empty_body_status is not None:
                return Response(self.handlers.empty_body_status, b"", accept or self.default_accept)
            content_type = content_type or self.default_content_type
            if not accept or accept == codecs.ANY:
                accept = self.default_accept
            data: bytes | str = body
            if codecs.media_type(content_type) in codecs.UTF8_TYPES:
                try:
                    data = body.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise BadRequestError(f"The {content_type} request body is not UTF-8: {error}") from error
            if self.wants_context and context is None:
                context = RequestContext(self.model_dir, content_type, accept, None, len(body))
            result = self._transform((self.model, data, content_type, accept), context)
            return to_response(result, accept)
        except Exception as error:  # user code may raise anything; the caller gets it as a status
            return error_response(error)
