"""The channels of the unsupervised first-party algorithms (K-Means, PCA): features only, no label column.

CSV is read at its own width and then checked against ``feature_dim``, so a wrong ``feature_dim`` fails
with a message that names it (the CSV parser, given an expected width, can only say the rows "have
different fields than the expected size"). RecordIO-protobuf is checked by its reader, whose message names
``feature_dim`` already; a record's label, if any, is ignored.
"""

from __future__ import annotations

from openmaker.runtimes.algorithms.channels import Channel
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty import data
from openmaker.runtimes.formats import content_types as ct
from openmaker.runtimes.formats.reader import Dataset


def read_features(channel: Channel, feature_dim: int) -> Dataset:
    """The channel's records, ``feature_dim`` wide."""
    csv = ct.canonical(channel.content_type) == ct.CSV
    dataset = data.read(channel, feature_dim=None if csv else feature_dim, label=False)
    if dataset.n_features != feature_dim:
        raise UserError(f"Unable to read the data of channel {channel.name}: the data has {dataset.n_features} "
                        f"features per record but feature_dim is {feature_dim}. Set feature_dim to the number "
                        "of features in the data.")
    return dataset
