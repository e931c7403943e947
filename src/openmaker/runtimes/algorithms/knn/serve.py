"""The k-NN model server: the first-party request and answer formats, plus k-NN's verbose answers.

Requests and answers are those of every first-party algorithm (:mod:`..firstparty.serve`): CSV, JSON,
JSON Lines, RecordIO-protobuf and NPY in; ``{"predictions": [{"predicted_label": …}]}`` JSON by default,
JSON Lines, CSV or RecordIO-protobuf (``label["predicted_label"]``) out. k-NN adds one thing: an Accept of
``application/json; verbose=true`` (also JSON Lines and RecordIO-protobuf) adds each record's
``distances`` to its ``k`` neighbours, nearest first, and their ``labels`` in the same order. The Accept
header reaches ``predict_fn`` through the request context, which is why k-NN has its own handler set;
CSV answers stay one label a line (verbose is ignored there).
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.knn.model import KNNModel
from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.errors import DataFormatError
from openmaker.runtimes.formats.inference import choose_accept, encode_predictions, parse_request
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.handlers import HandlerSet

VERBOSE_TYPES = (ct.JSON, ct.JSONLINES, ct.RECORDIO_PROTOBUF)


def verbose(accept: str | None) -> bool:
    """True when the Accept type chosen for the answer carries ``verbose=true``."""
    if not accept:
        return False
    try:
        chosen = choose_accept(accept)
    except DataFormatError:
        return False  # output_fn answers 406
    if chosen not in VERBOSE_TYPES:
        return False
    for part in accept.split(","):
        media, params = ct.parse(part)
        if media == chosen:
            return params.get("verbose", "").lower() == "true"
    return False


def model_fn(model_dir: str) -> KNNModel:
    return KNNModel.load(model_dir)


def input_fn(body: bytes | str, content_type: str) -> tuple[bytes, str]:
    """Decoding waits for the model (it knows feature_dim), so the body passes through."""
    return (body if isinstance(body, bytes) else body.encode()), content_type


def predict_fn(request: tuple[bytes, str], model: KNNModel, context: Any = None) -> list[dict[str, Any]]:
    body, content_type = request
    parsed = parse_request(body, content_type, model.feature_dim)
    accept = getattr(context, "accept_header", None)
    return model.predict(parsed.X, parsed.configuration, verbose=verbose(accept))


def output_fn(predictions: list[dict[str, Any]], accept: str) -> tuple[bytes, str]:
    return encode_predictions(predictions, accept)


def handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name="knn", model_fn=model_fn, input_fn=input_fn, predict_fn=predict_fn,
                      output_fn=output_fn, default_accept=ct.JSONLINES if env.batch else ct.JSON,
                      default_content_type=ct.CSV)
