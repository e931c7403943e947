"""What the bench scripts share: where things are, the real data sets as arrays, waiting for a job.

Importing it puts ``tests/`` (the server helper) and ``tests/algorithms/`` (data helpers) on the path, so
a script does ``from benchkit import DATASETS, ROLE, start_server, wait``.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "algorithms")]
from serverutil import start_server  # noqa: E402  (tests/ holds the server helper)

DATASETS = Path(os.environ.get("OPENMAKER_DATASETS", ROOT.parent / "shared" / "datasets"))
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
GENRES = ("Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")
TERMINAL = ("Completed", "Failed", "Stopped")

__all__ = ["DATASETS", "GENRES", "ROLE", "ROOT", "mnist", "model_dir", "movielens", "start_server", "wait"]


def wait(describe: Callable[..., dict], key: str, name: str) -> dict:
    """Describe a training or transform job until it ends; anything but Completed stops the bench."""
    while True:
        job = describe(**{key: name})
        status = job.get("TrainingJobStatus") or job.get("TransformJobStatus")
        if status in TERMINAL:
            if status != "Completed":
                raise SystemExit(f"{name}: {status}: {job.get('FailureReason')}")
            return job
        time.sleep(0.1)


def movielens(label_scale: float = 1.0) -> np.ndarray:
    """The Studio tutorial's rows (label = rating / ``label_scale``, userId, movieId, timestamp, 18 genre
    indicators), shuffled with its seed (1729)."""
    genres = {}
    with open(DATASETS / "movielens-small" / "movies.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names = set(row["genres"].split("|"))
            genres[int(row["movieId"])] = [1.0 if g in names else 0.0 for g in GENRES]
    rows = []
    with open(DATASETS / "movielens-small" / "ratings.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            movie = int(row["movieId"])
            rows.append([float(row["rating"]) / label_scale, float(row["userId"]), float(movie),
                         float(row["timestamp"]), *genres.get(movie, [0.0] * len(GENRES))])
    data = np.array(rows)
    return data[np.random.default_rng(1729).permutation(len(data))]


def mnist() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set: (10,000 x 784 uint8 pixels, 10,000 uint8 labels)."""
    images = gzip.decompress((DATASETS / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((DATASETS / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    return (np.frombuffer(images, dtype=np.uint8, offset=16).reshape(-1, 784),
            np.frombuffer(labels, dtype=np.uint8, offset=8))


def model_dir(s3, model_data: str, target: Path) -> Path:
    """A job's ``model.tar.gz`` unpacked into ``target``."""
    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        target.mkdir(parents=True, exist_ok=True)
        tar.extractall(target, filter="data")
    return target
