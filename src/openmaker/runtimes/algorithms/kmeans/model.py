"""The trained K-Means model: ``k`` centers, saved as the real algorithm saves them.

``model.tar.gz`` holds one file, ``model_algo-1``: an MXNet NDArray file (written without MXNet, see
:mod:`..firstparty.ndarray`) with one unnamed float32 array of shape ``(k, feature_dim)``, the cluster
centers in cluster-index order. So the notebooks' ``mx.ndarray.load("model_algo-1")[0].asnumpy()`` reads
it, and without MXNet ``openmaker.runtimes.algorithms.firstparty.ndarray.load("model_algo-1")[0]`` does.

Inference answers, per record, ``closest_cluster`` (the index of the nearest center, as a float like the
container's Float32 tensors) and ``distance_to_cluster`` (the Euclidean distance to it, not squared).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.errors import PlatformError
from openmaker.runtimes.algorithms.firstparty import ndarray
from openmaker.runtimes.algorithms.kmeans.cluster import closest

MODEL_FILE = "model_algo-1"


class KMeansModel:
    """Cluster centers with the algorithm's ``save``/``load``/``predict``."""

    def __init__(self, centers: np.ndarray) -> None:
        self.centers = np.asarray(centers, dtype=np.float32)
        self._centers64 = self.centers.astype(np.float64)

    @property
    def k(self) -> int:
        return int(self.centers.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.centers.shape[1])

    def save(self, model_dir: Path) -> None:
        ndarray.save(Path(model_dir) / MODEL_FILE, [self.centers])

    @classmethod
    def load(cls, model_dir: str | Path) -> KMeansModel:
        path = Path(model_dir) / MODEL_FILE
        if not path.is_file():
            raise PlatformError(f"The model directory has no {MODEL_FILE} (a K-Means model.tar.gz holds it).")
        arrays = ndarray.load(path)
        centers = arrays[0] if isinstance(arrays, list) else next(iter(arrays.values()))
        if centers.ndim != 2:
            raise PlatformError(f"{MODEL_FILE} holds an array of shape {centers.shape}, not (k, feature_dim).")
        return cls(centers)

    def assign(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each record's closest cluster and the Euclidean distance to its center."""
        labels, squared = closest(X, self._centers64)
        return labels, np.sqrt(squared)

    def predict(self, X: Any, configuration: dict | None = None) -> list[dict[str, Any]]:
        labels, distances = self.assign(X)
        return [{"closest_cluster": float(label), "distance_to_cluster": float(distance)}
                for label, distance in zip(labels.tolist(), distances.astype(np.float32).tolist(), strict=True)]
