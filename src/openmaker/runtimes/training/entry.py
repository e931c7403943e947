"""The training entry's main flow: environment, code, requirements, then script or legacy mode.

Log lines follow the toolkit's ("Invoking user script", the command, "Reporting training SUCCESS") so
output reads like a SageMaker job's. Every failure ends in ``output/failure``, which the engine turns into
the job's FailureReason, and a non-zero exit code.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import traceback
from pathlib import Path

from openmaker.runtimes.training.code import CodeError, install_requirements, locate_code
from openmaker.runtimes.training.environment import TrainingEnv
from openmaker.runtimes.training.legacy import is_legacy, run_legacy
from openmaker.runtimes.training.script import command_for, missing_framework_hint, run_script

logger = logging.getLogger("openmaker-training")
ALGORITHMS_MODULE = "openmaker.runtimes.algorithms"
FAILURE_CHARS = 1024 * 4


def _setup_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)-12s %(levelname)-8s %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def write_failure(env: TrainingEnv, message: str) -> None:
    env.failure_file.parent.mkdir(parents=True, exist_ok=True)
    env.failure_file.write_text(message[:FAILURE_CHARS])
    logger.error("Reporting training FAILURE")
    logger.error(message)


def _python_path(*entries: Path | None) -> str:
    parts = [str(entry) for entry in entries if entry is not None]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


def main() -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)
    env = TrainingEnv.load()
    _setup_logging(env.log_level)
    env.make_dirs()
    logger.info("Imported framework openmaker.runtimes.training")

    program = env.program
    if not program:
        algorithm = os.environ.get("OPENMAKER_ALGORITHM")
        if algorithm:  # sagemaker-xgboost without a script is the built-in algorithm
            logger.info("No sagemaker_program: running the built-in %s algorithm", algorithm)
            sys.stdout.flush()
            os.execv(sys.executable, [sys.executable, "-m", ALGORITHMS_MODULE, algorithm])
        write_failure(env, "No training script: the job has no sagemaker_program hyperparameter "
                           "(set entry_point on the estimator, or SAGEMAKER_PROGRAM).")
        return 1

    try:
        code_dir = locate_code(env.submit_directory, env.root / "code")
        deps = install_requirements(code_dir, env.root / ".openmaker")
    except CodeError as error:
        write_failure(env, str(error))
        return 1
    script = code_dir / program
    if not script.is_file():
        write_failure(env, f"The training script {program!r} is not in the code directory ({sorted(p.name for p in code_dir.iterdir())[:20]}).")
        return 1

    sm_env = env.to_env_vars(code_dir)
    child_env = {**os.environ, **sm_env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": _python_path(code_dir, deps)}
    if is_legacy(script):
        return _legacy(env, code_dir, deps, sm_env)

    command = command_for(script, env.user_args())
    logger.info("Invoking user script\n\nTraining Env:\n\n%s\n", json.dumps(json.loads(sm_env["SM_TRAINING_ENV"]), indent=4))
    logger.info("Invoking script with the following command:\n\n%s\n", shlex.join(command))
    result = run_script(command, code_dir, child_env)
    if result.returncode != 0:
        write_failure(env, result.failure_message())
        return result.returncode if result.returncode > 0 else 128 - result.returncode
    logger.info("Reporting training SUCCESS")
    return 0


def _legacy(env: TrainingEnv, code_dir: Path, deps: Path | None, sm_env: dict[str, str]) -> int:
    """Run a legacy module in this process (its ``train`` returns the model object itself)."""
    os.environ.update(sm_env)
    if deps is not None:
        sys.path.insert(0, str(deps))
    logger.info("Invoking user script (legacy train()/save() mode)\n\nTraining Env:\n\n%s\n",
                json.dumps(json.loads(sm_env["SM_TRAINING_ENV"]), indent=4))
    try:
        run_legacy(env, code_dir, env.module_name)
    except BaseException as error:  # the user's code may raise anything, SystemExit included
        if isinstance(error, SystemExit) and not error.code:
            logger.info("Reporting training SUCCESS")
            return 0
        traceback.print_exc()
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        tail = "".join(traceback.format_tb(error.__traceback__)[-3:]).rstrip()
        write_failure(env, f"{detail}\nTraceback (most recent call last):\n{tail}{missing_framework_hint(detail)}")
        return 1
    logger.info("Reporting training SUCCESS")
    return 0
