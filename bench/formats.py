"""RecordIO-protobuf decoding speed vs numpy's own copy of the same array (a lower bound).

    .venv/bin/python bench/formats.py [--rows 100000] [--features 50]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from openmaker.runtimes.formats.protobuf import encode_dense, read_protobuf


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.rows, args.features), dtype=np.float32)
    y = rng.random(args.rows)
    data = encode_dense(x, y)
    copy = best_of(lambda: x.copy())
    decode = best_of(lambda: read_protobuf(data))
    encode = best_of(lambda: encode_dense(x, y), repeat=2)
    print(f"{args.rows:,} dense records x {args.features} float32 features ({len(data) / 2**20:.1f} MiB)")
    print(f"  numpy copy (baseline)  {copy * 1000:8.1f} ms")
    print(f"  read_protobuf          {decode * 1000:8.1f} ms   ({decode / copy:.1f}x the copy)")
    print(f"  encode_dense           {encode * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
