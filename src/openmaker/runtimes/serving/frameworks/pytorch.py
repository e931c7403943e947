"""PyTorch defaults (``sagemaker-pytorch-inference-toolkit``).

``model_fn`` loads a TorchScript ``model.pt`` (or the only ``*.pt``/``*.pth``) on the CPU — a pickled
``state_dict`` needs the user's ``model_fn``, which knows the class. CSV and JSON bodies become float32
tensors, NPY keeps its dtype; ``predict_fn`` runs the model in eval mode under ``no_grad``; tensors are
turned back into NumPy for JSON, CSV or NPY. torch is imported only here (the engine builds an
environment with it for PyTorch images).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.serving import codecs
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.frameworks import generic
from openmaker.runtimes.serving.handlers import HandlerSet

MODEL_FILE = "model.pt"


def _torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "PyTorch is not installed in this model's environment (No module named 'torch'): "
            "serve PyTorch models from a pytorch-inference image, whose environment openmaker builds with torch."
        ) from error
    return torch


def model_fn(model_dir: str) -> Any:
    torch = _torch()
    directory = Path(model_dir)
    path = directory / MODEL_FILE
    if not path.is_file():
        found = sorted(p.name for p in directory.iterdir() if p.is_file() and p.suffix in (".pt", ".pth"))
        if len(found) != 1:
            raise ValueError(f"Exactly one .pth or .pt file is required for PyTorch models: {found}")
        path = directory / found[0]
    try:
        model = torch.jit.load(str(path), map_location=torch.device("cpu"))
    except RuntimeError as error:
        raise RuntimeError(
            f"Failed to load {path}. Please ensure model is saved using torchscript, or define "
            "model_fn(model_dir) in the inference script."
        ) from error
    return model.eval()


def input_fn(body: bytes | str, content_type: str) -> Any:
    torch = _torch()
    array = generic.input_fn(body, content_type)
    if codecs.media_type(content_type) in codecs.UTF8_TYPES:
        return torch.as_tensor(np.asarray(array, dtype=np.float32))
    if hasattr(array, "toarray"):
        array = array.toarray()
    return torch.from_numpy(np.ascontiguousarray(array))


def predict_fn(data: Any, model: Any) -> Any:
    torch = _torch()
    with torch.no_grad():
        if hasattr(model, "eval"):
            model.eval()
        return model(data)


def output_fn(prediction: Any, accept: str) -> tuple[str | bytes, str]:
    if hasattr(prediction, "detach"):
        prediction = prediction.detach().cpu().numpy()
    return codecs.encode(prediction, accept)


def handlers(env: ServingEnv) -> HandlerSet:
    return HandlerSet(name="pytorch", model_fn=model_fn, input_fn=input_fn, predict_fn=predict_fn,
                      output_fn=output_fn)
