"""Start and stop real `openmaker serve` processes for tests (loopback only, stopped by their pid)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    home: Path
    port: int
    process: subprocess.Popen
    log_path: Path
    extra_args: tuple[str, ...] = ()
    _creds: dict = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_key(self) -> str:
        return self.credentials["aws_access_key_id"]

    @property
    def secret_key(self) -> str:
        return self.credentials["aws_secret_access_key"]

    @property
    def credentials(self) -> dict:
        if not self._creds:
            self._creds.update(json.loads((self.home / "credentials.json").read_text()))
        return self._creds

    def env(self) -> dict[str, str]:
        """The environment a user's shell has after `eval "$(openmaker env)"` (the same lines)."""
        from openmaker.cli import env_lines
        from openmaker.config import Settings

        env = dict(os.environ)
        env.pop("AWS_PROFILE", None)
        env.pop("AWS_SESSION_TOKEN", None)
        for line in env_lines(Settings(home=self.home)):
            name, _, value = line.removeprefix("export ").partition("=")
            value = value.strip('"').replace("${PYTHONPATH:+:$PYTHONPATH}", f":{env['PYTHONPATH']}" if env.get("PYTHONPATH") else "")
            env[name] = value
        env["OPENMAKER_HOME"] = str(self.home)
        return env

    def client(self, service: str, **kwargs):
        config = kwargs.pop("config", None) or Config(retries={"max_attempts": 1, "mode": "standard"})
        return boto3.client(
            service,
            endpoint_url=kwargs.pop("endpoint_url", self.endpoint),
            aws_access_key_id=kwargs.pop("aws_access_key_id", self.access_key),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", self.secret_key),
            region_name=kwargs.pop("region_name", REGION),
            config=config,
            **kwargs,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> RunningServer:
        self.stop()
        return start_server(self.home, self.port, self.extra_args)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(home: Path, port: int | None = None, extra_args: tuple[str, ...] = ()) -> RunningServer:
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / f"server-{port}.log"
    env = dict(os.environ, OPENMAKER_HOME=str(home))
    command = [sys.executable, "-m", "openmaker", "serve", "--host", "127.0.0.1", "--port", str(port), *extra_args]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = RunningServer(home, port, process, log_path, tuple(extra_args))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"openmaker serve exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.endpoint}/_openmaker/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"openmaker serve did not become healthy:\n{server.log()}")
