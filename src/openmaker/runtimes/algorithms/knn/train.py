"""k-NN training: sample, reduce, index, and score the test channel.

1. Read the ``train`` channel (RecordIO-protobuf or CSV, label first) and keep ``sample_size`` of its
   records, drawn without replacement with a fixed seed and kept in file order (all of them when there
   are fewer, so a large enough ``sample_size`` indexes the data exactly as given);
2. with ``dimension_reduction_type``, project them to ``dimension_reduction_target`` dimensions
   (:mod:`.projection`);
3. build the exact index (:mod:`.index`) over them;
4. with a ``test`` channel, predict it ``mini_batch_size`` records at a time and print the score as the
   algorithm does: ``test accuracy`` for a classifier, ``test mse`` for a regressor, which become
   ``test:accuracy``/``test:mse`` in FinalMetricDataList.

On a cluster only the first host keeps a model: each host reads its own share of the data, and
openmaker does not gather the hosts' samples (a gap: use one instance, or FullyReplicated data).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty import data, quality
from openmaker.runtimes.algorithms.firstparty.hosts import trains_here
from openmaker.runtimes.algorithms.knn import projection
from openmaker.runtimes.algorithms.knn.model import KNNModel
from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms.knn")
SAMPLE_SEED = 42


def sample(rows: int, size: int, seed: int = SAMPLE_SEED) -> np.ndarray | None:
    """Sorted row indices of a ``size`` sample, or None to keep every row."""
    if rows <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def _check_finite(values: Any, what: str) -> None:
    array = values.data if hasattr(values, "data") and hasattr(values, "indptr") else values
    if not np.all(np.isfinite(array)):
        raise UserError(f"The {what} contain NaN or infinite values; k-NN needs finite numbers.")


def build(hps: dict[str, Any], X: Any, y: np.ndarray) -> KNNModel:
    """The model for these hyperparameters from a train channel's records."""
    keep = sample(X.shape[0], hps["sample_size"])
    if keep is not None:
        X, y = X[keep], y[keep]
    points = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    _check_finite(points, "train channel's features")
    _check_finite(y, "train channel's labels")
    matrix = None
    if hps.get("dimension_reduction_type"):
        matrix = projection.matrix(hps["dimension_reduction_type"], hps["feature_dim"],
                                   hps["dimension_reduction_target"])
        points = points.astype(np.float32, copy=False) @ matrix
    if hps["k"] > points.shape[0]:
        raise UserError(f"k ({hps['k']}) is greater than the number of points sampled into the index "
                        f"({points.shape[0]}). Lower k or provide more training records.")
    return KNNModel(points, y, hps, matrix)


def evaluate(model: KNNModel, X: Any, y: np.ndarray, batch: int) -> float:
    """Accuracy (classifier) or mean squared error (regressor) over the test records."""
    total = 0.0
    for start in range(0, X.shape[0], batch):
        predicted = model.predict_values(X[start:start + batch])
        truth = y[start:start + batch].astype(np.float64)
        if model.classifier:
            total += float(np.count_nonzero(predicted == truth.astype(np.float32)))
        else:
            total += float(np.sum((predicted - truth) ** 2))
    return total / X.shape[0]


def fit(hps: dict[str, Any], channels: dict[str, Channel], env: TrainingEnv) -> KNNModel | None:
    """Sample, reduce and index the train channel; score the test channel when there is one."""
    if not trains_here(env, "k-NN"):
        return None
    started = time.monotonic()
    train = data.read(channels["train"], feature_dim=hps["feature_dim"], label=True)
    logger.info("Read %d train records of %d features in %.2fs", train.n_rows, train.n_features,
                time.monotonic() - started)
    model = build(hps, train.X, train.y)
    logger.info("Indexed %d of them (%s, exact search), %.2fs since the start", model.index.size,
                hps.get("index_metric", "L2"), time.monotonic() - started)
    if "test" in channels:
        test = data.read(channels["test"], feature_dim=hps["feature_dim"], label=True)
        _check_finite(test.X, "test channel's features")
        score = evaluate(model, test.X, test.y, hps["mini_batch_size"])
        name, kind = ("accuracy", "score") if model.classifier else ("mse", "loss")
        sys.stdout.write(f"#test_score ({quality.HOST}) : ({name!r}, {score!r})\n")
        quality.emit("test", name, score, kind=kind)
        logger.info("Scored %d test records, %.2fs since the start", test.n_rows, time.monotonic() - started)
    return model
