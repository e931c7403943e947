"""SageMaker's built-in XGBoost: ``xgboost:1``/``latest`` and ``sagemaker-xgboost:<version>`` without a script.

The module has the shape of every algorithm (:mod:`openmaker.runtimes.algorithms.base`):
``HYPERPARAMETERS``, ``CHANNELS`` (``train`` required, ``validation`` optional, ``code`` tolerated for
the script-mode image), ``content_type``, ``validate``, ``fit`` and ``load``; serving is :mod:`.serve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openmaker.runtimes.algorithms.base import image_version
from openmaker.runtimes.algorithms.channels import ChannelSpec
from openmaker.runtimes.algorithms.xgboost.data import content_type
from openmaker.runtimes.algorithms.xgboost.hyperparameters import LEGACY_IGNORED, SCHEMA
from openmaker.runtimes.algorithms.xgboost.model import SAVE_MODEL_FROM, XGBoostModel
from openmaker.runtimes.algorithms.xgboost.train import fit
from openmaker.runtimes.training.environment import TrainingEnv

NAME = "xgboost"
HYPERPARAMETERS = SCHEMA
CHANNELS = (ChannelSpec("train", required=True), ChannelSpec("validation"), ChannelSpec("code"))


def validate(raw: dict[str, Any], env: TrainingEnv) -> dict[str, Any]:
    """The schema's validation; the original image (before 1.3) also took ``silent``, which is dropped."""
    version = image_version()
    if version is None or version < SAVE_MODEL_FROM:
        raw = {key: value for key, value in raw.items() if key not in LEGACY_IGNORED}
    return SCHEMA.validate(raw)


def load(model_dir: str | Path) -> XGBoostModel:
    return XGBoostModel.load(model_dir)


__all__ = ["CHANNELS", "HYPERPARAMETERS", "NAME", "content_type", "fit", "load", "validate"]
