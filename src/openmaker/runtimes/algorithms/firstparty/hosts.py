"""Which host of a multi-instance job keeps the model: the first (SageMaker uploads algo-1's).

openmaker's first-party algorithms do not share parameters between hosts. K-Means, PCA and k-NN build
their model on the first host alone (:func:`trains_here`); Linear Learner and Factorization Machines train
on every host's shard and keep the first host's model (:func:`keeps_model`).
"""

from __future__ import annotations

import logging

from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms")


def keeps_model(env: TrainingEnv | None) -> bool:
    """True on the host whose model is the job's (the only host of a single-instance job)."""
    return env is None or not env.hosts or env.current_host == env.hosts[0]


def trains_here(env: TrainingEnv, algorithm: str) -> bool:
    """For an algorithm that trains on the first host alone: False (saying so) on the other hosts, and a
    warning on the first that the other hosts' shards are left out."""
    hosts = env.hosts
    if len(hosts) < 2:
        return True
    if not keeps_model(env):
        logger.warning("%s keeps its model on %s; %s has nothing to do.", algorithm, hosts[0], env.current_host)
        return False
    logger.warning("%s trains on %s's share of the data only (%d hosts).", algorithm, hosts[0], len(hosts))
    return True
