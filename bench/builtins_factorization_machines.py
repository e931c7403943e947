"""Built-in Factorization Machines through openmaker vs the same training loop called in-process.

Data: all of MovieLens small (100,836 ratings) one-hot encoded as user + movie (feature_dim 10,334), written
as RecordIO-protobuf with the SDK's ``write_spmatrix_to_sparse_tensor`` (the book's chapter 6 shape).

(a) Training: wall time from CreateTrainingJob (``factorization-machines:1``, regressor, num_factors 64,
    mini_batch_size 100 as in the book, ``--epochs`` epochs) until DescribeTrainingJob reports Completed,
    against the reference: openmaker's own FM loop (``factorization_machines.sgd.train``, the code the job
    runs) called directly in this process on the CSR matrix already in memory. No FM library (fastFM,
    pyFM, xLearn, MXNet) is installed to compare against, so the reference is the loop itself and the ratio
    is the price of the job (process start, staging, reading the protobuf, metric lines, the artifact).
    Target: ratio <= 1.5.
(b) Batch transform: rows per second from CreateTransformJob (the same protobuf, SplitType RecordIO,
    MultiRecord, 6 MB payloads, Accept application/jsonlines) until Completed, against the model's
    ``predict`` on the same rows in this process.

Starts its own server (temp home, loopback). Usage:
``python bench/builtins_factorization_machines.py [--epochs 50] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchkit import DATASETS, ROLE, start_server, wait

# isort: split
from fmdata import movielens, protobuf

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/factorization-machines:1"
BUCKET = "bench-fm"
TARGET_RATIO = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from openmaker.runtimes.algorithms.factorization_machines import sgd
    from openmaker.runtimes.algorithms.factorization_machines.hyperparameters import validate

    ratings = movielens(DATASETS)
    hyperparameters = {"feature_dim": str(ratings.feature_dim), "num_factors": "64", "predictor_type": "regressor",
                       "epochs": str(args.epochs), "mini_batch_size": "100", "linear_lr": "0.01",
                       "factors_lr": "0.001", "factors_wd": "0.0001"}
    hps = validate(hyperparameters)
    work = Path(tempfile.mkdtemp(prefix="bench-fm-"))
    server = start_server(work / "home")
    try:
        body = protobuf(ratings)
        rows = ratings.X.shape[0]
        print(f"MovieLens: {rows} ratings, feature_dim {ratings.feature_dim}, {len(body) / 1e6:.1f} MB protobuf; "
              f"{args.epochs} epochs, num_factors 64, mini_batch_size 100")
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train/ratings.protobuf", Body=body)

        direct, built_in = [], []
        for attempt in range(args.repeat):
            started = time.perf_counter()
            model = sgd.train(ratings.X, ratings.y, hps)
            direct.append(time.perf_counter() - started)

            name = f"bench-fm-{attempt}"
            started = time.perf_counter()
            sm.create_training_job(
                TrainingJobName=name, RoleArn=ROLE, HyperParameters=hyperparameters,
                AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                InputDataConfig=[{"ChannelName": "train", "ContentType": "application/x-recordio-protobuf",
                                  "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                  "S3Uri": f"s3://{BUCKET}/train/"}}}],
                OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
                ResourceConfig={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
            )
            job = wait(sm.describe_training_job, "TrainingJobName", name)
            built_in.append(time.perf_counter() - started)
            print(f"  run {attempt + 1}: in-process sgd.train {direct[-1]:.2f}s, openmaker job {built_in[-1]:.2f}s")

        ratio = statistics.median(built_in) / statistics.median(direct)
        print(f"training: openmaker median {statistics.median(built_in):.2f}s vs in-process median "
              f"{statistics.median(direct):.2f}s -> ratio {ratio:.3f} (target <= {TARGET_RATIO}) "
              f"{'OK' if ratio <= TARGET_RATIO else 'MISSED'}")

        sm.create_model(ModelName="bench-fm", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
        transform_rates, predict_rates = [], []
        for attempt in range(args.repeat):
            name = f"bench-fm-transform-{attempt}"
            started = time.perf_counter()
            sm.create_transform_job(
                TransformJobName=name, ModelName="bench-fm",
                TransformInput={"ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO",
                                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                "S3Uri": f"s3://{BUCKET}/train/"}}},
                TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform-{attempt}/",
                                 "Accept": "application/jsonlines"},
                TransformResources={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
                BatchStrategy="MultiRecord", MaxPayloadInMB=6,
            )
            wait(sm.describe_transform_job, "TransformJobName", name)
            transform_rates.append(rows / (time.perf_counter() - started))
            started = time.perf_counter()
            model.predict(ratings.X)
            predict_rates.append(rows / (time.perf_counter() - started))
        out = s3.get_object(Bucket=BUCKET, Key="transform-0/ratings.protobuf.out")["Body"].read().splitlines()
        assert len(out) == rows and "score" in json.loads(out[0]), (len(out), rows)
        print(f"batch transform: {statistics.median(transform_rates):,.0f} rows/s end to end "
              f"(CreateTransformJob -> Completed, {rows} rows) vs in-process predict "
              f"{statistics.median(predict_rates):,.0f} rows/s")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
