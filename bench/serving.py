"""Real-time serving: InvokeEndpoint through openmaker vs ``model.predict`` and vs ``mlflow models serve``.

    .venv/bin/python bench/serving.py [--seconds 10] [--clients 16] [--calls 2000] [--skip-mlflow]

One small scikit-learn model (LogisticRegression, 10 features) and one XGBoost model (50 trees, depth 4),
trained here on synthetic data. In one run, for each model:

(a) latency, one client, sequential calls on one keep-alive connection, p50/p99 of:
    - ``model.predict`` in this process on the parsed row (XGBoost: ``booster.predict(DMatrix(row))``);
    - the model server of the endpoint's instance, directly (lean client, no openmaker in between);
    - openmaker ``POST /endpoints/<name>/invocations`` with a lean keep-alive client, SigV4-signed;
    - boto3 ``invoke_endpoint`` through openmaker (boto3's own signing, parsing, retries handler...).
    openmaker's overhead is (lean client through openmaker) - (``model.predict``): everything between
    the client's socket and the model (HTTP, SigV4 check, routing, the hop, CSV decode/JSON encode in
    the model server). Target: p50 overhead <= 2 ms.
(b) throughput, 16 concurrent keep-alive connections for ``--seconds`` after a warm-up, driven by one
    load generator (asyncio, raw HTTP/1.1, one process) against both servers:
    - openmaker: ``POST /endpoints/<name>/invocations``, SageMaker's CSV (one row, no header);
    - MLflow ``mlflow models serve`` of the same model: ``POST /invocations``, ``text/csv``, which MLflow
      reads with ``pandas.read_csv`` (so its payload is the same row under a header line).
    Target: openmaker's requests/s >= 1.5x MLflow's.

Signing (honest note): the lean client's requests are signed with botocore's ``SigV4Auth`` *before*
each timed run (one signed request per client, re-signed for every run, so always within the
15-minute window), then sent as is. The server verifies every request in full (it keeps no cache of
verified signatures), so its work is exactly that of freshly signed requests; only the client's
signing CPU (printed, per request) is kept off the 2 cores the servers share with the client.
``--sign-each`` signs every request with ``SigV4Auth`` inside the timed loop instead.

MLflow lives in its own cached virtualenv (``~/.cache/openmaker-bench/mlflow-<hash>``, made with uv,
never a dependency of openmaker); it is started as a subprocess and stopped by its pid (its process
group) at the end. openmaker is started in a temp data directory (loopback, SigV4 on), the models are
deployed with the SageMaker images (``sagemaker-scikit-learn`` with ``model.joblib``;
``sagemaker-xgboost:1.7-1`` with ``xgboost-model`` and no script), one instance each.
``--profile DIR`` records py-spy profiles (collapsed stacks, ``-f raw``: feed them to flamegraph.pl
or speedscope) of the gateway, the instance and MLflow during the load runs (py-spy in the venv:
``.venv/bin/uv pip install py-spy``). Beside req/s, the load runs report each server process's CPU
time per request (user + system, from psutil), which stays meaningful on a busy machine where
wall-clock rates do not.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serverutil import REGION, RunningServer, free_port, start_server

TARGET_OVERHEAD_MS = 2.0
TARGET_RATIO = 1.5
FEATURES = 10
ROLE = "arn:aws:iam::000000000000:role/bench"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "openmaker-bench"


# --- models ----------------------------------------------------------------------------------------


@dataclass
class BenchModel:
    name: str  # also the endpoint's name
    image: str
    artifact: Path  # the file inside model.tar.gz (model.joblib / xgboost-model)
    predict: object  # row (1 x FEATURES float64) -> prediction, in this process


def train_models(work: Path) -> list[BenchModel]:
    import joblib
    import xgboost as xgb
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    x = rng.normal(size=(2000, FEATURES))
    y = (x @ rng.normal(size=FEATURES) + rng.normal(scale=0.5, size=2000) > 0).astype(int)
    sk = LogisticRegression(max_iter=200).fit(x, y)
    sk_path = work / "sklearn" / "model.joblib"
    sk_path.parent.mkdir(parents=True)
    joblib.dump(sk, sk_path)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
        xgb.DMatrix(x, label=y),
        num_boost_round=50,
    )
    xgb_path = work / "xgboost" / "xgboost-model"
    xgb_path.parent.mkdir(parents=True)
    booster.save_model(str(xgb_path))
    loaded = xgb.Booster()
    loaded.load_model(str(xgb_path))
    # One thread: for one row OpenMP's fork/join only adds time (and, on a busy machine, spikes), so
    # this is the lowest honest baseline.
    loaded.set_param({"nthread": 1})
    return [
        BenchModel("bench-sklearn", SKLEARN_IMAGE, sk_path, joblib.load(sk_path).predict),
        BenchModel(
            "bench-xgboost",
            XGBOOST_IMAGE,
            xgb_path,
            lambda row: loaded.predict(xgb.DMatrix(row, nthread=1), validate_features=False),
        ),
    ]


def model_tar(path: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(path, arcname=path.name)
    return buffer.getvalue()


# --- MLflow in its own virtualenv ------------------------------------------------------------------


def mlflow_requirements() -> list[str]:
    """Same scikit-learn and xgboost as here, so both servers load the very same artifacts."""
    import sklearn
    import xgboost

    return ["mlflow", f"scikit-learn=={sklearn.__version__}", f"xgboost=={xgboost.__version__}", "pandas"]


def mlflow_env() -> Path:
    requirements = mlflow_requirements()
    key = hashlib.sha256(json.dumps([sys.version_info[:2], requirements]).encode()).hexdigest()[:12]
    venv = CACHE / f"mlflow-{key}"
    done = venv / ".openmaker-bench-complete"
    if done.exists():
        return venv
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to make the MLflow virtualenv (it is in openmaker's .venv)")
    print(f"making the MLflow virtualenv {venv} ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    subprocess.run(
        [uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), *requirements], check=True
    )
    done.write_text("\n".join(requirements) + "\n")
    return venv


SAVE_MLFLOW = """
import sys, joblib, mlflow.sklearn, mlflow.xgboost, xgboost
sk, xg, out = sys.argv[1:4]
mlflow.sklearn.save_model(joblib.load(sk), out + "/bench-sklearn", pip_requirements=["scikit-learn"])
booster = xgboost.Booster()
booster.load_model(xg)
mlflow.xgboost.save_model(booster, out + "/bench-xgboost", pip_requirements=["xgboost"])
"""


@dataclass
class MlflowServer:
    process: subprocess.Popen
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            # `mlflow models serve` runs uvicorn in a child; both are in the group led by this pid.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def server_pid(self) -> int:
        for child in psutil.Process(self.process.pid).children(recursive=True):
            if any("uvicorn" in part for part in child.cmdline()):
                return child.pid
        return self.process.pid


def start_mlflow(venv: Path, model_dir: Path, log: Path) -> MlflowServer:
    port = free_port()
    env = dict(
        os.environ,
        PATH=f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
        MLFLOW_TRACKING_URI=f"file://{log.parent}/mlruns",
    )
    env.pop("VIRTUAL_ENV", None)
    argv = [
        str(venv / "bin" / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = MlflowServer(process, port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mlflow models serve exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"mlflow models serve did not answer /ping:\n{log.read_text()[-3000:]}")


# --- a lean HTTP/1.1 keep-alive client -------------------------------------------------------------


class Connection:
    """One keep-alive connection speaking just enough HTTP/1.1 (Content-Length or chunked answers)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    async def call(self, raw: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length) if length else b""
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return status, b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def raw_request(method: str, host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Signer:
    """Signs InvokeEndpoint requests exactly as botocore does for sagemaker-runtime."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.auth = SigV4Auth(Credentials(server.access_key, server.secret_key), "sagemaker", REGION)

    def request(self, endpoint: str, body: bytes, content_type: str = "text/csv") -> bytes:
        path = f"/endpoints/{endpoint}/invocations"
        request = AWSRequest(
            "POST",
            f"http://127.0.0.1:{self.server.port}{path}",
            data=body,
            headers={"Content-Type": content_type},
        )
        self.auth.add_auth(request)
        headers = {name: value for name, value in request.headers.items()}
        return raw_request("POST", "127.0.0.1", self.server.port, path, headers, body)


@dataclass
class Target:
    """Where the load goes: a port and a way to make the next request's bytes."""

    port: int
    make: object  # () -> bytes


def run_loop(coro):
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


async def _sequential(target: Target, calls: int, warmup: int) -> list[float]:
    conn = await Connection("127.0.0.1", target.port).open()
    samples = []
    try:
        for index in range(warmup + calls):
            raw = target.make()
            started = time.perf_counter()
            status, body = await conn.call(raw)
            elapsed = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(f"{status}: {body[:300]!r}")
            if index >= warmup:
                samples.append(elapsed)
    finally:
        conn.close()
    return samples


@dataclass
class LoadResult:
    rate: float  # requests per second in the measured window
    samples: list[float]  # latencies of the requests sent and answered in it
    cpu_us: dict[str, float]  # CPU time (user + system) per request of each server process


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    total = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
            total[name] = times.user + times.system
        except psutil.NoSuchProcess:
            total[name] = 0.0
    return total


async def _load(
    target: Target, clients: int, seconds: float, warmup: float, pids: dict[str, int]
) -> LoadResult:
    conns = [await Connection("127.0.0.1", target.port).open() for _ in range(clients)]
    samples: list[float] = []
    counted = [0]
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + seconds

    async def worker(conn: Connection) -> None:
        while True:
            raw = target.make()
            sent = time.perf_counter()
            if sent >= end:
                return
            status, body = await conn.call(raw)
            done = time.perf_counter()
            if status != 200:
                raise RuntimeError(f"{status}: {body[:300]!r}")
            if sent >= measure_from and done <= end:
                samples.append(done - sent)
                counted[0] += 1

    async def meter() -> dict[str, float]:
        await asyncio.sleep(warmup)
        before = cpu_seconds(pids)
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        after = cpu_seconds(pids)
        return {name: after[name] - before[name] for name in pids}

    try:
        used, *_ = await asyncio.gather(meter(), *(worker(c) for c in conns))
    finally:
        for conn in conns:
            conn.close()
    count = max(1, counted[0])
    return LoadResult(counted[0] / seconds, samples, {name: cpu / count * 1e6 for name, cpu in used.items()})


def sequential(target: Target, calls: int, warmup: int = 200) -> list[float]:
    return run_loop(_sequential(target, calls, warmup))


def load(target: Target, clients: int, seconds: float, warmup: float, pids: dict[str, int]) -> LoadResult:
    return run_loop(_load(target, clients, seconds, warmup, pids))


# --- measurements ----------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if q == 50:
        return statistics.median(ordered) * 1000
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] * 1000


