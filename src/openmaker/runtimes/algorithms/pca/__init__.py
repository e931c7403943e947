"""SageMaker's built-in PCA (``pca:1``): principal components by the exact scatter matrix or randomized SVD.

The module has the shape of every algorithm (:mod:`openmaker.runtimes.algorithms.base`): hyperparameters
(:mod:`.hyperparameters`), channels ``train`` (required) and ``test`` (optional), RecordIO-protobuf by
default or CSV without a label column (a RecordIO record's label is ignored), ``fit`` (:mod:`.train`) and
``load`` (:mod:`.model`); serving is :mod:`.serve`.
"""

from __future__ import annotations

from pathlib import Path

from openmaker.runtimes.algorithms.channels import ChannelSpec
from openmaker.runtimes.algorithms.firstparty.data import content_type
from openmaker.runtimes.algorithms.pca.hyperparameters import SCHEMA
from openmaker.runtimes.algorithms.pca.model import PCAModel
from openmaker.runtimes.algorithms.pca.train import fit

NAME = "pca"
FIRST_PARTY = True
HYPERPARAMETERS = SCHEMA
CHANNELS = (ChannelSpec("train", required=True), ChannelSpec("test"))


def load(model_dir: str | Path) -> PCAModel:
    return PCAModel.load(model_dir)


__all__ = ["CHANNELS", "FIRST_PARTY", "HYPERPARAMETERS", "NAME", "content_type", "fit", "load"]
