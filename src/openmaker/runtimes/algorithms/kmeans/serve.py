"""The K-Means model server: the first-party server (:mod:`..firstparty.serve`) over :class:`KMeansModel`.

Every record gets ``{"closest_cluster": 3.0, "distance_to_cluster": 5.1}``: JSON ``{"predictions": […]}``
by default, JSON Lines, CSV (``closest_cluster,distance_to_cluster`` a line) or RecordIO-protobuf records
whose ``label`` map holds both (what the SDK's ``KMeansPredictor`` reads).
"""

from __future__ import annotations

from openmaker.runtimes.algorithms.firstparty.serve import handlers_for
from openmaker.runtimes.algorithms.kmeans.model import KMeansModel

handlers = handlers_for("kmeans", KMeansModel.load)
