"""The XGBoost algorithm's model server (the container's own, not the inference toolkit's).

Requests: ``text/csv`` (no label; the delimiter is sniffed), ``text/libsvm``/``text/x-libsvm``,
``application/x-recordio-protobuf`` and ``application/json`` (through :mod:`openmaker.runtimes.formats`
when present). Answers: default Accept ``text/csv``; JSON is ``{"predictions": [{"score": …}, …]}``, JSON
Lines one ``{"score": …}`` a line, RecordIO-protobuf one record a prediction. CSV changed with the image
version: up to 1.3 the predictions comma-separated on one line (what the SDK v1 era notebooks parse with
``np.fromstring(body, sep=",")``), from 1.5-1 one per line. Batch transform (``SAGEMAKER_BATCH=true``)
always gets one per line with a trailing newline. Status codes are the container's: 204 for an empty
body, 415 for a body that does not decode, 400 when prediction fails (a row with more columns than the
model has features: "Unable to evaluate payload provided: … Number of columns does not match number of
features in booster."), 406 for an Accept it cannot write.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from openmaker.runtimes.algorithms.xgboost.model import XGBoostModel
from openmaker.runtimes.serving import codecs
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.errors import InferenceError, NotAcceptableError
from openmaker.runtimes.serving.frameworks import xgboost as framework
from openmaker.runtimes.serving.handlers import HandlerSet

RECORDIO = "application/x-recordio-protobuf"
ACCEPTS = (codecs.JSON, codecs.JSONLINES, codecs.CSV, RECORDIO)
# The CSV answer became one prediction per line in 1.5-1.
NEWLINE_CSV_FROM = (1, 5)


def _version(text: str | None) -> tuple[int, ...] | None:
    numbers = re.findall(r"\d+", (text or "").split("-", 1)[0])
    return tuple(int(n) for n in numbers) if numbers else None


def _csv_value(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


class Output:
    """The encoders, which depend on the image version and batch mode."""

    def __init__(self, env: ServingEnv) -> None:
        version = _version(env.framework_version)
        self.batch = env.batch
        self.newline_csv = version is not None and version >= NEWLINE_CSV_FROM

    def __call__(self, prediction: Any, accept: str) -> tuple[str | bytes, str]:
        kind = next((kind for kind in codecs.parse_accept(accept) if kind in ACCEPTS), None)
        if kind is None:
            raise NotAcceptableError(accept)
        values = codecs.to_list(prediction)
        if kind == RECORDIO:
            return _recordio(values), kind
        if self.batch and kind == codecs.CSV:
            return "\n".join(_csv_value(value) for value in values) + "\n", kind
        if kind == codecs.JSON:
            return json.dumps({"predictions": [{"score": value} for value in values]}), kind
        if kind == codecs.JSONLINES:
            return "".join(json.dumps({"score": value}) + "\n" for value in values), kind
        if self.newline_csv:
            return "\n".join(_csv_value(value) for value in values) + "\n", kind
        return ",".join(_csv_value(value) for value in values), kind


def _recordio(values: list[Any]) -> bytes:
    try:
        from openmaker.runtimes.formats.inference import encode_predictions
    except ImportError as error:
        raise NotAcceptableError(RECORDIO) from error
    body, _ = encode_predictions([{"score": value} for value in values], RECORDIO)
    return body


def _decode_with_formats(body: bytes | str, content_type: str) -> Any:
    from openmaker.runtimes.formats.inference import decode_request

    return decode_request(body if isinstance(body, bytes) else body.encode(), content_type, None)


def input_fn(body: bytes | str, content_type: str) -> Any:
    """The body as a DMatrix; anything undecodable is 415, as the container answers."""
    import xgboost as xgb

    kind = codecs.media_type(content_type)
    try:
        if kind in (codecs.CSV, *framework.LIBSVM_TYPES):
            return framework.input_fn(body, content_type)
        if kind in (RECORDIO, codecs.JSON, codecs.JSONLINES):
            try:
                return xgb.DMatrix(_decode_with_formats(body, content_type))
            except ImportError:
                if kind == codecs.JSON:
                    return framework.input_fn(body, content_type)
                raise
    except InferenceError as error:
        raise InferenceError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, error.message) from error
    except ImportError as error:
        raise InferenceError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-type {content_type} is not supported.") \
            from error
    except Exception as error:  # a decoder's own error on a malformed body
        raise InferenceError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                             f"Loading {kind} data failed with Exception, please ensure data is in {kind} format:"
                             f"\n {type(error)}\n {error}") from error
    raise InferenceError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-type {content_type} is not supported.")


def model_fn(model_dir: str) -> XGBoostModel:
    return XGBoostModel.load(model_dir)


def predict_fn(data: Any, model: XGBoostModel) -> Any:
    try:
        return model.predict_raw(data)
    except Exception as error:
        message = str(error).split("\nStack trace:", 1)[0].strip()
        raise InferenceError(HTTPStatus.BAD_REQUEST, f"Unable to evaluate payload provided: {message}") from error


def handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name="xgboost-algorithm", model_fn=model_fn, input_fn=input_fn, predict_fn=predict_fn,
                      output_fn=Output(env), default_accept=codecs.CSV, default_content_type=codecs.CSV,
                      empty_body_status=HTTPStatus.NO_CONTENT)
