"""The engine's front door: what the API handlers call.

Handlers record a job (``JobStore.create``, status InProgress) and then call :meth:`Engine.submit`;
StopXxx handlers call ``JobStore.request_stop`` then :meth:`Engine.stop`. Everything else — admission
by capacity, staging, running, logs, metrics, packaging, final status — happens in here, and every
transition is written to the JobStore before it is visible anywhere else.
"""

from __future__ import annotations

from typing import Any


class Engine:
    def __init__(self, state: Any) -> None:
        """``state`` is the server's AppState: settings, db, objects, logs, jobs, metrics."""
        self.state = state

    def start(self) -> None:
        """Begin scheduling; recover jobs a previous server process left InProgress/Stopping."""

    def submit(self, kind: str, name: str) -> None:
        """Queue a recorded job (kind: "TrainingJob", "ProcessingJob", ...) for running."""

    def stop(self, kind: str, name: str) -> None:
        """Stop a job already marked Stopping in the JobStore (SIGTERM, grace, SIGKILL)."""

    def shutdown(self) -> None:
        """Stop scheduling at server shutdown."""
