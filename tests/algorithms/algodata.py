"""Real data sets in the built-in algorithms' CSV form (label first, no header), and a job's log text."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def spam_matrix(datasets: Path, features: int = 64) -> np.ndarray:
    """The UCI SMS Spam Collection as [label, hashed word counts…] rows (spam = 1), in file order."""
    from sklearn.feature_extraction.text import HashingVectorizer

    lines = (datasets / "sms-spam" / "SMSSpamCollection").read_text(encoding="utf-8").splitlines()
    labels = np.array([1.0 if line.split("\t", 1)[0] == "spam" else 0.0 for line in lines])
    texts = [line.split("\t", 1)[1] for line in lines]
    counts = HashingVectorizer(n_features=features, alternate_sign=False, norm=None).transform(texts).toarray()
    return np.column_stack([labels, counts])


def csv_text(rows: np.ndarray) -> str:
    return "".join(",".join(f"{value:g}" for value in row) + "\n" for row in rows)


def log_text(server, job_name: str) -> str:
    """Every CloudWatch log line of a training job, all hosts, in stream order."""
    logs = server.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    lines = []
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job_name + "/")["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)
        lines += [event["message"] for event in events["events"]]
    return "\n".join(lines)
