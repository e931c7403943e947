"""SageMaker's built-in k-nearest-neighbours algorithm (``knn:1``): classification and regression.

The module has the shape of every algorithm (:mod:`openmaker.runtimes.algorithms.base`):
``HYPERPARAMETERS`` (:mod:`.hyperparameters`), ``CHANNELS`` (``train`` required, ``test`` optional, as
the real algorithm), ``content_type`` (RecordIO-protobuf by default, CSV with the label first), ``fit``
(:mod:`.train`) and ``load`` (:mod:`.model`); serving is :mod:`.serve`. Search is always exact
(:mod:`.index`), whatever ``index_type`` asks for.
"""

from __future__ import annotations

from pathlib import Path

from openmaker.runtimes.algorithms.channels import ChannelSpec
from openmaker.runtimes.algorithms.firstparty.data import content_type
from openmaker.runtimes.algorithms.knn.hyperparameters import SCHEMA
from openmaker.runtimes.algorithms.knn.model import KNNModel
from openmaker.runtimes.algorithms.knn.train import fit

NAME = "knn"
FIRST_PARTY = True
HYPERPARAMETERS = SCHEMA
CHANNELS = (ChannelSpec("train", required=True), ChannelSpec("test"))


def load(model_dir: str | Path) -> KNNModel:
    return KNNModel.load(model_dir)


__all__ = ["CHANNELS", "FIRST_PARTY", "HYPERPARAMETERS", "NAME", "content_type", "fit", "load"]
