"""Built-in K-Means and PCA through openmaker vs scikit-learn called directly.

Data: the full MNIST test set (10,000 x 784 pixels as float32 in [0, 1]), uploaded once as one
RecordIO-protobuf file (what the SDK's ``record_set`` writes).

(a) Training: wall time from CreateTrainingJob (``kmeans:1`` with k=10 and the defaults;
    ``pca:1`` with num_components=50, mini_batch_size=500, regular mode) until DescribeTrainingJob
    reports Completed, against ``python direct.py`` run directly, where ``direct.py`` does what a user
    does: ``numpy.load`` the pixels, ``sklearn.cluster.KMeans(n_clusters=10)`` or
    ``sklearn.decomposition.PCA(n_components=50)``, ``fit``, save the result. Target: ratio <= 1.5. The
    model's quality beside scikit-learn's is printed too (msd; largest singular value).
(b) Batch transform: rows per second from CreateTransformJob (SplitType RecordIO, MultiRecord, JSON Lines
    out) until Completed, against the same model's ``predict`` in this process and scikit-learn's
    ``predict``/``transform``.

The training computation alone (openmaker's ``train_centers``/``regular`` vs scikit-learn's ``fit``, both
in this process on the rows in memory) is printed too.

Starts its own server (temp home, loopback). Usage: ``python bench/builtins_kmeans_pca.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchkit import ROLE, mnist, model_dir, start_server, wait
from openmaker.runtimes.algorithms.firstparty import ndarray
from openmaker.runtimes.algorithms.kmeans.model import KMeansModel
from openmaker.runtimes.algorithms.pca.model import PCAModel
from openmaker.runtimes.formats.protobuf_write import encode_dense

REGISTRY = "382416733822.dkr.ecr.us-east-1.amazonaws.com"
BUCKET = "bench-kmeans-pca"
TARGET_RATIO = 1.5
K, COMPONENTS = 10, 50
DIRECT = {
    "kmeans": """
import sys, numpy as np
from sklearn.cluster import KMeans
X = np.load(sys.argv[1])
model = KMeans(n_clusters={k}, random_state=0).fit(X)
np.save(sys.argv[2], model.cluster_centers_)
""",
    "pca": """
