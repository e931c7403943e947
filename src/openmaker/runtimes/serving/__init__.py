"""The model server: ``python -m openmaker.runtimes.serving``.

It plays the in-container side of SageMaker hosting for framework images (scikit-learn, XGBoost,
PyTorch, TensorFlow Serving, MXNet): load the model once at start-up, then answer ``GET /ping``,
``POST /invocations`` and ``GET /execution-parameters`` on ``127.0.0.1:$SAGEMAKER_BIND_TO_PORT``.
Requests go through the inference toolkit's handler chain (``model_fn``, ``input_fn``, ``predict_fn``,
``output_fn`` or ``transform_fn`` from the user's script, framework defaults for the rest).

Built-in algorithms reuse the same server with their own handlers: see :mod:`.handlers`
(``register_algorithm`` / ``handlers_for``) and :func:`.server.serve`. Nothing here imports the
server, the database or the engine.
"""

from openmaker.runtimes.serving.errors import InferenceError, NotAcceptableError, UnsupportedFormatError
from openmaker.runtimes.serving.handlers import (
    HandlerSet,
    handlers_for,
    register_algorithm,
    register_framework,
)

__all__ = [
    "HandlerSet",
    "InferenceError",
    "NotAcceptableError",
    "UnsupportedFormatError",
    "handlers_for",
    "register_algorithm",
    "register_framework",
]
