"""engine.hosting.instances: one model server started from a model.tar.gz, pinged, invoked, stopped.

Runs against real stores opened in-process (the same ``open_state`` the server uses) with a BYO
serving image registered the way users do (``openmaker images add --serve-entrypoint``).
"""

from __future__ import annotations

import io
import sys
import tarfile
import threading

import pytest

from openmaker.config import Settings
from openmaker.engine.hosting.instances import ContainerSpec, InstanceError, start_instance
from openmaker.server import open_state
from openmaker.storage.images import ImageRegistry, RegisteredImage

SERVER = r"""
import http.server, os, pathlib, sys
root = pathlib.Path(os.environ.get("OPENMAKER_OPT_ML") or "/opt/ml")
answer = (root / "model" / "answer.txt").read_text()
if answer == "crash":
    print("boom: cannot load the model", file=sys.stderr, flush=True)
    sys.exit(3)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def _send(self, code, body, ctype="text/plain"):
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self): self._send(200, b"")
    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, answer.encode() + b":" + data, self.headers.get("Accept") or "text/plain")
print("listening", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), H).serve_forever()
"""


def model_tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    home = tmp_path_factory.mktemp("hosting-home")
    argv = [sys.executable, "-c", SERVER]  # inline: the sandbox hides /tmp and the home
    ImageRegistry(home).add(RegisteredImage("tiny-server:1", argv, serve_entrypoint=argv))
    state = open_state(Settings(home=home))
    state.objects.create_bucket("models", owner="000000000000", region="us-east-1")
    yield state
    state.db.dispose()


def put(state, key: str, data: bytes) -> str:
    writer = state.objects.new_writer()
    writer.write(data)
    state.objects.commit_object("models", key, writer)
    return f"s3://models/{key}"


def test_start_invoke_stop(state):
    url = put(state, "a/model.tar.gz", model_tar({"answer.txt": "forty-two"}))
    exits = []
    instance = start_instance(
        state,
        "Test/one",
        ContainerSpec("tiny-server:1", url, {"X": "1"}),
        log_group="/aws/sagemaker/Endpoints/test",
        log_stream="AllTraffic/i-1",
        on_exit=exits.append,
    )
    try:
        assert instance.url.startswith("http://127.0.0.1:")
        assert instance.healthy() and instance.ping()
        results = []

        def call(n: int) -> None:
            results.append(instance.invoke(str(n).encode(), "text/csv", "application/json"))

        threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.body for r in results) == [
            b"forty-two:0",
            b"forty-two:1",
            b"forty-two:2",
            b"forty-two:3",
        ]
        assert {r.content_type for r in results} == {"application/json"}
    finally:
        instance.stop(grace=2)
    assert not instance.healthy() and exits == []  # a requested stop is not a crash
    assert not instance.workspace.exists()


def test_crash_on_start_reports_stderr(state):
    url = put(state, "b/model.tar.gz", model_tar({"answer.txt": "crash"}))
    with pytest.raises(InstanceError, match="boom: cannot load the model"):
        start_instance(
            state,
            "Test/crash",
            ContainerSpec("tiny-server:1", url, {}),
            log_group="/aws/sagemaker/Endpoints/test",
            log_stream="AllTraffic/i-2",
        )


def test_missing_model_data(state):
    with pytest.raises(InstanceError, match="no object at"):
        start_instance(
            state,
            "Test/missing",
            ContainerSpec("tiny-server:1", "s3://models/nope/model.tar.gz", {}),
            log_group="/aws/sagemaker/Endpoints/test",
            log_stream="AllTraffic/i-3",
        )
