"""SageMaker's built-in Factorization Machines (``factorization-machines:1``).

A second-order factorization machine (Rendle) for sparse, high-dimensional data, trained with mini-batch
Adam (:mod:`.sgd`) as a ``regressor`` or a ``binary_classifier``. The module has the shape of every
algorithm (:mod:`openmaker.runtimes.algorithms.base`): ``HYPERPARAMETERS`` (:mod:`.hyperparameters`),
``CHANNELS`` (``train`` required, ``validation`` and ``test`` optional), ``content_type`` (RecordIO-protobuf
only), ``validate``, ``fit`` (:mod:`.train`) and ``load`` (:mod:`.model`); serving is :mod:`.serve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openmaker.runtimes.algorithms.channels import ChannelSpec
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.factorization_machines import hyperparameters
from openmaker.runtimes.algorithms.factorization_machines.model import FactorizationMachinesModel
from openmaker.runtimes.algorithms.factorization_machines.train import fit
from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.training.environment import TrainingEnv

NAME = "factorization-machines"
FIRST_PARTY = True
HYPERPARAMETERS = hyperparameters.SCHEMA
CHANNELS = (ChannelSpec("train", required=True), ChannelSpec("validation"), ChannelSpec("test"))


def content_type(value: str | None) -> str:
    """RecordIO-protobuf (also when absent): the algorithm trains on nothing else."""
    if not value or ct.canonical(value) == ct.RECORDIO_PROTOBUF:
        return ct.RECORDIO_PROTOBUF
    raise UserError(f"Content type {value} is not supported by this algorithm. Factorization Machines trains on "
                    f"{ct.RECORDIO_PROTOBUF} (Float32 tensors) only.")


def validate(raw: dict[str, Any], env: TrainingEnv) -> dict[str, Any]:
    return hyperparameters.validate(raw)


def load(model_dir: str | Path) -> FactorizationMachinesModel:
    return FactorizationMachinesModel.load(model_dir)


__all__ = ["CHANNELS", "FIRST_PARTY", "HYPERPARAMETERS", "NAME", "content_type", "fit", "load", "validate"]
