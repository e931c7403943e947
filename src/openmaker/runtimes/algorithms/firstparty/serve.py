"""The model server of the first-party algorithms: every request format in, ``predictions`` out.

Requests may be ``text/csv`` (features only), ``application/json`` (``{"instances": [{"features": …}]}``,
``{"instances": [{"data": {"features": {"keys", "shape", "values"}}}]}`` or a bare list),
``application/jsonlines``, ``application/x-recordio-protobuf`` and ``application/x-npy``; the model's
``feature_dim`` checks them. Answers are JSON ``{"predictions": [{…}, …]}`` by default, JSON Lines (one
object a line: what batch transform writes with Accept ``application/jsonlines``), CSV or RecordIO-protobuf
records (the SDK's ``RecordDeserializer``). Under batch transform a request without Accept gets JSON Lines:
the book's Linear Learner transform sets no Accept and reads ``{"score": …}`` lines from the ``.out`` file.
A model is anything with ``feature_dim`` and ``predict(X, configuration) -> list[dict]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.inference import encode_predictions, parse_request
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.handlers import HandlerSet


class ServedModel(Protocol):
    feature_dim: int | None

    def predict(self, X: Any, configuration: dict | None = None) -> list[dict[str, Any]]: ...


def _input_fn(body: bytes | str, content_type: str) -> tuple[bytes, str]:
    """Decoding waits for the model (it knows feature_dim), so the body passes through."""
    return (body if isinstance(body, bytes) else body.encode()), content_type


def _predict_fn(data: tuple[bytes, str], model: ServedModel) -> list[dict[str, Any]]:
    body, content_type = data
    request = parse_request(body, content_type, model.feature_dim)
    return model.predict(request.X, request.configuration)


def _output_fn(predictions: list[dict[str, Any]], accept: str) -> tuple[bytes, str]:
    return encode_predictions(predictions, accept)


def handlers_for(name: str, load: Callable[[str], ServedModel]) -> Callable[[ServingEnv], HandlerSet]:
    """The ``handlers(env)`` factory of an algorithm whose models ``load(model_dir)`` returns."""

    def handlers(env: ServingEnv) -> HandlerSet:
        return HandlerSet(name=name, model_fn=load, input_fn=_input_fn, predict_fn=_predict_fn,
                          output_fn=_output_fn, default_accept=ct.JSONLINES if env.batch else ct.JSON,
                          default_content_type=ct.CSV)

    return handlers
