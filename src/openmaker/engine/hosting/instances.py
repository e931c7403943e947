"""One running model server: the unit endpoints and batch transform are built from.

Contract (what :func:`start_instance` promises its callers — the hosting engine and batch transform):

* It stages the container's ``ModelDataUrl`` (a ``model.tar.gz`` in the object store, read without
  HTTP and extracted safely) into a fresh workspace's ``model/`` directory, which the process sees as
  ``/opt/ml/model`` (``$OPENMAKER_OPT_ML/model`` without the sandbox). A ``SAGEMAKER_SUBMIT_DIRECTORY``
  that names an S3 ``sourcedir.tar.gz`` is extracted into ``/opt/ml/code`` and the variable rewritten
  to that path, so the model server never downloads code itself.
* It resolves the image with ``engine.runtime.prepare(image, "serve", ...)`` (framework images run
  ``python -m openmaker.runtimes.serving``; BYO images their registered serve entrypoint) and
  launches it with the engine's executor (the sandbox when bubblewrap exists). The environment is the
  usual job environment, then the container's ``Environment``, then ``SAGEMAKER_BIND_TO_PORT`` (a
  free loopback port) and ``SM_MODEL_DIR``.
* Every output line goes to CloudWatch Logs as ``log_group``/``log_stream``.
* It returns only once ``GET /ping`` answers 200. If the process exits first, or does not answer
  within ``startup_timeout`` seconds, it is stopped and :class:`InstanceError` is raised with the
  process's last stderr lines — the text an endpoint shows as its FailureReason.
* ``on_exit(instance)`` is called (from a watcher thread) when the process ends by itself — not
  after :meth:`Instance.stop`. Callers restart or fail over; nothing here restarts anything.

``Instance.url`` is ``http://127.0.0.1:<port>``; callers talk to ``/invocations`` themselves (the
router with its async pool) or through :meth:`Instance.invoke` (a blocking keep-alive client, one
connection per calling thread — what batch transform needs).
"""

from __future__ import annotations

import http.client
import logging
import os
import queue
import shutil
import socket
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openmaker.engine import archive, runtime
from openmaker.engine.executors import HostHandle, HostLaunch
from openmaker.engine.output import JobOutput
from openmaker.engine.s3io import S3Uri, StagingError, head, open_blob
from openmaker.engine.workspace import write_hosts_file

log = logging.getLogger("openmaker.hosting")

STARTUP_TIMEOUT = float(os.environ.get("OPENMAKER_HOSTING_STARTUP_TIMEOUT") or 120)
PING_INTERVAL = 0.05
SUBMIT_DIR = "SAGEMAKER_SUBMIT_DIRECTORY"
CODE_DIR = "/opt/ml/code"
CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")


class InstanceError(Exception):
    """The model server could not be started; the message is meant for the user (FailureReason)."""


@dataclass
class ContainerSpec:
    """One container of a model: its ``PrimaryContainer`` or one element of ``Containers``."""

    image: str
    model_data_url: str | None
    environment: dict[str, str] = field(default_factory=dict)
    hostname: str | None = None

    @classmethod
    def from_api(cls, container: dict[str, Any], index: int = 0) -> ContainerSpec:
        """From a CreateModel container definition (ModelDataUrl or an S3 ModelDataSource)."""
        url = container.get("ModelDataUrl")
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        if not url and source.get("S3Uri"):
            url = source["S3Uri"]
        return cls(
            image=container.get("Image") or "",
            model_data_url=url or None,
            environment={k: str(v) for k, v in (container.get("Environment") or {}).items()},
            hostname=container.get("ContainerHostname") or (f"container-{index + 1}" if index else None),
        )


@dataclass
class InvokeResult:
    status: int
    content_type: str | None
    body: bytes
    headers: dict[str, str]


