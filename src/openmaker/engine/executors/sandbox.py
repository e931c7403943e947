"""The sandbox executor: bubblewrap mounts the host's workspace on the real ``/opt/ml``.

What the job sees: the machine's filesystem read-only, its workspace read-write at ``/opt/ml`` (the
staged input data read-only, so a job cannot write through the hard links into stored objects), a
private ``/tmp`` and ``/dev/shm``, its own host name (``algo-<n>``) and an ``/etc/hosts`` naming every
host of the job, its own PID namespace, and no view of the server's data directory. With
``EnableNetworkIsolation`` it also gets a private network namespace (loopback only) — single-host
jobs only, since the hosts of one job must reach each other. bwrap dies with the server
(``--die-with-parent``), so a killed server leaves no orphaned job behind.
"""

from __future__ import annotations

import glob
import shutil
from pathlib import Path
from typing import Any

from openmaker.engine.executors.base import HostLaunch, LocalHandle, OnLine, popen, reap_group


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


class SandboxExecutor:
    name = "sandbox"

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    def opt_ml(self, workspace: Path) -> str:
        return "/opt/ml"

    def command(self, spec: HostLaunch) -> list[str]:
        cmd = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        cmd += ["--tmpfs", "/dev/shm", "--tmpfs", "/opt"]
        for device in sorted(glob.glob("/dev/nvidia*")):
            cmd += ["--dev-bind-try", device, device]
        for hidden in spec.hide:
            cmd += ["--tmpfs", str(hidden)]
        # After every tmpfs above: an interpreter or environment under /tmp or /opt stays visible.
        for exposed in spec.expose:
            cmd += ["--ro-bind-try", str(exposed), str(exposed)]
        cmd += ["--bind", str(spec.workspace), "/opt/ml"]
        for sub in spec.read_only:
            source = spec.workspace / sub
            if source.exists():
                cmd += ["--ro-bind", str(source), f"/opt/ml/{sub}"]
        if spec.hosts_file is not None:
            cmd += ["--ro-bind", str(spec.hosts_file), "/etc/hosts"]
        cmd += ["--unshare-uts", "--hostname", spec.host, "--unshare-pid", "--unshare-ipc"]
        if spec.network_isolation and len(spec.hosts) == 1:
            cmd += ["--unshare-net"]
        cmd += ["--die-with-parent", "--chdir", spec.cwd or "/opt/ml", "--"]
        return cmd + spec.argv

    def launch(self, spec: HostLaunch, on_line: OnLine) -> LocalHandle:
        env = dict(spec.env, OPENMAKER_OPT_ML="/opt/ml", HOME="/tmp")
        process = popen(self.command(spec), env, cwd="/")
        return LocalHandle(self.name, process, on_line, wrapper="bwrap")

    def reap(self, ident: dict[str, Any]) -> None:
        reap_group(ident)
