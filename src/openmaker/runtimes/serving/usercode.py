"""Finding and importing the user's inference script.

Like the inference toolkit: ``SAGEMAKER_PROGRAM`` in ``SAGEMAKER_SUBMIT_DIRECTORY`` (an
``s3://…/sourcedir.tar.gz``, a local directory such as ``/opt/ml/model/code`` for repacked models, or
an archive), else ``<model_dir>/code/inference.py`` when the model carries one. The download and the
safe extraction are the training entry's (:mod:`openmaker.runtimes.training.code`), so both sides
accept the same sources. The engine prepares the Python environment (``requirements.txt``) the way it
does for training; here the code directory only goes on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path
from types import ModuleType

from openmaker.runtimes.serving.environment import ServingEnv, module_name
from openmaker.runtimes.serving.errors import ModelLoadError
from openmaker.runtimes.training.code import CodeError, locate_code
from openmaker.runtimes.training.script import missing_framework_hint

logger = logging.getLogger("openmaker-serving")
DEFAULT_PROGRAM = "inference.py"


def _writable_code_dir(env: ServingEnv) -> Path:
    """Where a downloaded ``sourcedir.tar.gz`` is extracted: ``/opt/ml/code``, else a temporary dir."""
    target = env.root / "code"
    try:
        target.mkdir(parents=True, exist_ok=True)
        if os.access(target, os.W_OK):
            return target
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="openmaker-serving-code-"))


def code_directory(env: ServingEnv) -> Path | None:
    """The directory holding the user's code, downloaded and extracted when it is an archive."""
    if env.submit_directory:
        source = env.submit_directory
        if "://" not in source:
            source = str(env.local_path(source))
        try:
            return locate_code(source, _writable_code_dir(env))
        except CodeError as error:
            raise ModelLoadError(str(error)) from error
    if os.environ.get("OPENMAKER_CODE_DIR"):
        return Path(os.environ["OPENMAKER_CODE_DIR"])
    bundled = env.model_dir / "code"
    return bundled if bundled.is_dir() else None


def find_script(env: ServingEnv) -> Path | None:
    """The user's script, or None when the model is served with the framework defaults alone."""
    code_dir = code_directory(env)
    program = env.program
    if program is None:
        if code_dir is not None and (code_dir / DEFAULT_PROGRAM).is_file():
            return code_dir / DEFAULT_PROGRAM
        return None
    if code_dir is None:
        code_dir = Path.cwd()
    script = code_dir / program
    if not script.is_file() and not program.endswith(".py") and (code_dir / f"{program}.py").is_file():
        script = code_dir / f"{program}.py"
    if not script.is_file():
        present = sorted(path.name for path in code_dir.iterdir())[:20] if code_dir.is_dir() else []
        raise ModelLoadError(
            f"The inference script {program!r} (SAGEMAKER_PROGRAM) is not in the code directory "
            f"{code_dir} (it holds {present})."
        )
    return script


def import_script(script: Path) -> ModuleType:
    """Import the script as the toolkit does: its directory first on ``sys.path``, its name the module's."""
    name = module_name(script.name) or "inference"
    directory = str(script.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"Cannot import the inference script {script}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    logger.info("Importing user module %s from %s", name, directory)
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        sys.modules.pop(name, None)
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        tail = "".join(traceback.format_tb(error.__traceback__)[-3:]).rstrip()
        raise ModelLoadError(
            f"Importing the inference script {script.name} failed: {detail}\n"
            f"Traceback (most recent call last):\n{tail}{missing_framework_hint(detail)}"
        ) from error
    return module


def load_user_module(env: ServingEnv) -> ModuleType | None:
    script = find_script(env)
    return import_script(script) if script is not None else None
