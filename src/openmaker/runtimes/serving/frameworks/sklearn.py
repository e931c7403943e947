"""scikit-learn defaults (``sagemaker-scikit-learn-container``).

The container has no default ``model_fn``; every SageMaker example saves ``model.joblib``, so that file
(or the only ``*.joblib``/``*.pkl`` in the model directory) is loaded when the script defines none.
``input_fn`` decodes CSV/JSON/NPY/NPZ, ``predict_fn`` is ``model.predict``, ``output_fn`` encodes by
Accept (JSON when there is none, as the container's ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.frameworks import generic
from openmaker.runtimes.serving.handlers import HandlerSet

MODEL_FILE = "model.joblib"
MODEL_PATTERNS = ("*.joblib", "*.pkl", "*.pickle")


def model_file(model_dir: str) -> Path:
    directory = Path(model_dir)
    preferred = directory / MODEL_FILE
    if preferred.is_file():
        return preferred
    found = sorted({path for pattern in MODEL_PATTERNS for path in directory.glob(pattern) if path.is_file()})
    if len(found) == 1:
        return found[0]
    present = sorted(path.name for path in directory.iterdir())[:20] if directory.is_dir() else []
    raise FileNotFoundError(
        f"No {MODEL_FILE} in the model directory {model_dir} (it holds {present}): save the model with "
        f"joblib.dump(model, os.path.join(args.model_dir, '{MODEL_FILE}')) or define model_fn(model_dir) "
        "in the inference script."
    )


def model_fn(model_dir: str) -> Any:
    import joblib

    return joblib.load(model_file(model_dir))


def predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name="sklearn", model_fn=model_fn, input_fn=generic.input_fn,
                      predict_fn=predict_fn, output_fn=generic.output_fn)
