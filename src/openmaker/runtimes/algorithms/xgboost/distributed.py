"""Training across hosts (``InstanceCount > 1``) with XGBoost's collective, as the container does with Rabit.

algo-1 starts the tracker; every host (algo-1 included) joins it as a worker whose rank is its place in
``SM_HOSTS``, and ``xgboost.train`` then builds each tree from all hosts' rows. Only algo-1 keeps the
model (SageMaker uploads algo-1's). As in SageMaker, a ``FullyReplicated`` channel gives every host all
rows, so the data counts once per host; ``ShardedByS3Key`` splits it.

The tracker listens on the free port the engine picked for the job (``OPENMAKER_XGBOOST_TRACKER_PORT``:
the hosts of every job share the machine's loopback here), else on one derived from the job name, at the
address the engine maps ``algo-1`` to (``OPENMAKER_HOST_ADDRESSES``; names resolve in a sandbox).
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from openmaker.runtimes.training.environment import TrainingEnv

logger = logging.getLogger("openmaker.algorithms.xgboost")
PORT_BASE, PORT_SPAN = 20000, 20000
CONNECT_SECONDS = 300


def tracker_port() -> int:
    if os.environ.get("OPENMAKER_XGBOOST_TRACKER_PORT"):
        return int(os.environ["OPENMAKER_XGBOOST_TRACKER_PORT"])
    name = os.environ.get("TRAINING_JOB_NAME") or "job"
    return PORT_BASE + zlib.crc32(name.encode()) % PORT_SPAN


@contextmanager
def context(env: TrainingEnv) -> Iterator[bool]:
    """Join the job's workers (nothing for one host); yields True on the host that keeps the model."""
    hosts = env.hosts
    if len(hosts) < 2:
        yield True
        return
    import xgboost as xgb
    from xgboost.tracker import RabitTracker

    addresses = json.loads(os.environ.get("OPENMAKER_HOST_ADDRESSES") or "{}")
    master = addresses.get(hosts[0], hosts[0])
    rank = hosts.index(env.current_host) if env.current_host in hosts else 0
    port = tracker_port()
    tracker = None
    if rank == 0:
        tracker = RabitTracker(n_workers=len(hosts), host_ip=master, port=port, sortby="task",
                               timeout=CONNECT_SECONDS)
        tracker.start()
        logger.info("Distributed training: tracker for %d hosts at %s:%d", len(hosts), master, port)
    args = {"dmlc_tracker_uri": master, "dmlc_tracker_port": port, "dmlc_task_id": str(rank),
            "dmlc_retry": 60, "dmlc_timeout": CONNECT_SECONDS}
    with xgb.collective.CommunicatorContext(**args):
        logger.info("Host %s joined as worker %d of %d", env.current_host, xgb.collective.get_rank(),
                    xgb.collective.get_world_size())
        yield rank == 0
    if tracker is not None:
        tracker.wait_for(CONNECT_SECONDS)
