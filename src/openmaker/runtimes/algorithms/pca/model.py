"""The trained PCA model, saved as the real algorithm saves it.

``model.tar.gz`` holds ``model_algo-1``, an MXNet NDArray file (written without MXNet, see
:mod:`..firstparty.ndarray`) of named float32 arrays, what notebooks read with
``mx.ndarray.load("model_algo-1")``:

- ``"s"``: the ``num_components`` singular values of the (centered) training matrix, **ascending**: the
  largest component comes last, as in the real algorithm (``s ** 2 / (n - 1)`` is scikit-learn's
  ``explained_variance_`` in reverse order);
- ``"v"``: the components as columns, shape ``(feature_dim, num_components)``, in the same order;
- ``"mean"``: the training mean, shape ``(1, feature_dim)``, only when ``subtract_mean`` was true.

A component's sign is fixed as scikit-learn fixes it: its entry of largest magnitude is positive.
Inference answers ``{"projection": [...]}`` per record: ``(x - mean) @ v`` (``x @ v`` without a mean), in
the same ascending order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from openmaker.runtimes.algorithms.errors import PlatformError
from openmaker.runtimes.algorithms.firstparty import ndarray

MODEL_FILE = "model_algo-1"


class PCAModel:
    """Components, singular values and the optional mean, with ``save``/``load``/``predict``."""

    def __init__(self, components: np.ndarray, singular_values: np.ndarray, mean: np.ndarray | None) -> None:
        self.v = np.asarray(components, dtype=np.float32)
        self.s = np.asarray(singular_values, dtype=np.float32).ravel()
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32).reshape(1, -1)
        self._v64 = self.v.astype(np.float64)
        self._shift = None if self.mean is None else self.mean.astype(np.float64) @ self._v64

    @property
    def feature_dim(self) -> int:
        return int(self.v.shape[0])

    @property
    def num_components(self) -> int:
        return int(self.v.shape[1])

    def save(self, model_dir: Path) -> None:
        arrays = {"s": self.s, "v": self.v}
        if self.mean is not None:
            arrays["mean"] = self.mean
        ndarray.save(Path(model_dir) / MODEL_FILE, arrays)

    @classmethod
    def load(cls, model_dir: str | Path) -> PCAModel:
        path = Path(model_dir) / MODEL_FILE
        if not path.is_file():
            raise PlatformError(f"The model directory has no {MODEL_FILE} (a PCA model.tar.gz holds it).")
        arrays = ndarray.load(path)
        if not isinstance(arrays, dict) or "v" not in arrays or "s" not in arrays:
            raise PlatformError(f"{MODEL_FILE} is not a PCA model: it needs the arrays 's' and 'v'.")
        return cls(arrays["v"], arrays["s"], arrays.get("mean"))

    def project(self, X: Any) -> np.ndarray:
        """The records' coordinates on the components (dense or CSR records)."""
        if isinstance(X, np.ndarray) and X.dtype == np.float32:  # float32 records: a float32 product
            product = np.asarray(X @ self.v, dtype=np.float64)
        elif isinstance(X, np.ndarray):
            product = np.asarray(X, dtype=np.float64) @ self._v64
        else:
            product = np.asarray(X @ self._v64, dtype=np.float64)
        return product if self._shift is None else product - self._shift

    def predict(self, X: Any, configuration: dict | None = None) -> list[dict[str, Any]]:
        return [{"projection": row} for row in self.project(X).astype(np.float32).tolist()]
