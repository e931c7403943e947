"""PyTorch images get an environment where torch works, including ``torch.distributed`` over gloo.

The 2-host training job itself is the engine's test; this one proves the interpreter it would start can
do a 2-process all-reduce on the loopback interface.
"""

from __future__ import annotations

import os
import socket
import subprocess
import textwrap
import time
from pathlib import Path

from openmaker.engine.environments import ensure_environment
from openmaker.engine.images import resolve_image

PYTORCH = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310"

ALL_REDUCE = textwrap.dedent("""
    import os, torch, torch.distributed as dist
    dist.init_process_group("gloo", rank=int(os.environ["RANK"]), world_size=int(os.environ["WORLD_SIZE"]))
    tensor = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    print(f"rank {dist.get_rank()} sum {tensor.item():.0f} torch {torch.__version__}", flush=True)
    dist.destroy_process_group()
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_gloo_all_reduce(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = time.monotonic()
    environment = ensure_environment(resolve_image(PYTORCH, home), home)
    built = time.monotonic() - started
    started = time.monotonic()
    assert ensure_environment(resolve_image(PYTORCH, home), home) == environment
    assert time.monotonic() - started < 0.05
    print(f"torch environment built in {built:.1f}s")

    script = tmp_path / "all_reduce.py"
    script.write_text(ALL_REDUCE)
    port = str(free_port())
    processes = []
    for rank in (0, 1):
        env = {**os.environ, **environment.env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "RANK": str(rank), "WORLD_SIZE": "2", "GLOO_SOCKET_IFNAME": "lo"}
        processes.append(subprocess.Popen([environment.python, str(script)], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    assert "rank 0 sum 3" in outputs[0][0] and "rank 1 sum 3" in outputs[1][0]
