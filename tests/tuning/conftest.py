"""Fixtures for the tuning tests: the SDK session and role of the algorithm tests, the SMS spam data as the
built-in XGBoost's CSV in S3."""

from __future__ import annotations

import numpy as np
import pytest

from algorithms.algodata import csv_text, spam_matrix
from algorithms.conftest import role, sdk  # noqa: F401  (fixtures shared with the algorithm tests)


@pytest.fixture(scope="session")
def spam(datasets) -> tuple[np.ndarray, np.ndarray]:
    """SMS spam (hashed word counts, label first): 80% train, 20% validation, in file order."""
    rows = spam_matrix(datasets)
    cut = int(len(rows) * 0.8)
    return rows[:cut], rows[cut:]


@pytest.fixture(scope="session")
def spam_s3(server, s3, spam) -> dict[str, str]:
    bucket = "tuning-data"
    s3.create_bucket(Bucket=bucket)
    train, validation = spam
    s3.put_object(Bucket=bucket, Key="spam/train/train.csv", Body=csv_text(train).encode())
    s3.put_object(Bucket=bucket, Key="spam/validation/validation.csv", Body=csv_text(validation).encode())
    return {"bucket": bucket, "train": f"s3://{bucket}/spam/train/", "validation": f"s3://{bucket}/spam/validation/",
            "output": f"s3://{bucket}/out"}


@pytest.fixture(scope="session")
def sm(server):
    return server.client("sagemaker")