def timed_calls(fn, calls: int, warmup: int = 200) -> list[float]:
    samples = []
    for index in range(warmup + calls):
        started = time.perf_counter()
        fn()
        if index >= warmup:
            samples.append(time.perf_counter() - started)
    return samples


def deploy(server: RunningServer, models: list[BenchModel]) -> None:
    s3, sm = server.client("s3"), server.client("sagemaker")
    s3.create_bucket(Bucket="bench")
    for model in models:
        key = f"{model.name}/model.tar.gz"
        s3.put_object(Bucket="bench", Key=key, Body=model_tar(model.artifact))
        sm.create_model(
            ModelName=model.name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": model.image, "ModelDataUrl": f"s3://bench/{key}"},
        )
        sm.create_endpoint_config(
            EndpointConfigName=model.name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model.name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName=model.name, EndpointConfigName=model.name)
    for model in models:
        while True:
            status = sm.describe_endpoint(EndpointName=model.name)
            if status["EndpointStatus"] == "InService":
                break
            if status["EndpointStatus"] == "Failed":
                raise RuntimeError(f"{model.name}: {status.get('FailureReason')}")
            time.sleep(0.2)


def instance_ports(server: RunningServer) -> dict[str, tuple[int, int]]:
    """Endpoint model servers under the openmaker process: framework name -> (port, pid)."""
    found = {}
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            environ = child.environ()
            cmdline = child.cmdline()
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if "SAGEMAKER_BIND_TO_PORT" not in environ or not cmdline or "python" not in Path(cmdline[0]).name:
            continue
        kind = environ.get("OPENMAKER_ALGORITHM") or environ.get("OPENMAKER_FRAMEWORK") or "?"
        found[kind] = (int(environ["SAGEMAKER_BIND_TO_PORT"]), child.pid)
    return found


