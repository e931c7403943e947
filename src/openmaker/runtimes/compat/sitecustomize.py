"""Start-up hook for jobs and endpoints: installs openmaker's compatibility aliases.

Python imports ``sitecustomize`` once at start-up from the first ``sys.path`` entry holding one, so this
file also hands over to the next ``sitecustomize`` on the path (a user's or the SDK shim's) instead of
hiding it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

# Module names removed from frameworks over the years -> where the code lives today.
# scikit-learn 0.20-era tutorials do ``from sklearn.externals import joblib`` (removed in 0.23).
ALIASES = {
    "sklearn.externals.joblib": "joblib",
    "sklearn.externals.six": "six",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target
        self._spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        # The import system stamped the alias spec onto the real module; give it its own back so
        # pickling, reload and ``python -m`` keep seeing the real name.
        if self._spec is not None:
            module.__spec__ = self._spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves the names in ``ALIASES`` to the modules that replaced them, on first import only."""

    def find_spec(self, fullname, path=None, target=None):
        real = ALIASES.get(fullname)
        if real is None or importlib.util.find_spec(real) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))


def install() -> None:
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())


def _chain_next_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    entries = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", entries)
    if spec is None or spec.origin is None or os.path.dirname(os.path.abspath(spec.origin)) == here:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


install()
try:
    _chain_next_sitecustomize()
except Exception as error:  # a broken user hook must not hide our aliases or kill start-up
    print(f"openmaker compat: the next sitecustomize failed: {error!r}", file=sys.stderr)
