"""Training-job overhead: wall time from CreateTrainingJob to Completed for a job that does nothing,
against running the same thing directly with ``python``.

Starts its own server (temp data directory, loopback, SigV4 on) and measures, in this one process:

(a) ``python3 -c pass`` and ``python3 noop.py`` started directly (subprocess, wall time);
(b) a BYO job, ``ContainerEntrypoint=["python3", "-c", "pass"]``;
(c) a framework script-mode job (scikit-learn image, ``sagemaker_program=noop.py`` in
    ``sourcedir.tar.gz``, staged the SDK's way), without and with a ``requirements.txt``.

For each job kind, **cold** is the first job of its kind on the fresh server (for (c) with
requirements: the first job with those requirements, which builds the cached environment), **warm** is
the median and p90 of the next N. Time is measured from just before CreateTrainingJob until
DescribeTrainingJob (polled every ``--poll`` seconds) first reports Completed. Target: warm overhead
(warm median - direct) <= 1 s. Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serverutil import RunningServer, start_server

TARGET_OVERHEAD = 1.0
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
NOOP = '"""Does nothing."""\n'
BUCKET = "bench-training"


def sourcedir(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Bench:
    def __init__(self, server: RunningServer, poll: float) -> None:
        self.s3 = server.client("s3")
        self.sm = server.client("sagemaker")
        self.poll = poll
        self.s3.create_bucket(Bucket=BUCKET)

    def byo(self) -> dict:
        return {
            "AlgorithmSpecification": {
                "TrainingImage": "bench/byo:latest",
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "-c", "pass"],
            }
        }

    def framework(self, requirements: str | None) -> dict:
        files = {"noop.py": NOOP}
        if requirements is not None:
            files["requirements.txt"] = requirements
        key = f"code/{uuid.uuid4().hex}/sourcedir.tar.gz"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=sourcedir(files))
        return {
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": {
                "sagemaker_submit_directory": f'"s3://{BUCKET}/{key}"',
                "sagemaker_program": '"noop.py"',
                "sagemaker_container_log_level": "20",
                "sagemaker_region": '"us-east-1"',
            },
        }

    def run(self, params: dict) -> float:
        """Seconds from CreateTrainingJob to the first DescribeTrainingJob that says Completed."""
        name = f"bench-{uuid.uuid4().hex[:12]}"
        request = {
            "TrainingJobName": name,
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            **params,
        }
        start = time.perf_counter()
        self.sm.create_training_job(**request)
        while True:
            job = self.sm.describe_training_job(TrainingJobName=name)
            status = job["TrainingJobStatus"]
            if status in ("Completed", "Failed", "Stopped"):
                elapsed = time.perf_counter() - start
                if status != "Completed":
                    raise SystemExit(f"{name} ended {status}: {job.get('FailureReason')}")
                return elapsed
            time.sleep(self.poll)


def direct(argv: list[str], cwd: Path, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True)
        times.append(time.perf_counter() - start)
    return times


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10, help="warm jobs per kind")
    parser.add_argument("--poll", type=float, default=0.02, help="DescribeTrainingJob interval (s)")
    parser.add_argument(
        "--requirements", default="s3fs", help="requirements.txt of the cold-environment case"
    )
    parser.add_argument("--dir", default=None, help="where to put the server's data")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="openmaker-bench-training-", dir=args.dir))
    server = start_server(work / "home")
    try:
        (work / "noop.py").write_text(NOOP)
        python = sys.executable
        bench = Bench(server, args.poll)
        rows: list[tuple[str, float | None, list[float]]] = [
            ("direct: python3 -c pass", None, direct([python, "-c", "pass"], work, args.n)),
            ("direct: python3 noop.py", None, direct([python, "noop.py"], work, args.n)),
        ]
        # A unique comment makes the requirements new to the engine's environment cache (uv's own
        # download cache may still hold the wheels, as on any machine that installed them once).
        requirements = f"# bench {uuid.uuid4().hex}\n{args.requirements}\n"
        cases = [
            ("BYO python3 -c pass", bench.byo),
            ("framework noop.py", lambda: bench.framework(None)),
            (
                f"framework noop.py + requirements ({args.requirements})",
                lambda: bench.framework(requirements),
            ),
        ]
        for label, make in cases:
            cold = bench.run(make())
            warm = [bench.run(make()) for _ in range(args.n)]
            rows.append((label, cold, warm))
            print(f"  measured {label}", file=sys.stderr)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    baseline = statistics.median(rows[0][2])
    executor = os.environ.get("OPENMAKER_EXECUTOR") or ("sandbox" if shutil.which("bwrap") else "process")
    print(
        f"\nTraining job wall time, CreateTrainingJob -> Completed (executor {executor}, poll "
        f"{args.poll * 1000:.0f} ms, N={args.n} warm, {os.cpu_count()} CPUs, python {sys.version.split()[0]})\n"
    )
    header = f"{'case':<48} {'cold s':>8} {'warm median s':>14} {'warm p90 s':>11} {'overhead s':>11}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for label, cold, warm in rows:
        median = statistics.median(warm)
        overhead = median - baseline
        if cold is not None:
            worst = max(worst, overhead)
        cold_text = f"{cold:8.3f}" if cold is not None else f"{'':>8}"
        print(f"{label:<48} {cold_text} {median:14.3f} {p90(warm):11.3f} {overhead:11.3f}")
    verdict = "OK" if worst <= TARGET_OVERHEAD else "MISSED"
    print(
        f"\noverhead = warm median - direct `python3 -c pass` median; target <= {TARGET_OVERHEAD:.1f} s: "
        f"worst {worst:.3f} s -> {verdict}"
    )


if __name__ == "__main__":
    main()