class Instance:
    """A running model server process (see the module docstring for the contract)."""

    def __init__(self, owner: str, port: int, workspace: Path, output: JobOutput, stream: str) -> None:
        self.owner = owner
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workspace = workspace
        self.output = output
        self.log_stream = stream
        self.handle: HostHandle | None = None
        self.exit_code: int | None = None
        self.on_exit: Callable[[Instance], None] | None = None
        self._exited = threading.Event()
        self._stopping = False
        self._local = threading.local()
        self._watcher: threading.Thread | None = None

    # --- state -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._exited.is_set()

    def healthy(self) -> bool:
        """Cheap: the process is alive and not being stopped (no request is made)."""
        return not self._exited.is_set() and not self._stopping

    def ping(self, timeout: float = 2.0) -> bool:
        """A real ``GET /ping``: True on HTTP 200."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", "/ping")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stderr_tail(self, limit: int = 10) -> str:
        return self.output.tail(limit)

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the process ended (or ``timeout``); its exit code, or None if still running."""
        self._exited.wait(timeout)
        return self.exit_code

    # --- talking to it ---------------------------------------------------------------------------

    def invoke(
        self,
        body: bytes,
        content_type: str | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> InvokeResult:
        """``POST /invocations`` over this thread's keep-alive connection (reconnects once when the
        kept connection went stale). Raises ``OSError``/``http.client.HTTPException`` when the
        server is gone."""
        sent = dict(headers or {})
        if content_type:
            sent["Content-Type"] = content_type
        if accept:
            sent["Accept"] = accept
        for attempt in range(2):
            connection = self._connection(timeout, fresh=attempt > 0)
            try:
                connection.request("POST", "/invocations", body=body, headers=sent)
                response = connection.getresponse()
                data = response.read()
                return InvokeResult(
                    response.status,
                    response.getheader("Content-Type"),
                    data,
                    {k.lower(): v for k, v in response.getheaders()},
                )
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                connection.close()
                if attempt or not self.healthy():
                    raise
        raise AssertionError("unreachable")

    def _connection(self, timeout: float, fresh: bool) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None or fresh:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self._local.connection = connection
        connection.timeout = timeout
        return connection

    # --- ending ----------------------------------------------------------------------------------

    def stop(self, grace: float = 5) -> None:
        """SIGTERM, up to ``grace`` seconds, SIGKILL; then the workspace is removed. Idempotent."""
        self._stopping = True
        if self.handle is not None and not self._exited.is_set():
            self.handle.terminate()
            if not self._exited.wait(grace):
                self.handle.kill()
                self._exited.wait(5)
        shutil.rmtree(self.workspace, ignore_errors=True)
        (self.workspace.parent / f"{self.workspace.name}.hosts").unlink(missing_ok=True)

    def _watch(self) -> None:
        assert self.handle is not None
        try:
            code = self.handle.wait()
        except Exception:
            log.exception("waiting for the model server of %s", self.owner)
            code = -1
        self.exit_code = code
        if not self._stopping:
            self.output.note(self.log_stream, f"openmaker: the model server exited with code {code}")
        self.output.close()
        self._exited.set()
        if not self._stopping and self.on_exit is not None:
            try:
                self.on_exit(self)
            except Exception:
                log.exception("on_exit of %s", self.owner)


class _Launcher:
    """Starts processes from one thread that lives as long as the server.

    The sandbox runs bwrap with ``--die-with-parent``, which is tied to the *thread* that spawned
    it: an instance started from a short-lived worker thread would be killed when that thread
    ends. Model servers outlive whoever asked for them, so every launch happens here.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="instance-launcher", daemon=True)
                self._thread.start()
        future: Future = Future()
        self._queue.put((fn, future))
        return future.result()

    def _run(self) -> None:
        while True:
            fn, future = self._queue.get()
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)


_launcher = _Launcher()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stage_model(objects: Any, url: str, target: Path) -> None:
    try:
        uri = S3Uri.parse(url)
    except StagingError as exc:
        raise InstanceError(f"ModelDataUrl {url!r} is not an S3 URI") from exc
    try:
        info = head(objects, uri)
    except StagingError as exc:
        raise InstanceError(f"could not read the model data: no object at {url}") from exc
    try:
        with open_blob(objects, info) as f:
            archive.safe_extract(f, target)
    except tarfile.TarError as exc:
        raise InstanceError(f"the model data {url} is not a tar.gz archive: {exc}") from exc
    except archive.UnsafeArchive as exc:
        raise InstanceError(f"the model data {url} was refused: {exc}") from exc


def _stage_code(objects: Any, env: dict[str, str], workspace: Path) -> None:
    source = env.get(SUBMIT_DIR, "")
    if not source.startswith("s3://"):
        return
    _stage_model(objects, source, workspace / "code")
    env[SUBMIT_DIR] = CODE_DIR


def _requirements(workspace: Path) -> Path | None:
    for candidate in (
        workspace / "model" / "code" / "requirements.txt",
        workspace / "code" / "requirements.txt",
    ):
        if candidate.is_file():
            return candidate
    return None


def start_instance(
    state: Any,
    owner: str,
    container: ContainerSpec,
    *,
    log_group: str,
    log_stream: str,
    network_isolation: bool = False,
    on_exit: Callable[[Instance], None] | None = None,
    startup_timeout: float | None = None,
) -> Instance:
    """Start one model server for ``container`` and return it once it answers ``/ping``.

    ``owner`` names the workspace (``<home>/hosting/<owner>/<id>``) and log messages, e.g.
    ``"Endpoint/my-ep/AllTraffic"`` or ``"TransformJob/my-job"``. ``network_isolation`` withholds
    the AWS credentials and endpoint from the process (it must still be reachable on its port, so
    no network namespace is used). See the module docstring for the full contract.
    """
    settings = state.settings
    safe_owner = "".join(c if c.isalnum() or c in "-_." else "_" for c in owner)
    workspace = settings.home / "hosting" / safe_owner / uuid.uuid4().hex[:12]
    output: JobOutput | None = None
    instance: Instance | None = None
    try:
        (workspace / "model").mkdir(parents=True)
        env_in = dict(container.environment)
        if container.model_data_url:
            _stage_model(state.objects, container.model_data_url, workspace / "model")
        _stage_code(state.objects, env_in, workspace)
        try:
            prepared = runtime.prepare(
                container.image,
                "serve",
                settings.home,
                None,
                None,
                _requirements(workspace),
                job_config=env_in,
            )
        except runtime.ImageError as exc:
            raise InstanceError(str(exc)) from exc
        executor = state.engine.executor
        port = free_port()
        env = runtime.base_env(prepared, state)
        if network_isolation:
            for name in CREDENTIAL_VARS:
                env.pop(name, None)
        env.update(env_in)
        opt_ml = executor.opt_ml(workspace)
        env["SAGEMAKER_BIND_TO_PORT"] = str(port)
        env["SAGEMAKER_SAFE_PORT_RANGE"] = f"{port}-{port}"
        env.setdefault("SM_MODEL_DIR", f"{opt_ml}/model")
        host = container.hostname or "localhost"
        hosts_file = write_hosts_file(workspace.parent / f"{workspace.name}.hosts", [host])
        launch = HostLaunch(
            job_id=owner,
            host=host,
            hosts=[host],
            argv=prepared.argv,
            env=env,
            workspace=workspace,
            network_isolation=False,  # the server must stay reachable on its port
            expose=state.engine.exposed_paths(prepared),
            hide=[settings.home],
            read_only=["model"],
            hosts_file=hosts_file,
            cwd=prepared.workdir,
        )
        state.logs.append(log_group, log_stream, [])
        output = JobOutput(state.logs, state.metrics, log_group, owner)
        instance = Instance(owner, port, workspace, output, log_stream)
        on_line = output.stream_for(log_stream)
        instance.handle = _launcher.call(lambda: executor.launch(launch, on_line))
        instance._watcher = threading.Thread(target=instance._watch, name=f"instance-{owner}", daemon=True)
        instance._watcher.start()
        _wait_ready(instance, startup_timeout or STARTUP_TIMEOUT)
        instance.on_exit = on_exit
        if not instance.running and on_exit is not None:  # died between /ping and now
            on_exit(instance)
        return instance
    except BaseException:
        if instance is not None:
            instance.stop(grace=1)
        elif output is not None:
            output.close()
        shutil.rmtree(workspace, ignore_errors=True)
        hosts = workspace.parent / f"{workspace.name}.hosts"
        hosts.unlink(missing_ok=True)
        raise


def _wait_ready(instance: Instance, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not instance.running:
            code = instance.exit_code
            tail = instance.stderr_tail()
            reason = f"the model server exited with code {code} before answering GET /ping"
            raise InstanceError(f"{reason}. Last lines of its output:\n{tail}" if tail else reason)
        if instance.ping(timeout=1.0):
            return
        if time.monotonic() >= deadline:
            tail = instance.stderr_tail()
            reason = f"the model server did not answer GET /ping with 200 within {timeout:.0f} seconds"
            raise InstanceError(f"{reason}. Last lines of its output:\n{tail}" if tail else reason)
        instance.wait(PING_INTERVAL)
