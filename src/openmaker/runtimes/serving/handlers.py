"""Default handler sets per framework and per built-in algorithm: the server's extension point.

A :class:`HandlerSet` is what a SageMaker container's ``default_inference_handler`` is: the
``model_fn``/``input_fn``/``predict_fn``/``output_fn`` used wherever the user's script defines none,
plus the defaults for a request without Content-Type or Accept. The registry maps a framework
(``OPENMAKER_FRAMEWORK``) or an algorithm (``OPENMAKER_ALGORITHM``) to a factory, named as
``"module:function"`` so that heavy imports (xgboost, torch) happen only in the process that serves
that framework.

Built-in algorithms plug in without touching the server::

    # openmaker/runtimes/algorithms/linear_learner/serving.py
    def handlers(env): return HandlerSet(name="linear-learner", model_fn=..., input_fn=..., ...)

    register_algorithm("linear-learner", "openmaker.runtimes.algorithms.linear_learner.serving:handlers")
    # then, in ``python -m openmaker.runtimes.algorithms linear-learner serve``:
    from openmaker.runtimes.serving.server import serve
    sys.exit(serve(algorithm="linear-learner"))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openmaker.runtimes.serving import codecs

if TYPE_CHECKING:
    from openmaker.runtimes.serving.environment import ServingEnv
    from openmaker.runtimes.serving.transformer import Transformer

Factory = Callable[["ServingEnv"], "HandlerSet"]


@dataclass
class HandlerSet:
    """The defaults of one framework or algorithm (any the user's script defines win)."""

    name: str
    model_fn: Callable[[str], Any]
    input_fn: Callable[[Any, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    default_accept: str = codecs.JSON
    default_content_type: str = codecs.JSON
    # Status for an empty request body (the XGBoost algorithm answers 204); None: pass it on.
    empty_body_status: int | None = None
    # A framework whose request flow is not the toolkit chain (TF Serving's input/output_handler)
    # builds its own transformer from the user module.
    transformer: Callable[..., Transformer] | None = None


_FRAMEWORKS: dict[str, str | Factory] = {
    "sklearn": "openmaker.runtimes.serving.frameworks.sklearn:handlers",
    "xgboost": "openmaker.runtimes.serving.frameworks.xgboost:framework_handlers",
    "pytorch": "openmaker.runtimes.serving.frameworks.pytorch:handlers",
    "tensorflow": "openmaker.runtimes.serving.frameworks.tensorflow:handlers",
    "mxnet": "openmaker.runtimes.serving.frameworks.generic:handlers",
}
# Filled by openmaker.runtimes.algorithms (register_serving), imported on first look-up.
_ALGORITHMS: dict[str, str | Factory] = {}
_builtins_registered = False
GENERIC = "openmaker.runtimes.serving.frameworks.generic:handlers"


def register_framework(name: str, factory: str | Factory) -> None:
    _FRAMEWORKS[name.lower()] = factory


def register_algorithm(name: str, factory: str | Factory) -> None:
    _ALGORITHMS[name.lower()] = factory


def _register_builtins() -> None:
    """The built-in algorithms register their servers themselves; ask them once, lazily."""
    global _builtins_registered
    if not _builtins_registered:
        _builtins_registered = True
        from openmaker.runtimes.algorithms import register_serving

        register_serving()


def has_algorithm(name: str | None) -> bool:
    _register_builtins()
    return bool(name) and name.lower() in _ALGORITHMS


def _resolve(factory: str | Factory) -> Factory:
    if callable(factory):
        return factory
    module, _, attribute = factory.partition(":")
    return getattr(importlib.import_module(module), attribute)


def handlers_for(env: ServingEnv, framework: str | None = None, algorithm: str | None = None) -> HandlerSet:
    """The defaults for ``algorithm`` if given and registered, else ``framework``, else the toolkit's."""
    _register_builtins()
    if algorithm and algorithm.lower() in _ALGORITHMS:
        return _resolve(_ALGORITHMS[algorithm.lower()])(env)
    factory = _FRAMEWORKS.get((framework or "").lower(), GENERIC)
    return _resolve(factory)(env)
