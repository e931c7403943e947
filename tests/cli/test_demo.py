"""The README's first command runs the demo; this runs the same module end to end (its own server on a free
port, a throw-away home) so the main job cannot silently break."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_walks_through_every_step(tmp_path: Path, datasets: Path) -> None:
    env = {**os.environ, "OPENMAKER_HOME": str(tmp_path / "home"), "OPENMAKER_PORT": str(_free_port()),
           "OPENMAKER_DATASETS": str(datasets), "COLUMNS": "200"}
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "openmaker.demo"], env=env, capture_output=True, text=True,
                          timeout=600)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    for step in ("1. Who am I", "2. Upload the data", "3. Train", "4. Tune alpha", "5. Deploy the best model",
                 "6. Invoke it", "7. Batch transform", "8. Clean up"):
        assert step in out, step
    assert "validation:accuracy" in out and "best: spam-tune-" in out
    assert "still there" not in out
