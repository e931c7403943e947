"""Shared fixtures: one real openmaker server per test session, and clients pointed at it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from serverutil import RunningServer, start_server

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATASETS = Path(os.environ.get("OPENMAKER_DATASETS", SHARED / "datasets"))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    """The session's openmaker server (SigV4 enforced), started once and stopped at the end."""
    running = start_server(tmp_path_factory.mktemp("openmaker-home"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.exists():
        pytest.fail(f"datasets not found at {DATASETS}; set OPENMAKER_DATASETS")
    return DATASETS


@pytest.fixture(scope="session")
def s3(server: RunningServer):
    return server.client("s3")


@pytest.fixture
def bucket(s3, request: pytest.FixtureRequest) -> str:
    """A fresh bucket for one test, named after it."""
    readable = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:44].strip("-")
    name = f"t-{readable}-{hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]}"
    s3.create_bucket(Bucket=name)
    return name
