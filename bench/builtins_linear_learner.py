"""Built-in Linear Learner through openmaker vs the same training called directly.

Data: MovieLens ml-latest-small as the Studio tutorial shapes it (100,836 ratings; label = rating, then
userId, movieId, timestamp and 18 genre indicators: 21 features), shuffled with its seed, 70 % train /
30 % validation, CSV with the label first.

(a) Training: wall time from CreateTrainingJob (``linear-learner:1``, ``predictor_type=regressor``,
    default hyperparameters: 32 parallel models, mini_batch_size 1000, 15 epochs, CSV channels train and
    validation) until DescribeTrainingJob reports Completed, against a direct script: the reference is
    **the same NumPy training loop called directly** (``openmaker.runtimes.algorithms.linear_learner.train``
    on the arrays, then ``model.save``), so the ratio is what the service adds (staging, process start,
    reading, packaging, polling). The script reads the CSV files the two ways users do, ``numpy.loadtxt``
    and ``pandas.read_csv`` (the job's reader imports pandas, which costs more than the training here), and
    each gives a ratio. Target: ratio <= 1.5. Each job's time is broken down from its log, and for scale the
    in-process training time, scikit-learn's ``SGDRegressor`` (one model, 15 epochs) and ``Ridge`` on the
    same rows are printed too.
(b) Batch transform: rows per second from CreateTransformJob (SplitType Line, MultiRecord, the validation
    features, Accept ``application/jsonlines``) until Completed, against ``model.predict`` on the same rows
    in this process.

Starts its own server (temp home, loopback). Usage: ``python bench/builtins_linear_learner.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchkit import ROLE, movielens, start_server, wait

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
BUCKET = "bench-linear-learner"
TARGET_RATIO = 1.5
HYPERPARAMETERS = {"predictor_type": "regressor", "feature_dim": "21"}
LOADERS = {  # how the direct script reads the CSV files: the two ways users do
    "numpy.loadtxt": 'np.loadtxt(path, delimiter=",")',
    "pandas.read_csv": "pd.read_csv(path, header=None).to_numpy(dtype=np.float64)",
}
DIRECT = """
import sys, numpy as np
from pathlib import Path
from openmaker.runtimes.algorithms import linear_learner
from openmaker.runtimes.algorithms.linear_learner.train import Data, train
if {pandas!r}:
    import pandas as pd
load = lambda path: {load}
train_rows = load(sys.argv[1])
valid_rows = load(sys.argv[2])
hps = linear_learner.validate({hyperparameters!r})
result = train(hps, Data("train", train_rows[:, 1:], train_rows[:, 0]),
               Data("validation", valid_rows[:, 1:], valid_rows[:, 0]))
