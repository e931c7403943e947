"""What to run for a job: the image's command and the Python environment, via the runtime
engineer's ``engine.images`` / ``engine.environments`` (imported lazily so the lifecycle does not
depend on their import cost or presence). Until those modules exist, every image is treated as a
BYO image that must bring its own ``ContainerEntrypoint``, run with the server's interpreter."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ImageError(Exception):
    """The image cannot run (unknown URI, no entry point): a client-visible failure reason."""


@dataclass
class Prepared:
    argv: list[str]
    python: str
    bin_dir: str
    env: dict[str, str] = field(default_factory=dict)
    image_kind: str = "byo"
    workdir: str | None = None  # a registered image's working directory (else /opt/ml)


def prepare(
    uri: str,
    role: str,
    home: Path,
    entrypoint: list[str] | None,
    arguments: list[str] | None,
    requirements: Path | None = None,
    job_config: dict[str, str] | None = None,
) -> Prepared:
    """Resolve ``uri`` and its environment; ContainerEntrypoint/Arguments override the image's
    own command as in a container runtime. ``job_config`` (training hyperparameters) lets a
    dual-mode image pick script mode or its built-in algorithm."""
    try:
        from openmaker.engine import environments, images
    except ImportError:
        images = environments = None  # type: ignore[assignment]
    workdir: str | None = None
    if images is None or environments is None:
        python, bin_dir, extra, kind, default = (
            sys.executable,
            str(Path(sys.executable).parent),
            {},
            "byo",
            None,
        )
    else:
        try:
            spec = images.resolve_image(uri, home)
        except Exception as exc:  # UnknownImage carries a user-facing message
            raise ImageError(str(exc)) from exc
        try:
            env = environments.ensure_environment(spec, home, requirements)
        except Exception as exc:  # EnvironmentSetupError: the installer's last lines
            raise ImageError(f"could not set up the job's Python environment: {exc}") from exc
        python, bin_dir, kind = env.python, str(env.bin_dir), spec.kind
        extra = {**dict(env.env), **spec.runtime_env()}
        default = spec.command(role, python, job_config)
        workdir = spec.workdir
        if default is None and not entrypoint:
            raise ImageError(spec.no_command_message(role))
        if entrypoint:
            entrypoint = env.argv(list(entrypoint))
    if entrypoint:
        argv = list(entrypoint) + list(arguments or [])
    elif default:
        argv = list(default) + list(arguments or [])
    else:
        raise ImageError(
            f"the image {uri} has no entry point for {role}; give AppSpecification.ContainerEntrypoint "
            "(or AlgorithmSpecification.ContainerEntrypoint)"
        )
    return Prepared(argv, python, bin_dir, extra, kind, workdir)


def base_env(prepared: Prepared, server: Any) -> dict[str, str]:
    """The process environment every job starts from: a clean PATH with the image's interpreter
    first, locale, and credentials + endpoint for talking back to openmaker with boto3/s3fs."""
    settings = server.settings
    env = {
        "PATH": prepared.bin_dir + os.pathsep + os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": server.root.access_key_id,
        "AWS_SECRET_ACCESS_KEY": server.root.secret_access_key,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_REGION": settings.region,
    }
    for key in ("HOME", "TZ", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(prepared.env)
    return env