class Profiler:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen] = []

    def start(self, label: str, pids: dict[str, int], seconds: float) -> None:
        if self.directory is None:
            return
        py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            out = self.directory / f"{label}-{name}.txt"
            self.processes.append(
                subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "-o",
                        str(out),
                        "-d",
                        str(int(seconds)),
                        "-r",
                        "100",
                        "-f",
                        "raw",
                        "--pid",
                        str(pid),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def wait(self) -> None:
        for process in self.processes:
            process.wait()
        self.processes.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each throughput run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up before each throughput run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per latency series")
    parser.add_argument("--skip-mlflow", action="store_true", help="openmaker only (quick iterations)")
    parser.add_argument("--sign-each", action="store_true", help="sign every request inside the timed loop")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write py-spy profiles (raw collapsed stacks) here"
    )
    args = parser.parse_args()

    row = np.random.default_rng(11).normal(size=(1, FEATURES)).round(6)
    csv_row = ",".join(str(v) for v in row[0]).encode()
    mlflow_csv = (",".join(f"f{i}" for i in range(FEATURES)) + "\n").encode() + csv_row

    work = Path(tempfile.mkdtemp(prefix="openmaker-bench-serving-"))
    server: RunningServer | None = None
    mlflow: MlflowServer | None = None
    profiler = Profiler(args.profile)
    results: dict[str, dict[str, object]] = {}
    try:
        models = train_models(work)
        venv = None if args.skip_mlflow else mlflow_env()
        if venv is not None:
            subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    "-c",
                    SAVE_MLFLOW,
                    str(models[0].artifact),
                    str(models[1].artifact),
                    str(work / "mlflow"),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        server = start_server(work / "home")
        deploy(server, models)
        ports = instance_ports(server)
        signer = Signer(server)
        runtime = server.client("sagemaker-runtime")
        started = time.perf_counter()
        for _ in range(200):
            signer.request(models[0].name, csv_row)
        sign_us = (time.perf_counter() - started) / 200 * 1e6
        print(
            f"openmaker server pid {server.process.pid}; instances {ports}; "
            f"botocore SigV4Auth signing: {sign_us:.0f} us/request (client side)",
            flush=True,
        )

        for model in models:
            kind = "sklearn" if "sklearn" in model.name else "xgboost"
            port, instance_pid = ports[kind]
            res = results.setdefault(model.name, {})
            # (a) latency
            res["predict"] = timed_calls(lambda m=model: m.predict(row), args.calls)
            direct = raw_request(
                "POST", "127.0.0.1", port, "/invocations", {"Content-Type": "text/csv"}, csv_row
            )
            res["instance"] = sequential(Target(port, lambda d=direct: d), args.calls)
            if args.sign_each:
                make = lambda m=model: signer.request(m.name, csv_row)  # noqa: E731
            else:
                signed = signer.request(model.name, csv_row)
                make = lambda s=signed: s  # noqa: E731
            res["lean"] = sequential(Target(server.port, make), args.calls)
            res["boto3"] = timed_calls(
                lambda m=model: runtime.invoke_endpoint(
                    EndpointName=m.name, Body=csv_row, ContentType="text/csv"
                )["Body"].read(),
                args.calls,
            )
            # (b) throughput
            if not args.sign_each:
                signed = signer.request(model.name, csv_row)  # fresh for this run
                make = lambda s=signed: s  # noqa: E731
            pids = {"gateway": server.process.pid, "instance": instance_pid}
            profiler.start(model.name, pids, args.warmup + args.seconds)
            res["om_load"] = load(Target(server.port, make), args.clients, args.seconds, args.warmup, pids)
            profiler.wait()
            print(f"{model.name}: openmaker {res['om_load'].rate:.0f} req/s", flush=True)

        server.stop()  # the two servers never share the machine's two cores
        if venv is not None:
            for model in models:
                mlflow = start_mlflow(venv, work / "mlflow" / model.name, work / f"mlflow-{model.name}.log")
                request = raw_request(
                    "POST", "127.0.0.1", mlflow.port, "/invocations", {"Content-Type": "text/csv"}, mlflow_csv
                )
                target = Target(mlflow.port, lambda r=request: r)
                sequential(target, 20, warmup=0)  # answers 200 before the clock starts
                pids = {"mlflow": mlflow.server_pid()}
                profiler.start(f"mlflow-{model.name}", pids, args.warmup + args.seconds)
                results[model.name]["mlflow_load"] = load(
                    target, args.clients, args.seconds, args.warmup, pids
                )
                profiler.wait()
                mlflow.stop()
                mlflow = None
                print(f"{model.name}: mlflow {results[model.name]['mlflow_load'].rate:.0f} req/s", flush=True)
    finally:
        if mlflow is not None:
            mlflow.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(results, args)