import sys, numpy as np
from sklearn.decomposition import PCA
X = np.load(sys.argv[1])
model = PCA(n_components={components}).fit(X)
np.savez(sys.argv[2], components=model.components_, singular_values=model.singular_values_, mean=model.mean_)
""",
}
HYPERPARAMETERS = {
    "kmeans": {"k": str(K), "feature_dim": "784"},
    "pca": {"num_components": str(COMPONENTS), "feature_dim": "784", "mini_batch_size": "500"},
}


def train(server, work: Path, algorithm: str, repeat: int) -> dict:
    """Median wall times of the job and of the direct script; the last job's description."""
    sm = server.client("sagemaker")
    script = work / f"direct_{algorithm}.py"
    script.write_text(DIRECT[algorithm].format(k=K, components=COMPONENTS))
    direct, built_in = [], []
    job = {}
    for attempt in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(script), str(work / "mnist.npy"), str(work / f"direct-{algorithm}")],
                       check=True)
        direct.append(time.perf_counter() - started)
        name = f"bench-{algorithm}-{attempt}"
        started = time.perf_counter()
        sm.create_training_job(
            TrainingJobName=name, RoleArn=ROLE, HyperParameters=HYPERPARAMETERS[algorithm],
            AlgorithmSpecification={"TrainingImage": f"{REGISTRY}/{algorithm}:1", "TrainingInputMode": "File"},
            InputDataConfig=[{"ChannelName": "train", "ContentType": "application/x-recordio-protobuf",
                              "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                              "S3Uri": f"s3://{BUCKET}/train/"}}}],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
            ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        job = wait(sm.describe_training_job, "TrainingJobName", name)
        built_in.append(time.perf_counter() - started)
        print(f"  {algorithm} run {attempt + 1}: direct script {direct[-1]:.2f}s, openmaker job {built_in[-1]:.2f}s")
    ratio = statistics.median(built_in) / statistics.median(direct)
    print(f"{algorithm} training: openmaker median {statistics.median(built_in):.2f}s vs direct median "
          f"{statistics.median(direct):.2f}s -> ratio {ratio:.3f} (target <= {TARGET_RATIO}) "
          f"{'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
    return job


def transform(server, algorithm: str, model_name: str, rows: int, repeat: int, predict) -> None:
    sm, s3 = server.client("sagemaker"), server.client("s3")
    rates, local = [], []
    for attempt in range(repeat):
        name = f"bench-{algorithm}-transform-{attempt}"
        started = time.perf_counter()
        sm.create_transform_job(
            TransformJobName=name, ModelName=model_name,
            TransformInput={"ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO",
                            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": f"s3://{BUCKET}/train/"}}},
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{name}/", "Accept": "application/jsonlines"},
            TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            BatchStrategy="MultiRecord", MaxPayloadInMB=6,
        )
        wait(sm.describe_transform_job, "TransformJobName", name)
        rates.append(rows / (time.perf_counter() - started))
        out = s3.get_object(Bucket=BUCKET, Key=f"{name}/mnist.rec.out")["Body"].read()
        assert out.count(b"\n") == rows, (out.count(b"\n"), rows)
        for label, function in predict.items():
            started = time.perf_counter()
            function()
            local.append((label, rows / (time.perf_counter() - started)))
    figures = ", ".join(f"{label} {statistics.median([r for lab, r in local if lab == label]):,.0f} rows/s"
                        for label in predict)
    print(f"{algorithm} batch transform: {statistics.median(rates):,.0f} rows/s end to end "
          f"(CreateTransformJob -> Completed, {rows} rows) vs in process: {figures}")


def in_process_fit(algorithm: str, X: np.ndarray) -> tuple[float, float]:
    """The training computation alone, openmaker's and scikit-learn's, on the rows already in memory."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    from openmaker.runtimes.algorithms import kmeans, pca
    from openmaker.runtimes.algorithms.kmeans.train import train_centers
    from openmaker.runtimes.algorithms.pca.train import regular

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the metric lines belong to a job's log, not here
        if algorithm == "kmeans":
            train_centers(X, kmeans.HYPERPARAMETERS.validate(HYPERPARAMETERS["kmeans"]))
        else:
            hps = pca.HYPERPARAMETERS.validate(HYPERPARAMETERS["pca"])
            regular(X, hps["num_components"], True, hps["mini_batch_size"])
    ours = time.perf_counter() - started
    started = time.perf_counter()
    if algorithm == "kmeans":
        KMeans(n_clusters=K, random_state=0).fit(X)
    else:
        PCA(n_components=COMPONENTS).fit(X)
    return ours, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    work = Path(tempfile.mkdtemp(prefix="bench-kmeans-pca-"))
    server = start_server(work / "home")
    try:
        X = mnist()[0].astype(np.float32) / 255
        rows = X.shape[0]
        np.save(work / "mnist.npy", X)
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train/mnist.rec", Body=encode_dense(X))
        print(f"MNIST test set: {rows} rows x {X.shape[1]} features (float32, one RecordIO-protobuf file)")

        for algorithm in ("kmeans", "pca"):
            job = train(server, work, algorithm, args.repeat)
            path = model_dir(s3, job["ModelArtifacts"]["S3ModelArtifacts"], work / f"model-{algorithm}")
            sm.create_model(ModelName=f"bench-{algorithm}", ExecutionRoleArn=ROLE, PrimaryContainer={
                "Image": f"{REGISTRY}/{algorithm}:1", "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
            fit_ours, fit_reference = in_process_fit(algorithm, X)
            print(f"{algorithm} fit in this process: openmaker's {fit_ours:.2f}s vs scikit-learn's {fit_reference:.2f}s")
            if algorithm == "kmeans":
                ours = KMeansModel.load(path)
                reference = KMeans(n_clusters=K, random_state=0).fit(X)
                msd = float(np.mean(ours.assign(X)[1] ** 2))
                print(f"kmeans quality: msd {msd:.4f} vs scikit-learn {reference.inertia_ / rows:.4f} "
                      f"({msd / (reference.inertia_ / rows) - 1:+.2%})")
                predict = {"KMeansModel.predict": lambda ours=ours: ours.predict(X),
                           "sklearn predict": lambda reference=reference: reference.predict(X)}
            else:
                ours_pca = PCAModel.load(path)
                reference_pca = PCA(n_components=COMPONENTS).fit(X)
                print(f"pca quality: largest singular value {float(ours_pca.s[-1]):.4f} vs scikit-learn "
                      f"{float(reference_pca.singular_values_[0]):.4f}; smallest kept {float(ours_pca.s[0]):.4f} "
                      f"vs {float(reference_pca.singular_values_[-1]):.4f}")
                predict = {"PCAModel.predict": lambda ours=ours_pca: ours.predict(X),
                           "sklearn transform": lambda reference=reference_pca: reference.transform(X)}
            transform(server, algorithm, f"bench-{algorithm}", rows, args.repeat, predict)
        assert isinstance(ndarray.load(work / "model-kmeans" / "model_algo-1"), list)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
