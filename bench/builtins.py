"""Built-in XGBoost through openmaker vs XGBoost called directly.

Data: MovieLens ml-latest-small as the Studio tutorial shapes it (100,836 ratings; label = rating / 0.5,
then userId, movieId, timestamp and 18 genre indicators: 22 CSV columns), 70 % train / 30 % validation.

(a) Training: wall time from CreateTrainingJob (``sagemaker-xgboost:1.7-1``, CSV channels train and
    validation) until DescribeTrainingJob reports Completed, against ``python train.py`` run directly,
    where ``train.py`` does what a user does: ``numpy.loadtxt`` both CSVs, ``xgboost.train`` with the same
    params, ``save_model``. Target: ratio <= 1.1. The in-process ``xgboost.train`` time alone is printed too.
(b) Batch transform: rows per second from CreateTransformJob (SplitType Line, the validation features)
    until Completed, against ``booster.predict`` on the same rows in this process.

Starts its own server (temp home, loopback). Usage: ``python bench/builtins.py [--rounds 300] [--repeat 3]``.

The other built-ins have a script each, same shape (job vs reference library, batch transform vs predict;
target <= 1.5x): ``builtins_linear_learner.py``, ``builtins_kmeans_pca.py``,
``builtins_factorization_machines.py``, ``builtins_knn.py``. ``python bench/builtins.py --all`` runs this
one and then each of them, one after another.
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

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "bench-builtins"
TARGET_RATIO = 1.1
OTHERS = ("builtins_linear_learner.py", "builtins_kmeans_pca.py", "builtins_factorization_machines.py",
          "builtins_knn.py")
DIRECT = """
import sys, numpy as np, xgboost as xgb
params = {params!r}
train = np.loadtxt(sys.argv[1], delimiter=",")
valid = np.loadtxt(sys.argv[2], delimiter=",")
dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
dvalid = xgb.DMatrix(valid[:, 1:], label=valid[:, 0])
booster = xgb.train(params, dtrain, num_boost_round={rounds}, evals=[(dtrain, "train"), (dvalid, "validation")],
                    verbose_eval=False)
booster.save_model(sys.argv[3])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="then run every other built-in's bench script")
    args = parser.parse_args()
    bench_xgboost(args)
    if args.all:
        for script in OTHERS:
            print(f"\n=== {script}", flush=True)
            subprocess.run([sys.executable, str(Path(__file__).with_name(script)), "--repeat", str(args.repeat)],
                           check=True)


def bench_xgboost(args: argparse.Namespace) -> None:
    import xgboost as xgb

    params = {"objective": "reg:squarederror", "max_depth": 8, "eta": 0.1, "subsample": 0.8, "min_child_weight": 2,
              "seed": 1, "nthread": 2}
    work = Path(tempfile.mkdtemp(prefix="bench-builtins-"))
    server = start_server(work / "home")
    try:
        data = movielens(label_scale=0.5)
        cut = int(len(data) * 0.7)
        files = {"train": work / "train.csv", "validation": work / "validation.csv", "batch": work / "batch.csv"}
        np.savetxt(files["train"], data[:cut], delimiter=",", fmt="%.10g")
        np.savetxt(files["validation"], data[cut:], delimiter=",", fmt="%.10g")
        np.savetxt(files["batch"], data[cut:, 1:], delimiter=",", fmt="%.10g")
        print(f"MovieLens: {cut} train rows, {len(data) - cut} validation rows, {data.shape[1]} columns; "
              f"{args.rounds} rounds, max_depth {params['max_depth']}, 2 threads")
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        for channel, path in files.items():
            s3.upload_file(str(path), BUCKET, f"{channel}/{path.name}")

        script = work / "train.py"
        script.write_text(DIRECT.format(params=params, rounds=args.rounds))
        direct, built_in, in_process = [], [], []
        for attempt in range(args.repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(script), str(files["train"]), str(files["validation"]),
                            str(work / "direct-model.ubj")], check=True)
            direct.append(time.perf_counter() - started)

            name = f"bench-xgb-{attempt}"
            started = time.perf_counter()
            sm.create_training_job(
                TrainingJobName=name, RoleArn=ROLE,
                HyperParameters={**{k: str(v) for k, v in params.items()}, "num_round": str(args.rounds)},
                AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                InputDataConfig=[{"ChannelName": c, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{c}/"}}} for c in ("train", "validation")],
                OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
            )
            job = wait(sm.describe_training_job, "TrainingJobName", name)
            built_in.append(time.perf_counter() - started)

            train = np.loadtxt(files["train"], delimiter=",")
            valid = np.loadtxt(files["validation"], delimiter=",")
            dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
            dvalid = xgb.DMatrix(valid[:, 1:], label=valid[:, 0])
            started = time.perf_counter()
            booster = xgb.train(params, dtrain, num_boost_round=args.rounds,
                                evals=[(dtrain, "train"), (dvalid, "validation")], verbose_eval=False)
            in_process.append(time.perf_counter() - started)
            print(f"  run {attempt + 1}: direct script {direct[-1]:.2f}s, openmaker job {built_in[-1]:.2f}s, "
                  f"xgboost.train alone {in_process[-1]:.2f}s")

        ratio = statistics.median(built_in) / statistics.median(direct)
        print(f"training: openmaker median {statistics.median(built_in):.2f}s vs direct median "
              f"{statistics.median(direct):.2f}s -> ratio {ratio:.3f} (target <= {TARGET_RATIO}) "
              f"{'OK' if ratio <= TARGET_RATIO else 'MISSED'}")

        sm.create_model(ModelName="bench-xgb", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
        rows = len(data) - cut
        features = data[cut:, 1:]
        transform_rates, predict_rates = [], []
        for attempt in range(args.repeat):
            name = f"bench-xgb-transform-{attempt}"
            started = time.perf_counter()
            sm.create_transform_job(
                TransformJobName=name, ModelName="bench-xgb",
                TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/"}}},
                TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform-{attempt}/"},
                TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                BatchStrategy="MultiRecord", MaxPayloadInMB=6,
            )
            wait(sm.describe_transform_job, "TransformJobName", name)
            transform_rates.append(rows / (time.perf_counter() - started))
            started = time.perf_counter()
            booster.predict(xgb.DMatrix(features))
            predict_rates.append(rows / (time.perf_counter() - started))
        out = s3.get_object(Bucket=BUCKET, Key="transform-0/batch.csv.out")["Body"].read().split()
        assert len(out) == rows, (len(out), rows)
        print(f"batch transform: {statistics.median(transform_rates):,.0f} rows/s end to end "
              f"(CreateTransformJob -> Completed, {rows} rows) vs booster.predict "
              f"{statistics.median(predict_rates):,.0f} rows/s")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
