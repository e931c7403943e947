"""SageMaker's built-in K-Means (``kmeans:1``): web-scale mini-batch k-means, reduced to k by Lloyd's.

The module has the shape of every algorithm (:mod:`openmaker.runtimes.algorithms.base`): hyperparameters
(:mod:`.hyperparameters`), channels ``train`` (required) and ``test`` (optional, scored as ``test:msd``/
``test:ssd``), RecordIO-protobuf by default or CSV without a label column (a RecordIO record's label is
ignored), ``fit`` (:mod:`.train`) and ``load`` (:mod:`.model`); serving is :mod:`.serve`.
"""

from __future__ import annotations

from pathlib import Path

from openmaker.runtimes.algorithms.channels import ChannelSpec
from openmaker.runtimes.algorithms.firstparty.data import content_type
from openmaker.runtimes.algorithms.kmeans.hyperparameters import SCHEMA
from openmaker.runtimes.algorithms.kmeans.model import KMeansModel
from openmaker.runtimes.algorithms.kmeans.train import fit

NAME = "kmeans"
FIRST_PARTY = True
HYPERPARAMETERS = SCHEMA
CHANNELS = (ChannelSpec("train", required=True), ChannelSpec("test"))


def load(model_dir: str | Path) -> KMeansModel:
    return KMeansModel.load(model_dir)


__all__ = ["CHANNELS", "FIRST_PARTY", "HYPERPARAMETERS", "NAME", "content_type", "fit", "load"]
