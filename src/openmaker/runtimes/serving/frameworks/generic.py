"""The inference toolkit's bare defaults, for frameworks without their own (MXNet, unknown images).

As in ``sagemaker-inference-toolkit``: there is no default ``model_fn`` (the script must load its
model), bodies decode to NumPy by Content-Type and encode by Accept. The toolkit's default
``predict_fn`` refuses to guess; calling ``model.predict`` or the model itself is a harmless kindness.
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.serving import codecs
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.handlers import HandlerSet


def model_fn(model_dir: str) -> Any:
    raise NotImplementedError(
        "Please provide a model_fn implementation in the inference script (model_fn(model_dir) must "
        "load and return the model). See documentation for model_fn at https://sagemaker.readthedocs.io/en/stable/"
    )


def input_fn(body: bytes | str, content_type: str) -> Any:
    return codecs.decode(body, content_type)


def predict_fn(data: Any, model: Any) -> Any:
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise NotImplementedError(
        "Please provide a predict_fn implementation: the model returned by model_fn has no predict() "
        "and is not callable."
    )


def output_fn(prediction: Any, accept: str) -> tuple[str | bytes, str]:
    return codecs.encode(prediction, accept)


def handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name=env.framework or "generic", model_fn=model_fn, input_fn=input_fn,
                      predict_fn=predict_fn, output_fn=output_fn)
