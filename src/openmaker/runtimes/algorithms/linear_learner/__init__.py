"""SageMaker's built-in Linear Learner (``linear-learner:1``): regression, binary and multiclass classification.

The module has the shape of every algorithm (:mod:`openmaker.runtimes.algorithms.base`): channels ``train``
(required), ``validation`` and ``test``, RecordIO-protobuf by default or ``text/csv`` with the label first;
``validate`` checks the hyperparameters before any data is read; ``fit`` trains the parallel models
(:mod:`.train`) and returns the chosen one (:mod:`.model`); serving is :mod:`.serve`. Amazon's own
algorithm, so a user's mistake fails the job as ``ClientError: …``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel, ChannelSpec
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty import data as channel_data
from openmaker.runtimes.algorithms.firstparty.data import content_type
from openmaker.runtimes.algorithms.firstparty.hosts import keeps_model
from openmaker.runtimes.algorithms.linear_learner import hyperparameters
from openmaker.runtimes.algorithms.linear_learner.hyperparameters import SCHEMA
from openmaker.runtimes.algorithms.linear_learner.model import LinearLearnerModel
from openmaker.runtimes.algorithms.linear_learner.train import Data, train
from openmaker.runtimes.training.environment import TrainingEnv

NAME = "linear-learner"
FIRST_PARTY = True
HYPERPARAMETERS = SCHEMA
CHANNELS = (ChannelSpec("train", required=True), ChannelSpec("validation"), ChannelSpec("test"))


def validate(raw: dict[str, Any], env: TrainingEnv | None = None) -> dict[str, Any]:
    """The schema and the checks between hyperparameters (num_classes, loss), before any data is read."""
    return hyperparameters.validate(raw)


def _read(channel: Channel, feature_dim: int | None) -> Data:
    """The channel's records, ``feature_dim`` wide (sparse records may leave the last features out)."""
    dataset = channel_data.read(channel, feature_dim=None, label=True)
    assert dataset.y is not None
    X = dataset.X
    if feature_dim is not None and X.shape[1] != feature_dim:
        if isinstance(X, np.ndarray) or X.shape[1] > feature_dim:
            raise UserError(f"The records of the {channel.name} channel have {X.shape[1]} features but feature_dim "
                            f"is {feature_dim}. Set feature_dim to the number of features (or to auto).")
        import scipy.sparse as sp  # loaded already: the reader made a CSR matrix

        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
    return Data(channel.name, X, dataset.y.astype("float64").reshape(-1))


def fit(hps: dict[str, Any], channels: dict[str, Channel], env: TrainingEnv | None = None) -> LinearLearnerModel | None:
    """Read the channels (``feature_dim`` checks their width), train, return the chosen model; None on a
    host other than the first of a multi-instance job (they train alike; one keeps the model)."""
    dim = None if hps["feature_dim"] == "auto" else int(hps["feature_dim"])
    train_data = _read(channels["train"], dim)
    dim = train_data.X.shape[1]
    others = {name: _read(channels[name], dim) for name in ("validation", "test") if name in channels}
    result = train(hps, train_data, others.get("validation"), others.get("test"))
    return result.model if keeps_model(env) else None


def load(model_dir: str | Path) -> LinearLearnerModel:
    return LinearLearnerModel.load(model_dir)


__all__ = ["CHANNELS", "FIRST_PARTY", "HYPERPARAMETERS", "NAME", "content_type", "fit", "load", "validate"]
