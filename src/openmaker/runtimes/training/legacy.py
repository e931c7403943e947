"""Legacy mode: the MXNet/TensorFlow containers before script mode (SDK v1, the seed workshop).

Those containers imported the user's module and called its ``train(...)`` with the keyword arguments it
declared, then ``save(model, model_dir)``. A module is treated as legacy when it defines a top-level
``train`` function, has no ``if __name__ == "__main__":`` block and neither calls ``train`` nor parses
arguments at top level — decided from the source, without running it. ``OPENMAKER_TRAINING_MODE=legacy|script`` overrides the guess.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker-training")


def is_legacy(program: Path) -> bool:
    mode = os.environ.get("OPENMAKER_TRAINING_MODE", "").lower()
    if mode in ("legacy", "script"):
        return mode == "legacy"
    if program.suffix != ".py":
        return False
    try:
        tree = ast.parse(program.read_text(), filename=str(program))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return False  # let script mode report the syntax error as Python does
    has_train = any(isinstance(node, ast.FunctionDef) and node.name == "train" for node in tree.body)
    if not has_train or any(_is_main_guard(node) for node in tree.body):
        return False
    # A script that calls train() or parses its arguments at top level runs itself: script mode.
    return not any(_called_at_top_level(node, ("train", "parse_args", "parse_known_args")) for node in tree.body)


def _called_at_top_level(node: ast.stmt, names: tuple[str, ...]) -> bool:
    """Whether code outside any function or class body calls one of ``names``."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return False
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in names:
                return True
    return False


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in names
    )


def train_kwargs(env: TrainingEnv) -> dict[str, Any]:
    """Every argument the legacy containers offered ``train``; hyperparameters also by name."""
    offered: dict[str, Any] = dict(env.hyperparameters)
    offered.update(
        hyperparameters=dict(env.hyperparameters),
        input_data_config=env.input_data_config,
        channel_input_dirs=dict(env.channel_input_dirs),
        output_data_dir=str(env.output_data_dir),
        model_dir=str(env.model_dir),
        num_gpus=env.num_gpus,
        num_cpus=env.num_cpus,
        hosts=env.hosts,
        current_host=env.current_host,
    )
    return offered


def select_kwargs(function, offered: dict[str, Any]) -> dict[str, Any]:
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return offered
    return {name: offered[name] for name in parameters if name in offered}


def run_legacy(env: TrainingEnv, code_dir: Path, module_name: str) -> None:
    """Import the user's module, call ``train``, then ``save`` the returned model."""
    sys.path.insert(0, str(code_dir))
    os.chdir(code_dir)
    module = importlib.import_module(module_name)
    kwargs = select_kwargs(module.train, train_kwargs(env))
    logger.info("Invoking user training script (legacy mode): %s.train(%s)", module_name, ", ".join(kwargs))
    model = module.train(**kwargs)
    if model is None:
        return
    env.model_dir.mkdir(parents=True, exist_ok=True)
    if callable(getattr(module, "save", None)):
        module.save(model, str(env.model_dir))
    else:
        default_save(model, env.model_dir)


def default_save(model: Any, model_dir: Path) -> Path:
    """Persist a returned model when the module has no ``save``: the framework's own format if any."""
    if hasattr(model, "save_parameters"):  # MXNet Gluon
        model.save_parameters(str(model_dir / "model.params"))
        return model_dir / "model.params"
    if hasattr(model, "save_checkpoint"):  # MXNet Module
        model.save_checkpoint(str(model_dir / "model"), 0)
        return model_dir / "model-0000.params"
    if callable(getattr(model, "save", None)):  # Keras and friends
        try:
            model.save(str(model_dir / "model"))
            return model_dir / "model"
        except TypeError:
            pass
    path = model_dir / "model.pkl"
    with open(path, "wb") as handle:
        pickle.dump(model, handle)
    return path
