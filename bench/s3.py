"""S3 through openmaker compared with the local disk.

    .venv/bin/python bench/s3.py [--size-mb 1024] [--seconds 5] [--clients 8] [--dir /path/on/disk]

Starts its own server (temp data directory, loopback, SigV4 on) and measures, in this one process:

(a) the local-disk baseline: ``shutil.copyfile`` of a file of the chosen size (source warm in the page
    cache, destination written to the page cache and not fsynced — the server does not fsync either
    unless OPENMAKER_FSYNC=1);
(b) PUT (boto3 ``upload_file``) and GET (``download_file``) of the same file through the server, as a
    ratio to (a), with boto3's defaults and with the fastest honest client configuration;
(b') the same tuned transfers against a "null" S3 (``bench/nulls3.py``: PUT bodies discarded, GET by
    ``sendfile``): the client's own ceiling on this machine, which no server can beat;
(b'') MD5 of the file on one core: S3's ETag needs it for every PUT byte, so on 2 cores a PUT cannot go
    faster than twice this, whatever the server;
(c) 1 KiB PutObject and GetObject rates with N concurrent clients (threads, one boto3 client each);
(d) the server process's peak RSS (psutil, sampled every 50 ms) during the large transfers.

Targets: large-object throughput >= 50% of the local copy; server RSS < 200 MB. Everything it creates
is removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import psutil
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from serverutil import RunningServer, start_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nulls3 import NullS3

MiB = 1024 * 1024
TARGET_RATIO = 0.5
TARGET_RSS_MB = 200


class RssSampler:
    """Peak RSS of a process (and its children) sampled every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._rss())
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], object], repeat: int = 2) -> float:
    """Best wall time of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * MiB)
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, len(block))
            out.write(block[:n] if n < len(block) else block)
            left -= n
            block = block[1:] + block[:1] if left else block  # no two blocks identical


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(16 * MiB):
            pass


def client(server: RunningServer, config: Config | None = None):
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key, region_name="us-east-1", config=config)


def small_objects(server: RunningServer, bucket: str, clients: int, seconds: float) -> tuple[float, float]:
    body = os.urandom(1024)
    config = Config(retries={"max_attempts": 1}, request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    s3s = [client(server, config) for _ in range(clients)]
    written: list[list[str]] = [[] for _ in range(clients)]

    def put_loop(n: int, deadline: float) -> int:
        count = 0
        while time.perf_counter() < deadline:
            key = f"small/{n}/{count:07d}"
            s3s[n].put_object(Bucket=bucket, Key=key, Body=body)
            written[n].append(key)
            count += 1
        return count

    def get_loop(n: int, deadline: float) -> int:
        count, keys = 0, written[n]
        while time.perf_counter() < deadline:
            data = s3s[n].get_object(Bucket=bucket, Key=keys[count % len(keys)])["Body"].read()
            assert len(data) == 1024
            count += 1
        return count

    rates = []
    for loop in (put_loop, get_loop):
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            counts = list(pool.map(lambda n, f=loop, d=start + seconds: f(n, d), range(clients)))
        rates.append(sum(counts) / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="large object size (MiB)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each small-object run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent small-object clients")
    parser.add_argument("--concurrency", type=int, default=8, help="TransferConfig.max_concurrency (tuned)")
    parser.add_argument("--chunk-mb", type=int, default=16, help="multipart chunk size (tuned)")
    parser.add_argument("--dir", default=None, help="where to put the temp files and the server's data")
    args = parser.parse_args()
    size = args.size_mb * MiB

    work = Path(tempfile.mkdtemp(prefix="openmaker-bench-", dir=args.dir))
    server = None
    try:
        server = start_server(work / "home")
        print(f"server pid {server.process.pid} at {server.endpoint}; data in {work}")
        src, dst = work / "source.bin", work / "copy.bin"
        make_file(src, size)
        warm(src)

        rows: list[tuple[str, float, float | None, int | None]] = []

        # (a) local disk baseline
        local = timed(lambda: shutil.copyfile(src, dst))
        dst.unlink()
        rows.append(("local shutil.copyfile", size / local / MiB, None, None))
        # every PUT byte is MD5-hashed for the ETag: one core's MD5 rate bounds what a server can take in
        md5 = timed(lambda: md5_file(src))
        rows.append(("MD5 of the file, one core (ETag cost)", size / md5 / MiB, local / md5, None))

        # (b) large objects through the server
        s3 = client(server)
        s3.create_bucket(Bucket="bench")
        defaults = (Config(), TransferConfig())
        tuned = (
            Config(s3={"payload_signing_enabled": False}, request_checksum_calculation="when_required",
                   response_checksum_validation="when_required", max_pool_connections=args.concurrency * 2,
                   retries={"max_attempts": 1}),
            TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=args.chunk_mb * MiB,
                           max_concurrency=args.concurrency, use_threads=True),
        )
        for label, (config, transfer) in (("boto3 defaults", defaults), ("tuned", tuned)):
            c = client(server, config)
            warm(src)
            with RssSampler(server.process.pid) as put_rss:
                put = timed(lambda c=c, t=transfer: c.upload_file(str(src), "bench", "large.bin", Config=t))
            head = c.head_object(Bucket="bench", Key="large.bin")
            assert head["ContentLength"] == size, head
            with RssSampler(server.process.pid) as get_rss:
                get = timed(lambda c=c, t=transfer: c.download_file("bench", "large.bin", str(dst), Config=t))
            assert dst.stat().st_size == size
            dst.unlink()
            rows.append((f"PUT upload_file, {label}", size / put / MiB, local / put, put_rss.peak))
            rows.append((f"GET download_file, {label}", size / get / MiB, local / get, get_rss.peak))
            s3.delete_object(Bucket="bench", Key="large.bin")

        # (b') the client's ceiling: the tuned transfers against a server that does no work
        with NullS3(src) as null:
            c = boto3.client("s3", endpoint_url=null.endpoint, config=tuned[0], aws_access_key_id="x",
                             aws_secret_access_key="x", region_name="us-east-1")
            warm(src)
            put = timed(lambda: c.upload_file(str(src), "bench", "large.bin", Config=tuned[1]))
            get = timed(lambda: c.download_file("bench", "large.bin", str(dst), Config=tuned[1]))
            assert dst.stat().st_size == size
            dst.unlink()
            rows.append(("PUT, tuned, null server (ceiling)", size / put / MiB, local / put, None))
            rows.append(("GET, tuned, null server (ceiling)", size / get / MiB, local / get, None))

        # (c) small objects
        with RssSampler(server.process.pid) as small_rss:
            put_rate, get_rate = small_objects(server, "bench", args.clients, args.seconds)

        print()
        print(f"large object: {args.size_mb} MiB, source file warm in the page cache, no fsync anywhere")
        print(f"tuned client: Config(s3={{'payload_signing_enabled': False}}, request_checksum_calculation="
              f"'when_required', response_checksum_validation='when_required', max_pool_connections="
              f"{args.concurrency * 2}); TransferConfig(multipart_chunksize={args.chunk_mb} MiB, "
              f"max_concurrency={args.concurrency})")
        print()
        print(f"{'measurement':38} {'MiB/s':>9} {'vs local':>9} {'target':>8} {'peak RSS':>10} {'< 200 MB':>9}")
        print("-" * 88)
        for name, rate, ratio, rss in rows:
            ratio_s = f"{ratio:8.0%}" if ratio is not None else ""
            ok = ("yes" if ratio >= TARGET_RATIO else "NO") if ratio is not None else ""
            rss_s = f"{rss / MiB:7.0f} MB" if rss else ""
            rss_ok = ("yes" if rss / MiB < TARGET_RSS_MB else "NO") if rss else ""
            print(f"{name:38} {rate:9.1f} {ratio_s:>9} {ok:>8} {rss_s:>10} {rss_ok:>9}")
        print("-" * 88)
        print(f"{'1 KiB PutObject, ' + str(args.clients) + ' clients':38} {put_rate:9.0f} ops/s")
        print(f"{'1 KiB GetObject, ' + str(args.clients) + ' clients':38} {get_rate:9.0f} ops/s"
              f"   (peak RSS {small_rss.peak / MiB:.0f} MB)")
        tuned_rows = [r for r in rows if r[0].endswith("tuned")]
        ceiling = {r[0].split(",")[0]: r[1] for r in rows if r[0].endswith("(ceiling)")}
        for row in tuned_rows:
            verb = row[0].split()[0]
            print(f"{row[0]}: {row[1] / ceiling[verb]:.0%} of what the same client reaches against the null server")
        met = all(r[2] >= TARGET_RATIO for r in tuned_rows)
        rss_met = all(r[3] / MiB < TARGET_RSS_MB for r in rows if r[3])
        print()
        print(f"target large-object throughput >= {TARGET_RATIO:.0%} of local copy (tuned client): "
              f"{'met' if met else 'MISSED'}")
        print(f"target server RSS < {TARGET_RSS_MB} MB during large transfers: {'met' if rss_met else 'MISSED'}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
