"""Import shims that let scripts written for older framework versions run on the installed ones.

The directory itself (not the package) goes on ``PYTHONPATH`` of jobs and endpoints; its
``sitecustomize.py`` is then imported at interpreter start-up. Nothing here imports the frameworks
eagerly: aliases resolve only when a script asks for them.
"""

from __future__ import annotations

from pathlib import Path


def compat_path() -> Path:
    """The directory to put first on ``PYTHONPATH``."""
    return Path(__file__).resolve().parent
