"""Channels of the first-party algorithms: RecordIO-protobuf by default, CSV beside it.

Reading goes through :func:`openmaker.runtimes.formats.reader.read_training_data`; a data problem becomes
a :class:`~openmaker.runtimes.algorithms.errors.UserError` (the job's ``ClientError``) with the reader's
message, and ``feature_dim`` is checked against the data's width.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.errors import DataFormatError
from openmaker.runtimes.formats.reader import Dataset, read_training_data

ACCEPTED = (ct.RECORDIO_PROTOBUF, ct.CSV)


def content_type(value: str | None) -> str:
    """A channel's ContentType: RecordIO-protobuf when absent; CSV (parameters kept) or RecordIO-protobuf."""
    if not value:
        return ct.RECORDIO_PROTOBUF
    media = ct.canonical(value)
    if media == ct.RECORDIO_PROTOBUF:
        return ct.RECORDIO_PROTOBUF
    if media == ct.CSV:
        return value.strip()
    raise UserError(f"Content type {value} is not supported by this algorithm. "
                    f"Supported content types: {', '.join(ACCEPTED)}.")


def read(channel: Channel, *, feature_dim: int | None, label: bool) -> Dataset:
    """The channel's records; ``label``: CSV rows start with the label (the supervised algorithms)."""
    try:
        dataset = read_training_data(channel.path, channel.content_type, label=label, feature_dim=feature_dim)
    except DataFormatError as error:
        raise UserError(f"Unable to read the data of channel {channel.name}: {error.message}") from error
    if dataset.n_rows == 0:
        raise UserError(f"The {channel.name} channel has no records.")
    if label and dataset.y is None:
        raise UserError(f"The {channel.name} channel's records have no labels. Each record needs a label "
                        "(the first column of CSV, the 'values' label of RecordIO-protobuf).")
    return dataset


def mini_batches(rows: int, size: int, rng: np.random.Generator | None = None) -> Iterator[np.ndarray]:
    """Row indices in batches of ``size`` (shuffled when ``rng`` is given): one epoch."""
    order = rng.permutation(rows) if rng is not None else np.arange(rows)
    for start in range(0, rows, max(1, size)):
        yield order[start:start + size]
