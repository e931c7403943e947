"""Executors: how a prepared host is started. See :mod:`openmaker.engine.executors.base`."""

from __future__ import annotations

import os

from openmaker.engine.executors.base import Executor, HostHandle, HostLaunch
from openmaker.engine.executors.process import ProcessExecutor
from openmaker.engine.executors.sandbox import SandboxExecutor, bwrap_path

__all__ = ["Executor", "HostHandle", "HostLaunch", "ProcessExecutor", "SandboxExecutor", "choose_executor"]


def choose_executor(name: str | None = None) -> Executor:
    """The sandbox when bubblewrap is installed, else plain processes (``OPENMAKER_EXECUTOR`` =
    ``process`` | ``sandbox`` forces one)."""
    name = name or os.environ.get("OPENMAKER_EXECUTOR") or ""
    bwrap = bwrap_path()
    if name == "process" or (not name and bwrap is None):
        return ProcessExecutor()
    if bwrap is None:
        raise RuntimeError("OPENMAKER_EXECUTOR=sandbox but bubblewrap (bwrap) is not installed")
    return SandboxExecutor(bwrap)
