"""The engine's front door: what the API handlers call.

Handlers record a job (``JobStore.create``, status InProgress) and then call :meth:`Engine.submit`;
StopXxx handlers call ``JobStore.request_stop`` then :meth:`Engine.stop`. Everything else — admission
by capacity, staging, running, logs, metrics, packaging, final status — happens in here, and every
transition is written to the JobStore before it is visible anywhere else.

Restart policy (:meth:`Engine.start`): a job that had not started yet (no start time) is queued
again; a job whose processes were running is ended ``Failed`` with a reason saying so, after any
leftover processes are killed — its output pipes died with the old server, so it cannot be watched.
Workspaces of finished jobs are removed at start-up (failed/stopped ones are kept until then).
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openmaker
from openmaker.engine.events import JobEvents
from openmaker.engine.executors import Executor, choose_executor
from openmaker.engine.lifecycle import Run
from openmaker.engine.processing import ProcessingRun
from openmaker.engine.runtime import Prepared
from openmaker.engine.scheduler import Scheduler, Ticket
from openmaker.engine.training import MESSAGES, TrainingRun
from openmaker.engine.transform import TransformRun

log = logging.getLogger("openmaker.engine")

RUNS: dict[str, type[Run]] = {
    "TrainingJob": TrainingRun,
    "ProcessingJob": ProcessingRun,
    "TransformJob": TransformRun,
}
RESTART_REASON = (
    "InternalServerError: the openmaker server stopped while this job was running, so the job was "
    "ended; create it again to rerun it"
)
SERVER_DATA = ("jobs", "objects", "openmaker.db", "credentials.json")


class Engine:
    def __init__(self, state: Any, executor: Executor | None = None) -> None:
        """``state`` is the server's AppState: settings, db, objects, logs, jobs, metrics."""
        self.state = state
        self.executor = executor or choose_executor()
        settings = state.settings
        self.scheduler = Scheduler(settings.slots)
        self.runs: dict[tuple[str, str], Run] = {}
        self.events = JobEvents()
        self._lock = threading.Lock()
        self._closed = False
        from openmaker.engine.hosting.manager import Hosting  # endpoints (their own life cycle)
        from openmaker.engine.tuning.manager import Tuning  # tuning jobs (a thread each)

        self.hosting = Hosting(state)
        self.tuning = Tuning(self)

    # --- the API ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin scheduling; recover jobs a previous server process left InProgress/Stopping."""
        active = self.state.jobs.active()
        keep = {(r.kind, r.name) for r in active}
        for record in active:
            if record.kind not in RUNS:
                continue
            if record.start_time is None and record.status == "InProgress":
                self.submit(record.kind, record.name)
                continue
            for ident in record.state.get("EngineHosts") or []:
                try:
                    self.executor.reap(ident)
                except Exception:
                    log.exception("could not reap %r", ident)
            self._end_unrun(record, failed=record.status != "Stopping" or record.start_time is not None)
        self._sweep(keep)
        self.hosting.start()
        self.tuning.start()  # after the training jobs above: it resumes from their true states

    def submit(self, kind: str, name: str) -> None:
        """Queue a recorded job (kind: "TrainingJob", "ProcessingJob", ...) for running."""
        run_class = RUNS.get(kind)
        if run_class is None:
            log.warning("the engine does not run %s jobs yet (%s)", kind, name)
            return
        record = self.state.jobs.get(kind, name)
        if record is None or record.terminal:
            return
        run = run_class(self, record, self.executor)
        key = (kind, name)
        ticket = Ticket(
            key,
            run.instance_count * max(1, int(self.state.settings.slot_size)),
            start=lambda: self._launch(run),
            on_wait=lambda used, total: self._announce_wait(run, used, total),
        )
        self.scheduler.submit(ticket)

    def stop(self, kind: str, name: str) -> None:
        """Stop a job already marked Stopping in the JobStore (SIGTERM, grace, SIGKILL)."""
        key = (kind, name)
        with self._lock:
            run = self.runs.get(key)
        if run is not None:
            run.stop("Stopped")
            return
        self.scheduler.cancel(key)  # waiting (or unknown to this process): it never started here
        record = self.state.jobs.get(kind, name)
        if record is not None and not record.terminal:
            self._end_unrun(record, failed=False)

    def shutdown(self) -> None:
        """Stop scheduling at server shutdown: running jobs are killed and recorded as Failed."""
        self._closed = True
        self.tuning.shutdown()  # first: no tuner may launch a job while the others are ended
        self.hosting.shutdown()
        with self._lock:
            runs = list(self.runs.values())
        for run in runs:
            for host in run.hosts:
                if host.handle is not None and host.code is None:
                    host.handle.kill()
            try:
                self.state.jobs.update(
                    run.kind,
                    run.name,
                    status="Failed",
                    failure_reason=RESTART_REASON,
                    secondary_status="Failed" if run.kind == "TrainingJob" else None,
                    message=RESTART_REASON if run.kind == "TrainingJob" else None,
                    end_time=datetime.now(UTC),
                    only_if_active=True,
                )
            except Exception:
                log.exception("could not record the end of %s", run.name)

    # --- inside ----------------------------------------------------------------------------------

    def _launch(self, run: Run) -> None:
        key = (run.kind, run.name)
        with self._lock:
            self.runs[key] = run

        def main() -> None:
            try:
                record = self.state.jobs.get(run.kind, run.name)
                if record is not None and record.stop_requested:
                    run.stop("Stopped")
                run.execute()
            finally:
                with self._lock:
                    self.runs.pop(key, None)
                if not self._closed:
                    self.scheduler.release(key)
                self.events.ended(run.kind, run.name)  # recorded and its capacity free: a tuner may go on

        threading.Thread(target=main, name=f"job-{run.name}", daemon=True).start()

    def _announce_wait(self, run: Run, used: int, total: int) -> None:
        message = f"Waiting for capacity: {used} of {total} slots are in use"
        if run.kind == "TrainingJob":
            self.state.jobs.update(
                run.kind, run.name, secondary_status="Starting", message=message, only_if_active=True
            )

    def _end_unrun(self, record: Any, failed: bool) -> None:
        """End a job this process is not running (stopped while queued, or found after a restart)."""
        training = record.kind == "TrainingJob"
        if failed:
            fields: dict[str, Any] = {"status": "Failed", "failure_reason": RESTART_REASON}
            secondary, message = "Failed", RESTART_REASON
        else:
            fields = {"status": "Stopped"}
            secondary, message = "Stopped", MESSAGES["Stopped"]
        self.state.jobs.update(
            record.kind,
            record.name,
            secondary_status=secondary if training else None,
            message=message if training else None,
            end_time=datetime.now(UTC),
            only_if_active=True,
            **fields,
        )
        self.events.ended(record.kind, record.name)

    def _sweep(self, keep: set[tuple[str, str]]) -> None:
        root = self.state.settings.home / "jobs"
        if not root.is_dir():
            return
        for kind_dir in root.iterdir():
            for job in kind_dir.iterdir() if kind_dir.is_dir() else ():
                if (kind_dir.name, job.name) not in keep:
                    shutil.rmtree(job, ignore_errors=True)

    def exposed_paths(self, prepared: Prepared) -> list[Path]:
        """What a job's Python needs that the sandbox would hide (its private /tmp and /opt, the
        server's home): the interpreter and its environment, the server's own interpreter and
        openmaker's code (an environment's .pth files point there). Re-exposed read-only."""
        home = self.state.settings.home.resolve()
        candidates = [prepared.python, prepared.bin_dir, str(Path(prepared.bin_dir).parent)]
        candidates += prepared.env.get("PYTHONPATH", "").split(":")
        candidates += [sys.prefix, sys.base_prefix, str(Path(openmaker.__file__).parents[1]), *sys.path]
        found: set[Path] = set()
        for text in filter(None, candidates):
            for path in {Path(text).absolute(), Path(text).resolve()}:
                found.update(_hidden_part(path, home))
        return _outermost(found)


def _outermost(paths: set[Path]) -> list[Path]:
    """Directories only, none inside another: bwrap cannot create a mount point inside a read-only
    bind it already made."""
    dirs = sorted({path if path.is_dir() else path.parent for path in paths})
    kept: list[Path] = []
    for path in dirs:
        if not any(path.is_relative_to(outer) for outer in kept):
            kept.append(path)
    return kept


def _hidden_part(path: Path, home: Path) -> list[Path]:
    """The part of ``path`` to re-expose if the sandbox hides it, else nothing."""
    try:
        rel = path.relative_to(home)
    except ValueError:
        pass
    else:
        return [home / rel.parts[0]] if rel.parts and rel.parts[0] not in SERVER_DATA else []
    if path.parts[1:2] in (("tmp",), ("opt",)) and path.exists():
        return [path]
    return []
