"""Script mode: run ``sagemaker_program`` as its own process, as the toolkit does.

``python <program> --hp1 v1 …`` (or ``/bin/sh <program> …`` for a shell script) with the code directory as
working directory and on ``PYTHONPATH``. stdout is inherited; stderr passes through line by line while its
tail is kept for the failure message. SIGTERM/SIGINT (StopTrainingJob) are forwarded to the script.
"""

from __future__ import annotations

import collections
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

ERROR_TAIL_LINES = 20
ERROR_MESSAGE_CHARS = 700
# Frameworks openmaker does not install by default; a script importing them gets a pointer.
OPTIONAL_FRAMEWORKS = ("tensorflow", "mxnet", "torch", "keras", "chainer", "gluoncv", "transformers")


def command_for(program: Path, args: list[str]) -> list[str]:
    if program.suffix == ".py":
        return [sys.executable, str(program.name), *args]
    if program.suffix == ".sh" or not os.access(program, os.X_OK):
        return ["/bin/sh", str(program.name), *args]
    return [str(program), *args]


class ScriptResult:
    def __init__(self, command: list[str], returncode: int, stderr_tail: list[str]) -> None:
        self.command = command
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def failure_message(self) -> str:
        """The toolkit's ExecuteUserScriptError text (the platform adds "AlgorithmError: " around it)."""
        message = "\n".join(self.stderr_tail).strip()
        if len(message) > ERROR_MESSAGE_CHARS:
            message = "…" + message[-ERROR_MESSAGE_CHARS:]
        hint = missing_framework_hint(message)
        return (
            f"ExecuteUserScriptError:\nExitCode {self.returncode}\nErrorMessage \"{message}\"\n"
            f"Command \"{shlex.join(self.command)}\"{hint}"
        )


def missing_framework_hint(message: str) -> str:
    for name in OPTIONAL_FRAMEWORKS:
        if f"No module named '{name}'" in message:
            return (
                f"\n(openmaker runs framework scripts on its own Python, which lacks {name}: "
                f"add {name} to the script's requirements.txt or install it next to openmaker.)"
            )
    return ""


def _pump(stream, sink, tail: collections.deque) -> None:
    for line in iter(stream.readline, ""):
        sink.write(line)
        sink.flush()
        tail.append(line.rstrip("\n"))
    stream.close()


def run_script(command: list[str], cwd: Path, env: dict[str, str]) -> ScriptResult:
    """Run the user's script to completion, forwarding its output and stop signals."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True, bufsize=1, errors="replace"
    )
    tail: collections.deque = collections.deque(maxlen=ERROR_TAIL_LINES)
    pump = threading.Thread(target=_pump, args=(process.stderr, sys.stderr, tail), daemon=True)
    pump.start()

    def forward(signum, _frame):
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        returncode = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    pump.join(timeout=5)
    return ScriptResult(command, returncode, list(tail))
