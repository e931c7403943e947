"""TensorFlow Serving (``sagemaker-tensorflow-serving-container``): the REST predict API and its handlers.

Requests follow TF Serving's REST format: ``{"instances": [...]}`` (row format) answers
``{"predictions": [...]}``, ``{"inputs": ...}`` (columnar) answers ``{"outputs": ...}``; CSV bodies
become ``instances`` as the container's nginx layer does. ``inference.py`` in ``<model_dir>/code`` may
define ``input_handler(data, context)`` and ``output_handler(response, context)`` (``data`` is the body
as a stream, ``response`` has ``status_code``, ``content``, ``text`` and ``json()`` like the
``requests.Response`` from TF Serving), or a single ``handler(data, context)``, which may itself POST to
``context.rest_uri`` — this server answers ``/v1/models/<name>:predict`` too.

The model is the SavedModel under the model directory (``<version>/saved_model.pb``, or
``export/Servo/<version>`` from TF 1.x script mode), loaded only when ``import tensorflow`` works; the
message says so otherwise.

**openmaker hook** — ``openmaker_model_fn(model_dir)`` in ``inference.py`` returns a Python callable used
instead of the SavedModel: it receives the value of ``instances`` (or ``inputs``) and returns the
predictions (or outputs). It lets a model without TensorFlow (or a test) use the TF Serving request
format and handlers unchanged.
"""

from __future__ import annotations

import io
import json
import logging
from collections import namedtuple
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

from openmaker.runtimes.serving import codecs
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.errors import ModelLoadError
from openmaker.runtimes.serving.frameworks import generic
from openmaker.runtimes.serving.handlers import HandlerSet
from openmaker.runtimes.serving.transformer import RequestContext, Response, error_response, to_response

logger = logging.getLogger("openmaker-serving")
MODEL_NAME = "model"
HOOK = "openmaker_model_fn"

Context = namedtuple(
    "Context",
    "model_name, model_version, method, rest_uri, grpc_uri, custom_attributes, "
    "request_content_type, accept_header, content_length",
)


class RestResponse:
    """The parts of ``requests.Response`` that output handlers use."""

    def __init__(self, status_code: int, payload: Any) -> None:
        self.status_code = status_code
        self.content = json.dumps(payload, default=codecs._json_default).encode()
        self.headers = {"Content-Type": codecs.JSON}

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.ok:
            raise RuntimeError(f"TF Serving answered {self.status_code}: {self.text}")


def _saved_model_dir(model_dir: Path) -> Path:
    found = sorted(model_dir.rglob("saved_model.pb"), key=lambda p: (p.parent.name.isdigit(), p.parent.name))
    if not found:
        raise ModelLoadError(f"No SavedModel (saved_model.pb) under the model directory {model_dir}.")
    return found[-1].parent


def load_saved_model(model_dir: str) -> Any:
    """A callable over the SavedModel's ``serving_default`` signature (needs TensorFlow)."""
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ModelLoadError(
            f"TensorFlow is not installed in this endpoint's environment, so the SavedModel in {model_dir} "
            "cannot be served. Install tensorflow next to openmaker (or in the model's requirements), or give "
            f"inference.py an {HOOK}(model_dir) returning a Python callable."
        ) from error
    path = _saved_model_dir(Path(model_dir))
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    input_names = list(signature.structured_input_signature[1])

    def predict(inputs: Any) -> Any:
        if isinstance(inputs, dict):
            feeds = {name: tf.constant(value) for name, value in inputs.items()}
        else:
            feeds = {input_names[0]: tf.constant(inputs)}
        outputs = {name: tensor.numpy().tolist() for name, tensor in signature(**feeds).items()}
        return next(iter(outputs.values())) if len(outputs) == 1 else outputs

    return predict


