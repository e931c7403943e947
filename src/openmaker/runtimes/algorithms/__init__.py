"""SageMaker's built-in algorithms, run as ``python -m openmaker.runtimes.algorithms <algorithm>``.

Each algorithm is a subpackage with the same shape (see :mod:`.base`): a hyperparameter schema, its
channels, ``fit``/``load`` and a model with ``save``/``predict``, plus ``serve.py`` with the handlers the
model server uses. :data:`SERVED` lists the algorithms with a model server; importing this package
registers them with :func:`openmaker.runtimes.serving.register_algorithm`, which is how the serving
process (``OPENMAKER_ALGORITHM=<name>``) finds them. Adding an algorithm: its subpackage, then its name
here.
"""

from __future__ import annotations

PACKAGE = "openmaker.runtimes.algorithms"
# Algorithms whose model server is ``<package>.<module>.serve:handlers``.
SERVED = ("xgboost", "linear-learner", "kmeans", "factorization-machines", "pca", "knn")


def serving_factory(name: str) -> str:
    return f"{PACKAGE}.{name.replace('-', '_')}.serve:handlers"


def register_serving() -> None:
    """Tell the model server where each algorithm's handlers are (imports nothing heavy)."""
    from openmaker.runtimes.serving.handlers import register_algorithm

    for name in SERVED:
        register_algorithm(name, serving_factory(name))
