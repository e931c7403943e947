"""K-Means training: web-scale mini-batch k-means over K = k x extra_center_factor centers, reduced to k.

The stages, as the real algorithm documents them:

1. **Seed** K centers from one randomly sampled batch of rows (``init_method``: ``random`` rows or
   ``kmeans++``).
2. **Stream** the training rows in shuffled mini-batches of ``mini_batch_size`` for ``epochs`` passes;
   each batch pulls its centers toward the batch's means (:class:`.cluster.Stream`, with
   ``half_life_time_size`` decay). Each epoch prints ``train msd``: the mean squared distance of the
   epoch's rows to the K centers as each batch met them.
3. **Reduce** K to k with weighted Lloyd's EM over the K centers (weights: rows absorbed), seeded by
   ``local_lloyd_init_method``, ``local_lloyd_num_trials`` times, keeping the lowest loss; at most
   ``local_lloyd_max_iter`` iterations, stopping when the loss improves by at most ``local_lloyd_tol``.

openmaker adds a fourth because the channel is in memory anyway: **refine** the k centers with Lloyd's
iterations over the training rows themselves (same iteration cap and tolerance). Every such step lowers
the training msd, so the model is never worse than the three-stage one and lands within a fraction of a
percent of a full k-means++ Lloyd's run. The final ``train msd`` line (no epoch) is the model's own.

A ``test`` channel is scored with the final centers: ``test msd`` and/or ``test ssd`` (``eval_metrics``).
Everything is seeded, so one job's input gives one model.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty import quality
from openmaker.runtimes.algorithms.firstparty.features import read_features
from openmaker.runtimes.algorithms.firstparty.hosts import trains_here
from openmaker.runtimes.algorithms.kmeans import cluster
from openmaker.runtimes.algorithms.kmeans.hyperparameters import centers_factor, num_trials
from openmaker.runtimes.algorithms.kmeans.model import KMeansModel
from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms.kmeans")
SEED = 1729


def stream_centers(X: Any, hps: dict[str, Any], rng: np.random.Generator) -> cluster.Stream:
    """Stages 1 and 2: seed K centers and stream every epoch through them."""
    rows = X.shape[0]
    count = min(hps["k"] * centers_factor(hps), rows)
    batch = hps["mini_batch_size"]
    sample = np.sort(rng.choice(rows, size=min(rows, max(batch, count)), replace=False))
    stream = cluster.Stream.start(cluster.seed(X[sample], count, hps["init_method"], rng),
                                  hps["half_life_time_size"])
    logger.info("Streaming %d rows through %d centers (k=%d), mini-batches of %d, %d epoch(s)",
                rows, count, hps["k"], batch, hps["epochs"])
    for epoch in range(hps["epochs"]):
        loss = sum(stream.update(X[index]) for index in cluster.batches(rows, batch, rng))
        quality.emit("train", "msd", loss / rows, epoch=epoch)
    return stream


def reduce_centers(stream: cluster.Stream, hps: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Stage 3: the best of ``local_lloyd_num_trials`` weighted Lloyd's runs from K centers to k."""
    weights = stream.counts.copy()
    points = stream.centers
    k = hps["k"]
    if points.shape[0] == k:
        return points.copy()
    if np.count_nonzero(weights) < k:  # too few centers absorbed rows: let the unused ones count a little
        weights = np.maximum(weights, 1e-6 * max(1.0, weights.max()))
    trials = num_trials(hps, points.shape[0], points.shape[1])
    best: tuple[np.ndarray, float] | None = None
    for _ in range(trials):
        centers, loss = cluster.lloyd(points, weights, k, max_iter=hps["local_lloyd_max_iter"],
                                      tol=hps["local_lloyd_tol"], init=hps["local_lloyd_init_method"], rng=rng)
        if best is None or loss < best[1]:
            best = (centers, loss)
    assert best is not None
    logger.info("Reduced %d centers to %d with %d Lloyd's trial(s); weighted loss %.6g",
                points.shape[0], k, trials, best[1])
    return best[0]


def train_centers(X: Any, hps: dict[str, Any]) -> np.ndarray:
    """The k centers for the rows ``X`` (dense or CSR): seed, stream, reduce, refine."""
    rows = X.shape[0]
    if hps["k"] > rows:
        raise UserError(f"k ({hps['k']}) is larger than the number of training records ({rows}). "
                        "Set k to at most the number of records.")
    X = cluster.floats(X)
    rng = np.random.default_rng(SEED)
    stream = stream_centers(X, hps, rng)
    centers = reduce_centers(stream, hps, rng)
    return cluster.refine(X, centers, max_iter=hps["local_lloyd_max_iter"], tol=hps["local_lloyd_tol"])


def score(model: KMeansModel, channel: Channel, metrics: list[str]) -> None:
    """``test msd``/``test ssd`` of the final centers on the test channel."""
    test = read_features(channel, model.feature_dim)
    _, squared = cluster.closest(test.X, model.centers.astype(np.float64))
    values = {"msd": float(squared.mean()), "ssd": float(squared.sum())}
    for metric in metrics:
        quality.emit("test", metric, values[metric])


def fit(hps: dict[str, Any], channels: dict[str, Channel], env: TrainingEnv) -> KMeansModel | None:
    if not trains_here(env, "K-Means"):
        return None
    train = read_features(channels["train"], hps["feature_dim"])
    logger.info("Read %d training records of %d features (%s)", train.n_rows, train.n_features,
                "sparse" if train.is_sparse else "dense")
    centers = train_centers(train.X, hps)
    model = KMeansModel(centers)
    _, squared = cluster.closest(train.X, model.centers.astype(np.float64))
    quality.emit("train", "msd", float(squared.mean()))
    if "test" in channels:
        score(model, channels["test"], hps["eval_metrics"])
    return model