class TFServingTransformer:
    """The TF Serving container's request flow, with the same ``load``/``invoke`` as the toolkit chain."""

    def __init__(self, handlers: HandlerSet, module: ModuleType | None, model_dir: str,
                 default_accept: str | None = None, default_content_type: str | None = None,
                 rest_uri: str = "") -> None:
        self.module = module
        self.model_dir = model_dir
        self.default_accept = default_accept or codecs.JSON
        self.default_content_type = default_content_type or codecs.JSON
        self.rest_uri = rest_uri
        self.handler = getattr(module, "handler", None)
        self.input_handler = getattr(module, "input_handler", None)
        self.output_handler = getattr(module, "output_handler", None)
        if module is not None and not self.handler and bool(self.input_handler) != bool(self.output_handler):
            raise ModelLoadError("Handlers are not implemented correctly in user script: define both "
                                 "input_handler and output_handler, or handler.")
        self.user_functions = [name for name in ("handler", "input_handler", "output_handler", HOOK)
                               if callable(getattr(module, name, None))]
        self.predict: Any = None

    def load(self) -> None:
        hook = getattr(self.module, HOOK, None)
        self.predict = hook(self.model_dir) if callable(hook) else load_saved_model(self.model_dir)

    def rest(self, payload: bytes | str | dict) -> RestResponse:
        """TF Serving's ``POST /v1/models/<name>:predict``."""
        try:
            request = payload if isinstance(payload, dict) else json.loads(payload)
        except ValueError as error:
            return RestResponse(HTTPStatus.BAD_REQUEST, {"error": f"JSON Parse error: {error}"})
        if not isinstance(request, dict) or not ({"instances", "inputs"} & request.keys()):
            return RestResponse(HTTPStatus.BAD_REQUEST, {"error": "Missing 'inputs' or 'instances' key"})
        row_format = "instances" in request
        try:
            result = self.predict(request["instances" if row_format else "inputs"])
        except Exception as error:
            logger.error("Prediction failed: %s", error)
            return RestResponse(HTTPStatus.BAD_REQUEST, {"error": str(error)})
        return RestResponse(HTTPStatus.OK, {"predictions" if row_format else "outputs": codecs.to_list(result)})

    def _context(self, content_type: str, accept: str, attributes: str | None, length: int) -> Context:
        return Context(MODEL_NAME, None, "predict", self.rest_uri, None, attributes, content_type, accept, length)

    def _default_input(self, body: bytes, content_type: str) -> bytes | dict:
        if codecs.media_type(content_type) == codecs.CSV:
            return {"instances": codecs.to_list(generic.input_fn(body, content_type))}
        return body

    def invoke(self, body: bytes, content_type: str | None, accept: str | None,
               context: RequestContext | None = None) -> Response:
        try:
            content_type = content_type or self.default_content_type
            accept = self.default_accept if not accept or accept == codecs.ANY else accept
            attributes = context.custom_attributes if context else None
            ctx = self._context(content_type, accept, attributes, len(body))
            if self.handler:
                return to_response(self.handler(io.BytesIO(body), ctx), accept)
            if self.input_handler:
                processed = self.input_handler(io.BytesIO(body), ctx)
                return to_response(self.output_handler(self.rest(processed), ctx), accept)
            answer = self.rest(self._default_input(body, content_type))
            return Response(answer.status_code, answer.content, codecs.JSON)
        except Exception as error:
            response = error_response(error)
            if response.status == HTTPStatus.INTERNAL_SERVER_ERROR:  # the container's JSON error body
                message = response.body.decode().split("\n", 1)[0]
                return Response(response.status, json.dumps({"error": message}).encode(), codecs.JSON)
            return response


def _no_chain(*_args: Any) -> Any:
    raise NotImplementedError("TensorFlow Serving models are served through TFServingTransformer.")


def handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name="tensorflow", model_fn=_no_chain, input_fn=_no_chain, predict_fn=_no_chain,
                      output_fn=_no_chain, transformer=TFServingTransformer)
