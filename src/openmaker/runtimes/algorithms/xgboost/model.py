"""The trained XGBoost model and its artifact, ``xgboost-model`` at the root of ``model.tar.gz``.

How the file is written depends on the image version, as in the container:

- ``xgboost:1``/``latest`` (the original image) and ``sagemaker-xgboost`` up to 1.2-x **pickle** the
  Booster (protocol 4): users load it with ``pickle.load(open("xgboost-model", "rb"))``;
- ``sagemaker-xgboost`` 1.3-1 and later call ``Booster.save_model``: users load it with
  ``xgboost.Booster(); booster.load_model("xgboost-model")``. openmaker's XGBoost (3.x) writes its default
  UBJSON there (the 1.3 to 1.7 images wrote the old binary format, which XGBoost 3 no longer writes), readable
  by XGBoost 1.6 and later.

Loading tries pickle first, then ``load_model`` (the container's order), so either file serves.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "xgboost-model"
SAVE_MODEL_FROM = (1, 3)  # the first image version that stopped pickling


def pickles(version: tuple[int, ...] | None) -> bool:
    """True when the image version writes a pickled Booster (``latest`` is the original image)."""
    return version is None or version < SAVE_MODEL_FROM


class XGBoostModel:
    """A Booster with the algorithm's ``save``/``load``/``predict``."""

    def __init__(self, booster: Any, pickled: bool = False) -> None:
        self.booster = booster
        self.pickled = pickled

    def save(self, model_dir: Path) -> None:
        target = Path(model_dir) / MODEL_FILE
        if self.pickled:
            with open(target, "wb") as handle:
                pickle.dump(self.booster, handle, protocol=4)
            return
        # An explicit extension picks the format without XGBoost's "no extension" warning.
        staging = target.with_name(f".{MODEL_FILE}.ubj")
        self.booster.save_model(str(staging))
        os.replace(staging, target)

    @classmethod
    def load(cls, model_dir: str | Path) -> XGBoostModel:
        from openmaker.runtimes.serving.frameworks.xgboost import model_fn

        booster = model_fn(str(model_dir))
        booster = booster.get_booster() if hasattr(booster, "get_booster") else booster
        return cls(booster)

    def predict_raw(self, data: Any) -> np.ndarray:
        """Predictions as XGBoost returns them (one value a row; a row of probabilities for softprob)."""
        import xgboost as xgb

        matrix = data if isinstance(data, xgb.DMatrix) else xgb.DMatrix(data)
        return self.booster.predict(matrix, validate_features=False)

    def predict(self, data: Any) -> list[dict[str, Any]]:
        return [{"score": value} for value in self.predict_raw(data).tolist()]
