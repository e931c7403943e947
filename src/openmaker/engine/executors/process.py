"""The plain process executor: the job runs as a local process group, no isolation.

Without a mount namespace ``/opt/ml`` cannot be the workspace, so this is the documented equivalent:
every ``SM_*`` path names the real workspace (``opt_ml`` returns it), ``OPENMAKER_OPT_ML`` carries
it, and any argv element or environment value starting with ``/opt/ml`` is rewritten to it (so
``ContainerEntrypoint: ["python3", "/opt/ml/processing/input/code/x.py"]`` works). Scripts that build
``/opt/ml/...`` paths themselves need the sandbox executor. Host names ``algo-<n>`` are not
resolvable here; ``OPENMAKER_HOST_ADDRESSES`` maps each to 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openmaker.engine.executors.base import HostLaunch, LocalHandle, OnLine, popen, reap_group

OPT_ML = "/opt/ml"


def rewrite(value: str, workspace: str) -> str:
    if value == OPT_ML or value.startswith(OPT_ML + "/"):
        return workspace + value[len(OPT_ML) :]
    return value


class ProcessExecutor:
    name = "process"

    def opt_ml(self, workspace: Path) -> str:
        return str(workspace)

    def launch(self, spec: HostLaunch, on_line: OnLine) -> LocalHandle:
        root = str(spec.workspace)
        env = {key: rewrite(value, root) for key, value in spec.env.items()}
        env["OPENMAKER_OPT_ML"] = root
        env["OPENMAKER_HOST_ADDRESSES"] = json.dumps({host: "127.0.0.1" for host in spec.hosts})
        argv = [rewrite(arg, root) for arg in spec.argv]
        return LocalHandle(
            self.name, popen(argv, env, cwd=rewrite(spec.cwd or root, root)), on_line, wrapper=None
        )

    def reap(self, ident: dict[str, Any]) -> None:
        reap_group(ident)
