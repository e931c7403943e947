"""The executor interface: how the lifecycle starts one host of a job and talks to it afterwards.

The lifecycle (``engine/lifecycle.py``) prepares each host's workspace, then hands an executor a
:class:`HostLaunch` and gets back a :class:`HostHandle`. That is the whole contract:

* ``Executor.opt_ml(workspace)`` — the path the job will see as ``/opt/ml`` (``/opt/ml`` itself when
  the executor can mount the workspace there; the real workspace path when it cannot). The
  lifecycle writes every ``SM_*`` path from it.
* ``Executor.launch(spec, on_line)`` — start the host; deliver each output line to ``on_line(text,
  is_stderr)`` from any thread, in order per stream.
* ``HostHandle.wait()`` — block until the host ended and all its output was delivered; the exit code
  (negative: killed by that signal). ``HostHandle.terminate()`` asks it to stop (SIGTERM to the job,
  not to any wrapper); ``kill()`` ends it now. ``ident`` is a JSON-safe description kept in the job
  record so :meth:`Executor.reap` can end leftovers after the server restarts.

A Ray executor ships the workspace to a worker and runs the same argv there (``on_line`` fed by a
log actor, ``terminate`` = cancel); a Docker executor runs the image with ``-v workspace:/opt/ml
--hostname <host> --network`` (``opt_ml`` answers ``/opt/ml``). Neither touches the lifecycle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

OnLine = Callable[[str, bool], None]


@dataclass
class HostLaunch:
    """Everything needed to start one host (``algo-<n>``) of a job."""

    job_id: str  # "<kind>/<name>", for log messages
    host: str  # algo-1 ...
    hosts: list[str]
    argv: list[str]
    env: dict[str, str]
    workspace: Path  # the real directory that is this host's /opt/ml
    network_isolation: bool = False
    expose: list[Path] = field(default_factory=list)  # read-only paths the job needs (interpreters)
    hide: list[Path] = field(default_factory=list)  # paths the job must not see (the server's data)
    read_only: list[str] = field(default_factory=list)  # /opt/ml sub-paths mounted read-only
    hosts_file: Path | None = None  # an /etc/hosts naming every host of the job
    cwd: str | None = None  # working directory as the job sees it (default: its /opt/ml)


class HostHandle(Protocol):
    ident: dict[str, Any]

    def wait(self) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class Executor(Protocol):
    name: str

    def opt_ml(self, workspace: Path) -> str: ...

    def launch(self, spec: HostLaunch, on_line: OnLine) -> HostHandle: ...

    def reap(self, ident: dict[str, Any]) -> None: ...


# --- shared by the two local executors ---------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(comm, pgrp, start time in ticks) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, int(fields[2]), int(fields[19])


def group_members(pgid: int) -> list[tuple[int, str]]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[1] == pgid:
                members.append((int(entry), stat[0]))
    return members


class LocalHandle:
    """A host started as a local process group (``start_new_session``); used by the process and
    sandbox executors. Output pipes are drained by two threads so a chatty job never blocks."""

    def __init__(
        self, executor: str, process: subprocess.Popen, on_line: OnLine, wrapper: str | None
    ) -> None:
        self.process = process
        self.wrapper = wrapper  # the sandbox program's name: signals skip it so the job gets them
        stat = _stat(process.pid)
        self.ident = {"executor": executor, "pid": process.pid, "start": stat[2] if stat else None}
        self._readers = [
            threading.Thread(target=_pump, args=(process.stdout, on_line, False), daemon=True),
            threading.Thread(target=_pump, args=(process.stderr, on_line, True), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def wait(self) -> int:
        code = self.process.wait()
        for reader in self._readers:
            reader.join()
        return code

    def terminate(self) -> None:
        if self.process.poll() is not None:
            return
        targets = [pid for pid, comm in group_members(self.process.pid) if comm != self.wrapper]
        for pid in targets:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass


def _pump(stream: IO[bytes], on_line: OnLine, is_stderr: bool) -> None:
    with stream:
        for raw in stream:
            on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"), is_stderr)


def reap_group(ident: dict[str, Any]) -> None:
    """Kill a host's process group left from an earlier server, if it is still that process."""
    pid, start = ident.get("pid"), ident.get("start")
    if not isinstance(pid, int):
        return
    stat = _stat(pid)
    if stat is None or (start is not None and stat[2] != start):
        return  # gone, or the pid now belongs to someone else
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def popen(argv: list[str], env: dict[str, str], cwd: str) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
