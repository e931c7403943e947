"""The job state machine shared by every job kind: prepare → run hosts → collect → final status.

A :class:`Run` is created when the scheduler admits a job and lives in its own thread. Subclasses
(training, processing) say how to prepare hosts, what to collect and how to name statuses; this
module owns the order of transitions, stopping (SIGTERM, grace, SIGKILL), MaxRuntimeInSeconds, and
turning exceptions into a true final state. Every transition goes through ``JobStore.update``
before anything else happens, so a restart always finds the job where it really was.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openmaker.engine.archive import UnsafeArchive
from openmaker.engine.executors import Executor, HostHandle, HostLaunch
from openmaker.engine.output import JobOutput
from openmaker.engine.runtime import ImageError
from openmaker.engine.s3io import StagingError
from openmaker.engine.workspace import job_dir

log = logging.getLogger("openmaker.engine")

MAX_REASON = 1024


class ClientError(Exception):
    """A problem with what the user asked for; becomes ``FailureReason: ClientError: ...``."""


FAILURE_CATEGORIES = ("ClientError: ", "AlgorithmError: ")
USER_ERRORS = (ClientError, StagingError, ImageError, UnsafeArchive)


@dataclass
class HostRun:
    launch: HostLaunch
    stream: str
    handle: HostHandle | None = None
    code: int | None = None


@dataclass
class Outcome:
    """How the hosts ended: ``stop`` is None, "Stopped" (user) or "MaxRuntimeExceeded"."""

    stop: str | None
    failed: HostRun | None
    training_seconds: float


class Run:
    """One admitted job. Subclasses implement :meth:`prepare`, :meth:`collect` and the hooks."""

    kind = ""
    log_group = ""

    def __init__(self, engine: Any, record: Any, executor: Executor) -> None:
        self.engine = engine
        self.state = engine.state
        self.jobs = engine.state.jobs
        self.record = record
        self.name: str = record.name
        self.spec: dict[str, Any] = record.spec
        self.executor = executor
        self.dir = job_dir(self.state.settings.home, self.kind, self.name)
        self.hosts: list[HostRun] = []
        self.output: JobOutput | None = None
        self.stop_reason: str | None = None
        self.first_failed: HostRun | None = None  # the host whose crash ended the others
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self.epoch = int(time.time())

    # --- what subclasses provide ----------------------------------------------------------------

    @property
    def instance_count(self) -> int:
        return 1

    def max_runtime(self) -> float | None:
        seconds = (self.spec.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        return float(seconds) if seconds else None

    def prepare(self) -> list[HostLaunch]:
        raise NotImplementedError

    def collect(self, outcome: Outcome) -> None:
        """Upload what the hosts left (called for success and stops; failures too, best effort)."""

    def transition(self, phase: str) -> None:
        """Announce a phase (secondary status for training; nothing for processing)."""

    def finish(self, outcome: Outcome | None, failure: str | None) -> None:
        raise NotImplementedError

    def failure_file_text(self) -> str | None:
        return None

    # --- the machine ----------------------------------------------------------------------------

    def update(self, **fields: Any) -> Any:
        return self.jobs.update(self.kind, self.name, only_if_active=True, **fields)

    def execute(self) -> None:
        """Run the job to a final state; never raises."""
        outcome: Outcome | None = None
        failure: str | None = None
        try:
            self.update(start_time=datetime.now(UTC))
            launches = self.prepare()
            if self.stop_reason is None:
                outcome = self.run_hosts(launches)
                if outcome.failed is not None and outcome.stop is None:
                    failure = self.describe_failure(outcome.failed)
            else:
                outcome = Outcome(self.stop_reason, None, 0.0)
            try:
                self.collect(outcome if failure is None else Outcome(None, outcome.failed, 0.0))
            except USER_ERRORS as exc:
                failure = failure or f"ClientError: {exc}"
        except USER_ERRORS as exc:
            failure = f"ClientError: {exc}"
        except Exception as exc:
            log.exception("%s %s failed inside openmaker", self.kind, self.name)
            failure = f"InternalServerError: openmaker could not run the job: {exc}"
        finally:
            if self.output is not None:
                self.output.close()
        try:
            self.finish(outcome, failure[:MAX_REASON] if failure else None)
        except Exception:
            log.exception("could not record the end of %s %s", self.kind, self.name)
            self.jobs.update(self.kind, self.name, status="Failed", failure_reason="InternalServerError")
        self.cleanup(failed=failure is not None or (outcome is not None and outcome.stop is not None))

    def describe_failure(self, host: HostRun) -> str:
        text = (self.failure_file_text() or "").strip()
        if text.startswith(FAILURE_CATEGORIES):
            return text  # the algorithm named the category itself (first-party ClientError)
        if text:
            return f"AlgorithmError: {text}"
        code = host.code if host.code is not None else -1
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        tail = self.output.tail() if self.output else ""
        reason = f"AlgorithmError: the job's process on {host.launch.host} {how}"
        return f"{reason}. Last lines of stderr:\n{tail}" if tail else reason

    def stop(self, reason: str = "Stopped") -> None:
        """Ask the job to stop (user Stop, or the runtime limit): SIGTERM now, SIGKILL after grace."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self._wake.set()

    def run_hosts(self, launches: list[HostLaunch]) -> Outcome:
        assert self.output is not None
        self.hosts = [HostRun(spec, f"{self.name}/{spec.host}-{self.epoch}") for spec in launches]
        for host in self.hosts:
            self.state.logs.append(self.log_group, host.stream, [])
        self.transition("Training")
        started = time.monotonic()
        for host in self.hosts:
            host.handle = self.executor.launch(host.launch, self.output.stream_for(host.stream))
            threading.Thread(target=self._wait_host, args=(host,), daemon=True).start()
        self.update(
            state={
                "EngineHosts": [h.handle.ident for h in self.hosts if h.handle],
                "LogStreams": [h.stream for h in self.hosts],
            }
        )
        limit = self.max_runtime()
        deadline = started + limit if limit else None
        grace = float(self.state.settings.stop_grace)
        signalled = False
        kill_at: float | None = None
        while True:
            self._wake.clear()
            if all(h.code is not None for h in self.hosts):
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline and self.stop_reason is None:
                self.stop("MaxRuntimeExceeded")
            failed = any(h.code not in (None, 0) for h in self.hosts)
            if (self.stop_reason or failed) and not signalled:
                signalled = True
                if self.stop_reason:
                    self.on_stopping()
                for h in self.hosts:
                    if h.handle is not None and h.code is None:
                        h.handle.terminate()
                kill_at = now + grace
            if kill_at is not None and now >= kill_at:
                for h in self.hosts:
                    if h.handle is not None and h.code is None:
                        h.handle.kill()
                kill_at = None
            waits = [t - now for t in (deadline if not signalled else None, kill_at) if t is not None]
            self._wake.wait(max(0.0, min(waits)) if waits else None)
        failed_host = self.first_failed or next((h for h in self.hosts if h.code not in (None, 0)), None)
        return Outcome(self.stop_reason, failed_host, time.monotonic() - started)

    def on_stopping(self) -> None:
        """Hook: the job is being stopped (training announces the Stopping secondary status)."""

    def _wait_host(self, host: HostRun) -> None:
        assert host.handle is not None
        try:
            host.code = host.handle.wait()
        except Exception:
            log.exception("waiting for %s of %s", host.launch.host, self.name)
            host.code = -1
        with self._lock:
            if host.code != 0 and self.first_failed is None and self.stop_reason is None:
                self.first_failed = host
        self._wake.set()

    def cleanup(self, failed: bool) -> None:
        """A completed job's workspace goes now; a failed or stopped one stays for debugging until
        the next server start-up sweeps it."""
        if not failed:
            shutil.rmtree(self.dir, ignore_errors=True)

    def host_dirs(self) -> list[Path]:
        return [h.launch.workspace for h in self.hosts] if self.hosts else []