def report(results: dict[str, dict[str, object]], args: argparse.Namespace) -> None:
    signing = (
        "signed per request in the loop" if args.sign_each else "pre-signed with SigV4Auth before the run"
    )
    print()
    print(f"(a) latency, 1 client, {args.calls} sequential calls (ms)      p50       p99")
    verdicts = []
    for name, res in results.items():
        print(f"  {name}")
        for key, label in (
            ("predict", "model.predict in-process"),
            ("instance", "model server directly (lean client)"),
            ("lean", "openmaker, lean signed client"),
            ("boto3", "openmaker, boto3 invoke_endpoint"),
        ):
            samples = res[key]
            print(f"    {label:<44}{pct(samples, 50):8.3f}  {pct(samples, 99):8.3f}")
        overhead = pct(res["lean"], 50) - pct(res["predict"], 50)
        gateway = pct(res["lean"], 50) - pct(res["instance"], 50)
        ok = overhead <= TARGET_OVERHEAD_MS
        verdicts.append(ok)
        print(
            f"    openmaker overhead p50 (lean - predict): {overhead:.3f} ms "
            f"(of which the gateway in front of the model server: {gateway:.3f} ms) "
            f"-> target <= {TARGET_OVERHEAD_MS} ms {'MET' if ok else 'MISSED'}"
        )
    print()
    print(
        f"(b) throughput, {args.clients} keep-alive clients, {args.seconds:.0f} s after {args.warmup:.0f} s warm-up "
        f"(openmaker requests {signing})"
    )
    print(f"  {'':<16}{'server':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}   server CPU per request")
    for name, res in results.items():
        rows = [("openmaker", res["om_load"])]
        if "mlflow_load" in res:
            rows.append(("mlflow", res["mlflow_load"]))
        for label, result in rows:
            cpu = ", ".join(f"{who} {us:.0f} us" for who, us in result.cpu_us.items())
            if len(result.cpu_us) > 1:
                cpu += f" (total {sum(result.cpu_us.values()):.0f} us)"
            print(
                f"  {name:<16}{label:<12}{result.rate:9.0f}{pct(result.samples, 50):9.2f}"
                f"{pct(result.samples, 99):9.2f}   {cpu}"
            )
        if "mlflow_load" in res:
            ratio = res["om_load"].rate / res["mlflow_load"].rate
            ok = ratio >= TARGET_RATIO
            verdicts.append(ok)
            print(
                f"  {name:<16}openmaker / mlflow = {ratio:.2f}x -> target >= {TARGET_RATIO}x {'MET' if ok else 'MISSED'}"
            )
    print()
    print("all targets met" if all(verdicts) else "some targets missed")


if __name__ == "__main__":
    main()