result.model.save(Path(sys.argv[3]))
"""


def breakdown(server, name: str, created: float) -> str:
    """Where a job's time went, from its log events: start (staging, process, imports), reading the
    channels, training and saving, and what remained (packaging, upload, status polling)."""
    logs = server.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    events = []
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name + "/")["logStreams"]:
        events += logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                      startFromHead=True)["events"]
    stamps = {}
    for event in events:
        for key, marker in (("start", "Hyperparameters:"), ("read", "model(s) of"), ("saved", "Saved the model")):
            if marker in event["message"] and key not in stamps:
                stamps[key] = event["timestamp"] / 1000.0
    if len(stamps) < 3:
        return "breakdown unavailable"
    return (f"job start to first log line {stamps['start'] - created:.2f}s, reading channels "
            f"{stamps['read'] - stamps['start']:.2f}s, training+saving {stamps['saved'] - stamps['read']:.2f}s")


def references(data: np.ndarray, cut: int) -> None:
    """In-process training times: the algorithm's loop, scikit-learn's SGDRegressor and Ridge."""
    import contextlib
    import io

    from sklearn.linear_model import Ridge, SGDRegressor
    from sklearn.preprocessing import StandardScaler

    from openmaker.runtimes.algorithms import linear_learner
    from openmaker.runtimes.algorithms.linear_learner.train import Data, train

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        train(linear_learner.validate(HYPERPARAMETERS), Data("train", data[:cut, 1:], data[:cut, 0]),
              Data("validation", data[cut:, 1:], data[cut:, 0]))
    loop = time.perf_counter() - started
    X = StandardScaler().fit_transform(data[:cut, 1:])
    started = time.perf_counter()
    SGDRegressor(max_iter=15, tol=None, random_state=0).fit(X, data[:cut, 0])
    sgd = time.perf_counter() - started
    started = time.perf_counter()
    Ridge().fit(X, data[:cut, 0])
    ridge = time.perf_counter() - started
    print(f"in process: linear-learner train() {loop:.2f}s (32 models, validation every epoch); "
          f"sklearn SGDRegressor 15 epochs {sgd:.2f}s (1 model); Ridge {ridge:.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from openmaker.runtimes.algorithms.linear_learner.model import LinearLearnerModel

    work = Path(tempfile.mkdtemp(prefix="bench-ll-"))
    server = start_server(work / "home")
    try:
        data = movielens()
        cut = int(len(data) * 0.7)
        files = {"train": work / "train.csv", "validation": work / "validation.csv", "batch": work / "batch.csv"}
        np.savetxt(files["train"], data[:cut], delimiter=",", fmt="%.10g")
        np.savetxt(files["validation"], data[cut:], delimiter=",", fmt="%.10g")
        np.savetxt(files["batch"], data[cut:, 1:], delimiter=",", fmt="%.10g")
        print(f"MovieLens: {cut} train rows, {len(data) - cut} validation rows, {data.shape[1] - 1} features; "
              f"hyperparameters {HYPERPARAMETERS}")
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        for channel, path in files.items():
            s3.upload_file(str(path), BUCKET, f"{channel}/{path.name}")
        scripts = {}
        for loader, code in LOADERS.items():
            scripts[loader] = work / f"direct-{loader.split('.')[0]}.py"
            scripts[loader].write_text(DIRECT.format(hyperparameters=HYPERPARAMETERS, load=code,
                                                     pandas=code.startswith("pd.")))
        (work / "direct-model").mkdir()

        direct: dict[str, list[float]] = {loader: [] for loader in LOADERS}
        built_in = []
        for attempt in range(args.repeat):
            for loader, script in scripts.items():
                started = time.perf_counter()
                subprocess.run([sys.executable, str(script), str(files["train"]), str(files["validation"]),
                                str(work / "direct-model")], check=True, stdout=subprocess.DEVNULL)
                direct[loader].append(time.perf_counter() - started)
            name = f"bench-ll-{attempt}"
            started, created = time.perf_counter(), time.time()
            sm.create_training_job(
                TrainingJobName=name, RoleArn=ROLE, HyperParameters=HYPERPARAMETERS,
                AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                InputDataConfig=[{"ChannelName": c, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{c}/"}}} for c in ("train", "validation")],
                OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
            )
            job = wait(sm.describe_training_job, "TrainingJobName", name)
            built_in.append(time.perf_counter() - started)
            ran = ", ".join(f"direct ({loader}) {times[-1]:.2f}s" for loader, times in direct.items())
            print(f"  run {attempt + 1}: {ran}, openmaker job {built_in[-1]:.2f}s "
                  f"({breakdown(server, name, created)})")
        references(data, cut)
        for loader, times in direct.items():
            ratio = statistics.median(built_in) / statistics.median(times)
            print(f"training: openmaker median {statistics.median(built_in):.2f}s vs direct ({loader}) median "
                  f"{statistics.median(times):.2f}s -> ratio {ratio:.3f} (target <= {TARGET_RATIO}) "
                  f"{'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
        final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
        print(f"  validation rmse {final.get('validation:rmse', float('nan')):.4f}, "
              f"r2 {final.get('validation:r2', float('nan')):.4f}")

        sm.create_model(ModelName="bench-ll", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
        model = LinearLearnerModel.load(work / "direct-model")
        rows = len(data) - cut
        features = data[cut:, 1:]
        transform_rates, predict_rates = [], []
        for attempt in range(args.repeat):
            name = f"bench-ll-transform-{attempt}"
            started = time.perf_counter()
            sm.create_transform_job(
                TransformJobName=name, ModelName="bench-ll",
                TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/"}}},
                TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform-{attempt}/",
                                 "Accept": "application/jsonlines"},
                TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                BatchStrategy="MultiRecord", MaxPayloadInMB=6,
            )
            wait(sm.describe_transform_job, "TransformJobName", name)
            transform_rates.append(rows / (time.perf_counter() - started))
            started = time.perf_counter()
            model.predict(features)
            predict_rates.append(rows / (time.perf_counter() - started))
        out = s3.get_object(Bucket=BUCKET, Key="transform-0/batch.csv.out")["Body"].read().splitlines()
        assert len(out) == rows, (len(out), rows)
        print(f"batch transform: {statistics.median(transform_rates):,.0f} rows/s end to end "
              f"(CreateTransformJob -> Completed, {rows} rows, JSON lines) vs model.predict "
              f"{statistics.median(predict_rates):,.0f} rows/s in process")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
