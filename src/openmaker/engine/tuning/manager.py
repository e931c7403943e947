"""The engine's tuning front door: a thread per running tuning job.

Restart policy (:meth:`Tuning.start`, called after the training jobs were recovered): a tuning job left
``InProgress`` is resumed — its finished children teach the search again, children still queued are
watched, children that were running were ended Failed by the engine (they count as RetryableError, as
an internal failure does on the service) and the job goes on launching up to its limits. A job left
``Stopping`` has its remaining children stopped and ends ``Stopped``. At shutdown the threads leave
without recording anything, so the next start resumes them.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from openmaker.engine.tuning.definitions import TRAINING_KIND, TUNING_KIND
from openmaker.engine.tuning.runner import TuningRun

log = logging.getLogger("openmaker.engine")


class Tuning:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.jobs = engine.state.jobs
        self.runs: dict[str, TuningRun] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, name: str, resume: bool = False) -> None:
        """Start running a recorded tuning job (status InProgress)."""
        record = self.jobs.get(TUNING_KIND, name)
        if record is None or record.terminal or self._closed:
            return
        run = TuningRun(self.engine, record, resume, on_exit=self._forget)
        with self._lock:
            if name in self.runs:
                return
            self.runs[name] = run
        run.start()

    def stop(self, name: str) -> None:
        """Stop a tuning job already marked Stopping: its running children stop, then it ends Stopped."""
        with self._lock:
            run = self.runs.get(name)
        if run is not None:
            run.request_stop()
            return
        self._end_stopped(name)

    def start(self) -> None:
        for record in self.jobs.active(TUNING_KIND):
            try:
                if record.status == "Stopping":
                    self._end_stopped(record.name)
                else:
                    self.submit(record.name, resume=True)
            except Exception as exc:  # one broken record must not keep the server from starting
                log.exception("could not resume tuning job %s", record.name)
                self.jobs.update(
                    TUNING_KIND,
                    record.name,
                    status="Failed",
                    failure_reason=f"InternalServerError: openmaker could not resume the tuning job: {exc}",
                    end_time=datetime.now(UTC),
                    only_if_active=True,
                )

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            runs = list(self.runs.values())
        for run in runs:
            run.quit()
        for run in runs:
            run.join(5)

    def _forget(self, name: str) -> None:
        with self._lock:
            self.runs.pop(name, None)

    def _end_stopped(self, name: str) -> None:
        """A Stopping tuning job nobody runs (found after a restart): stop what is left, end Stopped."""
        for child in self.jobs.list(TRAINING_KIND, parent=name):
            if not child.terminal:
                self.jobs.request_stop(TRAINING_KIND, child.name)
                self.engine.stop(TRAINING_KIND, child.name)
        self.jobs.update(TUNING_KIND, name, status="Stopped", end_time=datetime.now(UTC), only_if_active=True)
