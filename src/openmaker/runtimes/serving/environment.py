"""What the hosting engine tells the model server, read once at start-up.

The variables are the ones SageMaker gives a serving container (``SAGEMAKER_BIND_TO_PORT``,
``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``, …) plus openmaker's: ``OPENMAKER_OPT_ML`` roots
the ``/opt/ml`` tree when there is no sandbox, and ``OPENMAKER_FRAMEWORK``/``OPENMAKER_ALGORITHM``
(from ``ImageSpec.runtime_env()``) say which image this process plays, since it cannot see the URI.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from openmaker.runtimes.training.environment import opt_ml

DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"
OPT_ML = "/opt/ml"
MAX_PAYLOAD_MB = 6


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default


def _log_level(value: str | None) -> int:
    """``SAGEMAKER_CONTAINER_LOG_LEVEL`` is a number ("20") or, from some tools, a name ("INFO")."""
    if not value:
        return logging.INFO
    if value.strip().isdigit():
        return int(value)
    level = logging.getLevelName(value.strip().upper())
    return level if isinstance(level, int) else logging.INFO


def module_name(program: str | None) -> str | None:
    """``train.py`` -> ``train``, as the toolkit names the user module."""
    if not program:
        return None
    name = Path(program).name
    return name[:-3] if name.endswith(".py") else name


@dataclass(frozen=True)
class ServingEnv:
    """Everything the server needs from its environment, resolved against the ``/opt/ml`` root."""

    root: Path
    host: str
    port: int
    program: str | None
    submit_directory: str | None
    framework: str | None
    framework_version: str | None
    algorithm: str | None
    log_level: int
    workers: int
    default_accept: str | None
    default_content_type: str | None
    batch: bool
    max_payload_mb: int

    @classmethod
    def load(cls) -> ServingEnv:
        env = os.environ
        # Batch transform tells the server its concurrency; endpoints may size it like the toolkit.
        workers = _int("SAGEMAKER_MODEL_SERVER_WORKERS",
                       _int("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", os.cpu_count() or 1))
        return cls(
            root=opt_ml(),
            host=env.get("OPENMAKER_BIND_HOST") or DEFAULT_HOST,
            port=_int("SAGEMAKER_BIND_TO_PORT", _int("SAGEMAKER_SERVING_PORT", DEFAULT_PORT)),
            program=env.get("SAGEMAKER_PROGRAM") or None,
            submit_directory=env.get("SAGEMAKER_SUBMIT_DIRECTORY") or None,
            framework=(env.get("OPENMAKER_FRAMEWORK") or "").lower() or None,
            framework_version=env.get("OPENMAKER_FRAMEWORK_VERSION") or None,
            algorithm=(env.get("OPENMAKER_ALGORITHM") or "").lower() or None,
            log_level=_log_level(env.get("SAGEMAKER_CONTAINER_LOG_LEVEL")),
            workers=max(1, workers),
            default_accept=env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or None,
            default_content_type=env.get("SAGEMAKER_DEFAULT_INVOCATIONS_CONTENT_TYPE") or None,
            batch=(env.get("SAGEMAKER_BATCH") or "").lower() in ("1", "true", "yes"),
            max_payload_mb=_int("SAGEMAKER_MAX_PAYLOAD_IN_MB", MAX_PAYLOAD_MB),
        )

    @property
    def model_dir(self) -> Path:
        return Path(os.environ.get("SM_MODEL_DIR") or self.root / "model")

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def module_name(self) -> str | None:
        return module_name(self.program)

    def local_path(self, path: str) -> Path:
        """Map a container path (``/opt/ml/model/code``) into this tree when there is no sandbox."""
        candidate = Path(path)
        if candidate.exists() or not path.startswith(OPT_ML + "/") or self.root == Path(OPT_ML):
            return candidate
        return self.root / path[len(OPT_ML) + 1:]
