"""``fit``: read the channels, train with :mod:`.sgd`, report the metrics as the algorithm does.

Channels: ``train`` (required), ``validation`` and ``test`` (optional), RecordIO-protobuf only (the
algorithm trains on sparse Float32 tensors; CSV is refused, as the real one refuses it). Labels must be
finite, and 0 or 1 for ``binary_classifier``. Per epoch: ``#quality_metric: host=algo-1, epoch=<e>, train
<metric> …`` (and ``validation`` when given); at the end the ``test`` channel's metrics without an epoch,
which is what ``test:rmse`` and the other tuning objectives read.

Several instances: each host trains on the data it was given and only the first host keeps its model
(openmaker does not average models across hosts).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.factorization_machines import sgd
from openmaker.runtimes.algorithms.factorization_machines.evaluate import Metrics, evaluate
from openmaker.runtimes.algorithms.factorization_machines.model import FactorizationMachinesModel
from openmaker.runtimes.algorithms.firstparty import data
from openmaker.runtimes.algorithms.firstparty.hosts import keeps_model
from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms.factorization_machines")


def load_channel(channel: Channel, hps: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """A channel's rows as CSR float32 and its labels, checked for the predictor type."""
    dataset = data.read(channel, feature_dim=hps["feature_dim"], label=True)
    y = np.asarray(dataset.y, dtype=np.float32)
    if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise UserError(f"The {channel.name} channel's labels must be scalars, got shape {list(y.shape)}.")
    y = y.ravel()
    if not np.isfinite(y).all():
        raise UserError(f"The {channel.name} channel has labels that are NaN or infinite.")
    if hps["predictor_type"] == "binary_classifier" and not np.isin(y, (0.0, 1.0)).all():
        bad = y[~np.isin(y, (0.0, 1.0))][0]
        raise UserError(f"The {channel.name} channel has the label {float(bad):g}; a binary_classifier's "
                        "labels must be 0 or 1.")
    return sgd.as_training_matrix(dataset.X), y


def fit(hps: dict[str, Any], channels: dict[str, Channel], env: TrainingEnv) -> FactorizationMachinesModel | None:
    X, y = load_channel(channels["train"], hps)
    checks = {name: load_channel(channels[name], hps) for name in ("validation", "test") if name in channels}
    logger.info("Training on %d records (%d non-zero values, feature_dim %d), %d epochs of mini-batches of %d",
                X.shape[0], X.nnz, hps["feature_dim"], hps["epochs"], hps["mini_batch_size"])
    predictor_type = hps["predictor_type"]
    started = time.monotonic()

    def on_epoch(epoch: int, model: FactorizationMachinesModel, train: Metrics) -> None:
        train.emit("train", epoch=epoch)
        if "validation" in checks:
            Xv, yv = checks["validation"]
            evaluate(predictor_type, model.scores(Xv), yv).emit("validation", epoch=epoch)
        elapsed = time.monotonic() - started
        logger.info("#throughput_metric: host=%s, train throughput=%.1f records/second", env.current_host,
                    X.shape[0] * (epoch + 1) / max(elapsed, 1e-9))
        logger.info("#progress_metric: host=%s, completed %d %% of epochs", env.current_host,
                    100 * (epoch + 1) // hps["epochs"])

    model = sgd.train(X, y, hps, on_epoch)
    if "test" in checks:
        Xt, yt = checks["test"]
        evaluate(predictor_type, model.scores(Xt), yt).emit("test")
    return model if keeps_model(env) else None
