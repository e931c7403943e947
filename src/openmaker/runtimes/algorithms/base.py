"""The shape every built-in algorithm has, and the training flow they share.

An algorithm is a module (``openmaker.runtimes.algorithms.<name>``) with, like a scikit-learn estimator,
parameters checked at the boundary and one way to fit and predict:

- ``HYPERPARAMETERS``: a :class:`~.hyperparameters.Schema`;
- ``CHANNELS``: the :class:`~.channels.ChannelSpec` it accepts;
- ``content_type(value) -> str``: a channel's ContentType normalized (None: the algorithm's default),
  raising :class:`~.errors.UserError` for one it cannot read;
- ``fit(hps, channels, env) -> Model | None``: train on the validated hyperparameters and the discovered
  channels, printing metric lines (:mod:`.metrics`); None on a host that does not keep the model
  (a distributed worker);
- ``load(model_dir) -> Model``: the model back from the directory ``Model.save`` wrote;
- optionally ``validate(raw, env) -> dict`` when validation depends on the image version;
- optionally ``FIRST_PARTY = True``: Amazon's own algorithms report a user's mistake as
  ``ClientError: …`` (the framework containers, XGBoost's among them, report every failure as
  ``AlgorithmError``).

A ``Model`` has ``save(model_dir)`` and ``predict(X) -> list[dict]`` (one dict per record, e.g.
``{"score": 0.93}``: the algorithms' JSON answer). Serving lives in ``<name>/serve.py`` as
``handlers(env) -> HandlerSet`` and is registered by :mod:`openmaker.runtimes.algorithms`.

:func:`run` is ``python -m openmaker.runtimes.algorithms <name>``: read the job's config with the training
entry's :class:`TrainingEnv`, validate, discover channels, fit, save. Any failure ends with its message
in ``output/failure`` (the job's FailureReason) and exit code 1, at once, before data is read when it is a
hyperparameter or channel problem.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from openmaker.runtimes.algorithms.channels import discover
from openmaker.runtimes.algorithms.errors import AlgorithmError, BaseAlgorithmError, PlatformError, UserError
from openmaker.runtimes.training.environment import FRAMEWORK_PREFIX, TrainingEnv

logger = logging.getLogger("openmaker.algorithms")
FAILURE_CHARS = 4096
PACKAGE = "openmaker.runtimes.algorithms"
CLIENT_ERROR = "ClientError: "  # a failure file starting so keeps its category (engine/lifecycle.py)


class Model(Protocol):
    def save(self, model_dir: Path) -> None: ...

    def predict(self, data: Any) -> list[dict[str, Any]]: ...


def module_for(name: str) -> ModuleType:
    """The algorithm's module; ``linear-learner`` lives in ``linear_learner``."""
    module = name.strip().lower().replace("-", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", module):
        raise PlatformError(f"{name!r} is not an algorithm name.")
    try:
        return importlib.import_module(f"{PACKAGE}.{module}")
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith(f"{PACKAGE}.{module}"):
            raise PlatformError(
                f"The built-in algorithm {name!r} is not implemented in openmaker yet. Use a framework "
                "estimator (for example SKLearn or XGBoost with an entry_point script) meanwhile."
            ) from error
        raise


def image_version() -> tuple[int, ...] | None:
    """The image tag's version (``1.7-1`` -> (1, 7), ``1`` -> (1,)); None for ``latest``/no tag."""
    text = os.environ.get("OPENMAKER_FRAMEWORK_VERSION") or ""
    numbers = re.findall(r"\d+", text.split("-", 1)[0])
    return tuple(int(n) for n in numbers) if numbers else None


def raw_hyperparameters(env: TrainingEnv) -> dict[str, Any]:
    """``hyperparameters.json`` as given, less the SDK's ``sagemaker_*`` framework parameters (the tuning
    service's ``_tuning_objective_metric`` stays: the algorithms use it)."""
    path = env.input_config_dir / "hyperparameters.json"
    try:
        raw = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        raw = {}
    except ValueError as error:
        raise PlatformError(f"{path} is not valid JSON", caused_by=error) from error
    return {key: value for key, value in raw.items() if not key.startswith(FRAMEWORK_PREFIX)}


def write_failure(env: TrainingEnv, message: str) -> None:
    try:
        env.failure_file.parent.mkdir(parents=True, exist_ok=True)
        env.failure_file.write_text(message[:FAILURE_CHARS])
    except OSError:
        pass  # stderr still carries it
    print(message, file=sys.stderr, flush=True)


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(asctime)s:%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def train(algorithm: ModuleType, env: TrainingEnv) -> None:
    """Validate, discover, fit and save; raises the algorithm errors."""
    raw = raw_hyperparameters(env)
    validate = getattr(algorithm, "validate", None)
    hps = validate(raw, env) if callable(validate) else algorithm.HYPERPARAMETERS.validate(raw)
    logger.info("Hyperparameters: %s", json.dumps(hps, default=str, sort_keys=True))
    channels = discover(env, algorithm.CHANNELS, algorithm.content_type)
    for channel in channels.values():
        logger.info("Channel %s: %s (%s, %s)", channel.name, channel.path, channel.content_type,
                    channel.input_mode)
    model = algorithm.fit(hps, channels, env)
    if model is not None:
        env.model_dir.mkdir(parents=True, exist_ok=True)
        model.save(env.model_dir)
        logger.info("Saved the model to %s", env.model_dir)


def run(name: str) -> int:
    """``python -m openmaker.runtimes.algorithms <name>``: train and report like the algorithm containers."""
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)
    _setup_logging()
    env = TrainingEnv.load()
    started = time.monotonic()
    algorithm: ModuleType | None = None
    try:
        env.make_dirs()
        algorithm = module_for(name)
        train(algorithm, env)
    except UserError as error:
        logger.error("Customer Error: %s", error.message)
        first_party = getattr(algorithm, "FIRST_PARTY", False)
        write_failure(env, f"{CLIENT_ERROR}{error.message}" if first_party else error.message)
        return 1
    except BaseAlgorithmError as error:
        logger.error("%s: %s", type(error).__name__, error.message)
        write_failure(env, error.message)
        return 1
    except Exception as error:  # a bug: keep the traceback, say where it came from
        traceback.print_exc()
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        tail = "".join(traceback.format_tb(error.__traceback__)[-3:]).rstrip()
        write_failure(env, AlgorithmError(f"{detail}\nTraceback (most recent call last):\n{tail}").message)
        return 1
    logger.info("Training finished in %.2fs", time.monotonic() - started)
    return 0
