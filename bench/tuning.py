"""Bayesian vs Random hyperparameter tuning through openmaker, on real training jobs.

Task: the built-in XGBoost (``sagemaker-xgboost:1.7-1``) on the SMS spam collection as hashed word counts
(64 features, label first, 80 % train / 20 % validation), objective ``validation:auc`` (Maximize), over the
book's ranges (lambda 0-1000, max_depth 3-7, eta 0.1-0.5) plus alpha 0-1000 and min_child_weight 1-20
(log) - five dimensions, so the search has something to learn.

For each of ``--seeds`` seeds (RandomSeed) and each strategy, one tuning job of ``--trials`` trials
(MaxParallelTrainingJobs ``--parallel``). The best objective among the first N trials (in creation order)
is averaged over the seeds for N = 10, 15, 20, 30. Target: Bayesian's mean best at 15 trials >= Random's
at 30.

Control-plane overhead per trial, from the children's own timestamps: how long a child waits from
CreationTime to TrainingStartTime, and how long the tuner takes from a child's end to the next child's
creation (its reaction time), both as means.

Starts its own server (temp home, loopback). Usage: ``python bench/tuning.py [--seeds 5] [--trials 30]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchkit import DATASETS, ROLE, start_server

# isort: split
from algodata import csv_text, spam_matrix

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "bench-tuning"
CHECKPOINTS = (10, 15, 20, 30)
RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "lambda", "MinValue": "0", "MaxValue": "1000", "ScalingType": "Auto"},
        {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"},
        {"Name": "alpha", "MinValue": "0", "MaxValue": "1000", "ScalingType": "Auto"},
        {"Name": "min_child_weight", "MinValue": "1", "MaxValue": "20", "ScalingType": "Logarithmic"},
    ],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "7", "ScalingType": "Auto"}],
}


def upload(s3) -> dict[str, str]:
    rows = spam_matrix(DATASETS)
    cut = int(len(rows) * 0.8)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="train/train.csv", Body=csv_text(rows[:cut]).encode())
    s3.put_object(Bucket=BUCKET, Key="validation/validation.csv", Body=csv_text(rows[cut:]).encode())
    return {"train": f"s3://{BUCKET}/train/", "validation": f"s3://{BUCKET}/validation/"}


def definition(channels: dict[str, str], rounds: int) -> dict:
    return {
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "StaticHyperParameters": {"objective": "binary:logistic", "eval_metric": "auc", "num_round": str(rounds)},
        "InputDataConfig": [
            {"ChannelName": name, "ContentType": "text/csv",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                             "S3DataDistributionType": "FullyReplicated"}}}
            for name, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def tune(sagemaker, name: str, strategy: str, seed: int, trials: int, parallel: int, job: dict) -> list[dict]:
    """Run one tuning job to the end; its children in creation order."""
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": strategy, "RandomSeed": seed, "ParameterRanges": RANGES,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": parallel},
            "TrainingJobEarlyStoppingType": "Off",
        },
        TrainingJobDefinition=job,
    )
    while True:
        status = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if status["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(1.0)
    children: list[dict] = []
    kwargs = {"HyperParameterTuningJobName": name, "MaxResults": 100}
    while True:
        page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(**kwargs)
        children += page["TrainingJobSummaries"]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return sorted(children, key=lambda child: child["CreationTime"])


def best_after(children: list[dict], n: int) -> float:
    values = [child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for child in children[:n]
              if child.get("FinalHyperParameterTuningJobObjectiveMetric")]
    return max(values) if values else float("nan")


def overheads(children: list[dict]) -> tuple[list[float], list[float]]:
    """(creation -> start waits, end -> next creation gaps) in seconds."""
    starts = [(c["TrainingStartTime"] - c["CreationTime"]).total_seconds() for c in children
              if c.get("TrainingStartTime")]
    ends = sorted(c["TrainingEndTime"] for c in children if c.get("TrainingEndTime"))
    creations = [c["CreationTime"] for c in children]
    gaps = []
    for end in ends:
        following = [created for created in creations if created >= end]
        if following:
            gaps.append((min(following) - end).total_seconds())
    return starts, gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=2, help="MaxParallelTrainingJobs (2 cores here)")
    parser.add_argument("--rounds", type=int, default=30, help="XGBoost num_round of every trial")
    args = parser.parse_args()
    checkpoints = [n for n in CHECKPOINTS if n <= args.trials]

    work = Path(tempfile.mkdtemp(prefix="openmaker-bench-tuning-"))
    server = None
    try:
        server = start_server(work / "home")
        sagemaker = server.client("sagemaker")
        job = definition(upload(server.client("s3")), args.rounds)
        results: dict[str, list[list[float]]] = {"Bayesian": [], "Random": []}
        waits: list[float] = []
        gaps: list[float] = []
        started = time.monotonic()
        for seed in range(1, args.seeds + 1):
            for strategy in results:
                name = f"bench-{strategy.lower()}-{seed}"
                children = tune(sagemaker, name, strategy, seed, args.trials, args.parallel, job)
                results[strategy].append([best_after(children, n) for n in checkpoints])
                seed_waits, seed_gaps = overheads(children)
                waits += seed_waits
                gaps += seed_gaps
                print(f"seed {seed} {strategy:8} " + "  ".join(
                    f"best@{n}={value:.5f}" for n, value in zip(checkpoints, results[strategy][-1], strict=True)),
                    flush=True)
        elapsed = time.monotonic() - started

        print()
        print(f"XGBoost on SMS spam (64 hashed features), validation:auc, {args.trials} trials, parallel "
              f"{args.parallel}, {args.seeds} seeds, num_round {args.rounds}; {elapsed:.0f} s in all")
        print(f"{'strategy':10}" + "".join(f"{'best@' + str(n):>12}" for n in checkpoints))
        means = {}
        for strategy, rows in results.items():
            means[strategy] = np.nanmean(np.array(rows), axis=0)
            print(f"{strategy:10}" + "".join(f"{value:12.5f}" for value in means[strategy]))
        print()
        print(f"control plane per trial: creation -> training start {statistics.mean(waits):.3f} s (mean), "
              f"a child's end -> the next child's creation {statistics.mean(gaps) if gaps else 0:.3f} s (mean)")
        if 15 in checkpoints and args.trials in checkpoints:
            bayes15 = means["Bayesian"][checkpoints.index(15)]
            random_last = means["Random"][checkpoints.index(args.trials)]
            verdict = "met" if bayes15 >= random_last else "MISSED"
            print(f"target Bayesian mean best@15 ({bayes15:.5f}) >= Random mean best@{args.trials} "
                  f"({random_last:.5f}): {verdict}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
