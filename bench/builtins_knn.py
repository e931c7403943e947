"""Built-in k-NN through openmaker vs scikit-learn's KNeighborsClassifier called directly.

Data: the full MNIST test set (10,000 digits of 784 pixels, 0-255), first 8,000 as the train channel and
the last 2,000 as the test channel, CSV with the label first; k = 5, sample_size above the row count (no
sampling), L2, so both sides do the same exact search and report the same accuracy.

(a) Training: wall time from CreateTrainingJob (``knn:1``, CSV channels train and test) until
    DescribeTrainingJob reports Completed, against ``python direct.py``, where ``direct.py`` does what a
    user does: ``pandas.read_csv`` both files, ``KNeighborsClassifier(5).fit`` and ``.score``. Target:
    ratio <= 1.5. The in-process fit+score time alone is printed too.
(b) Batch transform: rows per second from CreateTransformJob (SplitType Line, MultiRecord, the 2,000 test
    digits' features) until Completed, against the model's own ``predict`` and scikit-learn's
    ``predict`` on the same rows in this process.

Starts its own server (temp home, loopback). Usage: ``python bench/builtins_knn.py [--repeat 3]``.
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

from benchkit import ROLE, mnist, model_dir, start_server, wait

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
BUCKET = "bench-builtins-knn"
TARGET_RATIO = 1.5
TRAIN_ROWS, K = 8000, 5
DIRECT = """
import sys, pandas as pd
from sklearn.neighbors import KNeighborsClassifier
train = pd.read_csv(sys.argv[1], header=None).to_numpy(dtype="float64")
test = pd.read_csv(sys.argv[2], header=None).to_numpy(dtype="float64")
model = KNeighborsClassifier(n_neighbors={k}).fit(train[:, 1:], train[:, 0])
print(model.score(test[:, 1:], test[:, 0]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from sklearn.neighbors import KNeighborsClassifier

    from openmaker.runtimes.algorithms.knn.model import KNNModel

    work = Path(tempfile.mkdtemp(prefix="bench-builtins-knn-"))
    server = start_server(work / "home")
    try:
        images, labels = mnist()
        X, y = images.astype(np.float64), labels.astype(np.float64)
        table = np.column_stack([y, X])
        files = {"train": work / "train.csv", "test": work / "test.csv", "batch": work / "batch.csv"}
        np.savetxt(files["train"], table[:TRAIN_ROWS], delimiter=",", fmt="%d")
        np.savetxt(files["test"], table[TRAIN_ROWS:], delimiter=",", fmt="%d")
        np.savetxt(files["batch"], X[TRAIN_ROWS:], delimiter=",", fmt="%d")
        print(f"MNIST test set: {TRAIN_ROWS} train rows, {len(y) - TRAIN_ROWS} test rows, 784 features; "
              f"k={K}, L2, no sampling")
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        for channel, path in files.items():
            s3.upload_file(str(path), BUCKET, f"{channel}/{path.name}")

        script = work / "direct.py"
        script.write_text(DIRECT.format(k=K))
        direct, built_in, in_process = [], [], []
        for attempt in range(args.repeat):
            started = time.perf_counter()
            result = subprocess.run([sys.executable, str(script), str(files["train"]), str(files["test"])],
                                    check=True, capture_output=True, text=True)
            direct.append(time.perf_counter() - started)
            direct_accuracy = float(result.stdout.split()[-1])

            name = f"bench-knn-{attempt}"
            started = time.perf_counter()
            sm.create_training_job(
                TrainingJobName=name, RoleArn=ROLE,
                HyperParameters={"feature_dim": "784", "k": str(K), "sample_size": "100000",
                                 "predictor_type": "classifier"},
                AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                InputDataConfig=[{"ChannelName": c, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{c}/"}}} for c in ("train", "test")],
                OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
            )
            job = wait(sm.describe_training_job, "TrainingJobName", name)
            built_in.append(time.perf_counter() - started)
            accuracy = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}["test:accuracy"]
            assert abs(accuracy - direct_accuracy) < 1e-9, (accuracy, direct_accuracy)

            started = time.perf_counter()
            reference = KNeighborsClassifier(n_neighbors=K).fit(X[:TRAIN_ROWS], y[:TRAIN_ROWS])
            reference.score(X[TRAIN_ROWS:], y[TRAIN_ROWS:])
            in_process.append(time.perf_counter() - started)
            print(f"  run {attempt + 1}: direct script {direct[-1]:.2f}s, openmaker job {built_in[-1]:.2f}s, "
                  f"fit+score alone {in_process[-1]:.2f}s (test accuracy {accuracy:.4f} on both)")

        ratio = statistics.median(built_in) / statistics.median(direct)
        print(f"training: openmaker median {statistics.median(built_in):.2f}s vs direct median "
              f"{statistics.median(direct):.2f}s -> ratio {ratio:.3f} (target <= {TARGET_RATIO}) "
              f"{'OK' if ratio <= TARGET_RATIO else 'MISSED'}")

        artifacts = job["ModelArtifacts"]["S3ModelArtifacts"]
        sm.create_model(ModelName="bench-knn", ExecutionRoleArn=ROLE,
                        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifacts})
        model = KNNModel.load(model_dir(s3, artifacts, work / "model"))
        features = X[TRAIN_ROWS:]
        rows = len(features)
        transform_rates, predict_rates, sklearn_rates = [], [], []
        for attempt in range(args.repeat):
            name = f"bench-knn-transform-{attempt}"
            started = time.perf_counter()
            sm.create_transform_job(
                TransformJobName=name, ModelName="bench-knn",
                TransformInput={"ContentType": "text/csv", "SplitType": "Line", "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/"}}},
                TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform-{attempt}/", "Accept": "text/csv"},
                TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                BatchStrategy="MultiRecord", MaxPayloadInMB=6,
            )
            wait(sm.describe_transform_job, "TransformJobName", name)
            transform_rates.append(rows / (time.perf_counter() - started))
            started = time.perf_counter()
            predicted = model.predict_values(features)
            predict_rates.append(rows / (time.perf_counter() - started))
            started = time.perf_counter()
            reference.predict(features)
            sklearn_rates.append(rows / (time.perf_counter() - started))
        out = s3.get_object(Bucket=BUCKET, Key="transform-0/batch.csv.out")["Body"].read().split()
        np.testing.assert_array_equal(np.array(out, dtype=np.float64), predicted)
        print(f"batch transform: {statistics.median(transform_rates):,.0f} rows/s end to end "
              f"(CreateTransformJob -> Completed, {rows} rows) vs in-process KNNModel.predict "
              f"{statistics.median(predict_rates):,.0f} rows/s and KNeighborsClassifier.predict "
              f"{statistics.median(sklearn_rates):,.0f} rows/s")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
