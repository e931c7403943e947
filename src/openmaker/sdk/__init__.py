"""Client-side compatibility for the SageMaker Python SDK (v2 and v1) against openmaker.

The SDK builds its STS client with an explicit ``https://sts.<region>.amazonaws.com`` endpoint, which
overrides ``AWS_ENDPOINT_URL``; ``default_bucket()``, ``account_id()`` and ``get_execution_role()``
then try to reach AWS. ``import openmaker.sdk`` (or the ``PYTHONPATH`` shim printed by
``openmaker env``) makes that endpoint follow ``AWS_ENDPOINT_URL_STS`` / ``AWS_ENDPOINT_URL``.
This module runs in the user's process: it never imports the server.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from types import ModuleType

# Modules that bind ``sts_regional_endpoint`` by name (SDK v2, sagemaker-core, SDK v1).
PATCHED_MODULES = ("sagemaker.utils", "sagemaker.session", "sagemaker_core.helper.session_helper")


def sts_endpoint(region: str | None = None) -> str | None:
    """The STS endpoint clients should use, or None when no override is configured."""
    return os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL")


def _patch_module(module: ModuleType) -> None:
    original = getattr(module, "sts_regional_endpoint", None)
    if original is None or getattr(original, "__openmaker__", False):
        return

    def sts_regional_endpoint(region):  # same signature as the SDK's
        return sts_endpoint(region) or original(region)

    sts_regional_endpoint.__openmaker__ = True  # type: ignore[attr-defined]
    module.sts_regional_endpoint = sts_regional_endpoint


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches the SDK's modules right after they are imported, without importing them early."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in PATCHED_MODULES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module):
            original_exec(module)
            _patch_module(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Patch what is already imported and whatever of the SDK is imported later."""
    for name in PATCHED_MODULES:
        if name in sys.modules:
            _patch_module(sys.modules[name])
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


def shim_path() -> str:
    """A directory to put on ``PYTHONPATH`` so every Python process installs the patch by itself."""
    return os.path.join(os.path.dirname(__file__), "shim")


install()
