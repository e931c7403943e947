"""The README's main job: the seed workshop's story (a spam filter) end to end on the embedded defaults.

Run with ``bash scripts/demo.sh`` (or ``python -m openmaker.demo``). It starts ``openmaker serve`` (data in
``~/.openmaker`` unless ``OPENMAKER_HOME`` says otherwise) and then, with plain boto3 as any SageMaker
user would:

1. checks who it is (STS) and creates a versioned bucket (S3);
2. uploads the SMS Spam Collection (``../shared/datasets/sms-spam``, else generated messages) split 80/20;
3. trains a scikit-learn spam classifier (CountVectorizer + MultinomialNB) as a script-mode training job
   on the scikit-learn image, following its log in CloudWatch Logs and reading its validation accuracy
   back as a metric;
4. deploys the model to a real-time endpoint and invokes it with a few messages;
5. runs a batch transform over a file of messages and shows the ``.out`` file;
6. deletes the endpoint, its config, the model and the bucket, and stops the server it started.
"""

from __future__ import annotations

import io
import json
import os
import random
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from openmaker.config import DEFAULT_PORT, Settings
from openmaker.credentials import ensure_root_credentials

console = Console()
DATASETS = Path(
    os.environ.get("OPENMAKER_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets")
)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::000000000000:role/openmaker-demo"
INSTANCE = "ml.m5.large"

# The job's script: trains in script mode (SM_CHANNEL_*, SM_MODEL_DIR) and serves with the inference
# toolkit's functions. Requests: a JSON list of messages, or text with one message per line.
SCRIPT = r"""
import argparse, csv, json, os

import joblib
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline


def read(directory):
    with open(os.path.join(directory, os.listdir(directory)[0]), newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [text for _, text in rows], [label for label, _ in rows]


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if content_type.startswith("application/json"):
        return json.loads(body)
    return [line for line in body.splitlines() if line.strip()]


def predict_fn(messages, model):
    probabilities = model.predict_proba(messages)
    spam = list(model.classes_).index("spam")
    return [("spam" if p[spam] >= 0.5 else "ham", round(float(p[spam]), 4)) for p in probabilities]


def output_fn(predictions, accept):
    if accept.startswith("text/csv"):
        return "".join(f"{label},{p}\n" for label, p in predictions), "text/csv"
    return json.dumps([{"label": label, "spam_probability": p} for label, p in predictions]), "application/json"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args = parser.parse_args()
    texts, labels = read(args.train)
    model = make_pipeline(CountVectorizer(lowercase=True), MultinomialNB(alpha=args.alpha)).fit(texts, labels)
    print(f"trained on {len(texts)} messages, vocabulary of {len(model[0].vocabulary_)} words")
    val_texts, val_labels = read(args.validation)
    print(f"validation:accuracy={model.score(val_texts, val_labels):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
"""

MESSAGES = [
    "Hey, are we still on for lunch tomorrow?",
    "WINNER!! You have been selected to receive a £900 prize reward. Call 09061701461 to claim now",
    "Sorry, I'll call you later, in a meeting",
    "FREE entry into our weekly competition! Text WIN to 80086 now. T&C apply",
]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(settings: Settings) -> subprocess.Popen:
    command = [sys.executable, "-m", "openmaker", "serve", "--port", str(settings.port)]
    log = open(settings.home / "demo-server.log", "ab")  # noqa: SIM115  (the server's output, kept out of the story)
    process = subprocess.Popen(
        command, env=dict(os.environ, OPENMAKER_HOME=str(settings.home)), stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"openmaker serve exited with status {process.returncode} (see {log.name})")
        try:
            with urllib.request.urlopen(f"{settings.endpoint_url}/_openmaker/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("openmaker serve did not become healthy within 60 s")


def spam_data() -> tuple[str, list[tuple[str, str]]]:
    """(where from, [(label, text)]): the SMS Spam Collection, else generated messages."""
    path = DATASETS / "sms-spam" / "SMSSpamCollection"
    if path.exists():
        rows = [
            line.split("\t", 1) for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        ]
        return str(path), [(label, text) for label, text in rows if label in ("ham", "spam")]
    # Phrases drawn at random, some words shared by both classes and 3% of labels flipped, so the
    # classifier has something to learn and something to get wrong.
    rng = random.Random(7)
    ham = (
        ["sorry,", "hey", "ok", "hi mum,", "lol", "yeah"],
        [
            "i'll call you later",
            "see you at the station",
            "can you pick up bread",
            "running late",
            "are we still on for lunch",
            "free tonight?",
            "did you win the match",
            "text me when you're home",
        ],
        ["in a meeting", "tomorrow", "x", "after work", "love you", "cheers"],
    )
    spam = (
        ["WINNER!", "URGENT:", "Congratulations!", "FREE entry:", "Hey,"],
        [
            "you have won a £{} prize",
            "claim your free mobile",
            "your cash reward is waiting",
            "win a holiday for two",
            "call me tonight",
            "text WIN to {}",
        ],
        ["call 0906{} now", "reply YES to {}", "T&C apply", "txt STOP to opt out", "see you later"],
    )
    rows = []
    for i in range(3000):
        label = "spam" if i % 7 == 0 else "ham"
        parts = [rng.choice(group) for group in (spam if label == "spam" else ham)]
        text = " ".join(part.replace("{}", str(rng.randint(100, 99999))) for part in parts)
        if rng.random() < 0.03:
            label = "ham" if label == "spam" else "spam"
        rows.append((label, text))
    return "generated messages (no ../shared/datasets/sms-spam)", rows


def tsv(rows: list[tuple[str, str]]) -> bytes:
    return "".join(f"{label}\t{' '.join(text.split())}\n" for label, text in rows).encode()


def wait(
    describe: Callable[[], dict], key: str, done: tuple[str, ...], what: str, timeout: float = 300
) -> dict:
    """Poll ``describe`` every 0.5 s until ``key`` is in ``done``, showing each status as it changes."""
    seen = None
    deadline = time.monotonic() + timeout
    with console.status(what) as status:
        while True:
            described = describe()
            now = described[key]
            secondary = described.get("SecondaryStatus")
            label = f"{now} / {secondary}" if secondary else now
            if label != seen:
                status.update(f"{what}: {label}")
                seen = label
            if now in done:
                return described
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: still {now} after {timeout:.0f} s")
            time.sleep(0.5)


def step(number: int, title: str) -> None:
    console.print(f"\n[bold cyan]{number}. {title}[/bold cyan]")


def walk_through(settings: Settings) -> None:
    import boto3

    creds = ensure_root_credentials(settings.credentials_file)
    session = boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=settings.region,
    )

    def client(name: str):
        return session.client(name, endpoint_url=settings.endpoint_url)

    s3, sm, runtime, logs, sts = (client(n) for n in ("s3", "sagemaker", "sagemaker-runtime", "logs", "sts"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    bucket, job, model = f"openmaker-demo-{stamp}", f"spam-{stamp}", f"spam-model-{stamp}"

    step(1, "Who am I, and a versioned bucket")
    identity = sts.get_caller_identity()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    console.print(
        f"   caller {identity['Arn']}\n   bucket s3://{bucket}, versioning enabled (as the workshop)"
    )

    try:
        step(2, "Upload the data")
        source, rows = spam_data()
        random.Random(42).shuffle(rows)
        cut = int(len(rows) * 0.8)
        s3.put_object(Bucket=bucket, Key="data/train/train.tsv", Body=tsv(rows[:cut]))
        s3.put_object(Bucket=bucket, Key="data/validation/validation.tsv", Body=tsv(rows[cut:]))
        spam_count = sum(1 for label, _ in rows if label == "spam")
        console.print(
            f"   {len(rows):,} messages ({spam_count:,} spam) from {source}\n"
            f"   train/train.tsv: {cut:,}, validation/validation.tsv: {len(rows) - cut:,} (under s3://{bucket}/data/)"
        )
        code = io.BytesIO()
        with tarfile.open(fileobj=code, mode="w:gz") as tar:
            data = SCRIPT.encode()
            info = tarfile.TarInfo("spam.py")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        s3.put_object(Bucket=bucket, Key="code/sourcedir.tar.gz", Body=code.getvalue())
        submit = f"s3://{bucket}/code/sourcedir.tar.gz"

        step(3, "Train: CountVectorizer + MultinomialNB, script mode on the scikit-learn image")
        channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated"}}
        started = time.monotonic()
        sm.create_training_job(
            TrainingJobName=job,
            AlgorithmSpecification={
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+)"}
                ],
            },
            HyperParameters={
                "alpha": "0.5",
                "sagemaker_program": json.dumps("spam.py"),
                "sagemaker_submit_directory": json.dumps(submit),
            },
            RoleArn=ROLE,
            InputDataConfig=[
                {
                    "ChannelName": name,
                    "DataSource": {
                        "S3DataSource": {**channel["S3DataSource"], "S3Uri": f"s3://{bucket}/data/{name}/"}
                    },
                }
                for name in ("train", "validation")
            ],
            OutputDataConfig={"S3OutputPath": f"s3://{bucket}/output"},
            ResourceConfig={"InstanceType": INSTANCE, "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 600},
        )
        described = wait(
            lambda: sm.describe_training_job(TrainingJobName=job),
            "TrainingJobStatus",
            ("Completed", "Failed", "Stopped"),
            f"training job {job}",
        )
        if described["TrainingJobStatus"] != "Completed":
            raise SystemExit(
                f"the training job ended {described['TrainingJobStatus']}: {described.get('FailureReason')}"
            )
        group = "/aws/sagemaker/TrainingJobs"
        for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job}/")[
            "logStreams"
        ]:
            events = logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
            )
            lines = [
                e["message"]
                for e in events["events"]
                if "trained on" in e["message"] or "validation:" in e["message"]
            ]
            console.print(f"   CloudWatch Logs {group}, stream {stream['logStreamName']}:")
            for line in lines:
                console.print(f"     [dim]{line}[/dim]")
        path = " -> ".join(t["Status"] for t in described.get("SecondaryStatusTransitions", []))
        console.print(f"   {path}")
        metrics = {m["MetricName"]: m["Value"] for m in described.get("FinalMetricDataList", [])}
        artifact = described["ModelArtifacts"]["S3ModelArtifacts"]
        console.print(
            f"   Completed in {time.monotonic() - started:.1f} s; metric validation:accuracy = "
            f"[bold green]{metrics.get('validation:accuracy', float('nan')):.4f}[/bold green]\n"
            f"   model: {artifact.removeprefix(f's3://{bucket}/')}"
        )

        step(4, "Tune alpha: a hyperparameter tuning job, Bayesian search, 6 trials, 2 at a time")
        artifact = tune_alpha(sm, job, tuning=f"spam-tune-{stamp}")

        step(5, "Deploy the best model to a real-time endpoint")
        started = time.monotonic()
        sm.create_model(
            ModelName=model,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": artifact,
                "Environment": {"SAGEMAKER_PROGRAM": "spam.py", "SAGEMAKER_SUBMIT_DIRECTORY": submit},
            },
        )
        sm.create_endpoint_config(
            EndpointConfigName=model,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": INSTANCE,
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        sm.create_endpoint(EndpointName=model, EndpointConfigName=model)
        try:
            described = wait(
                lambda: sm.describe_endpoint(EndpointName=model),
                "EndpointStatus",
                ("InService", "Failed"),
                f"endpoint {model}",
            )
            if described["EndpointStatus"] != "InService":
                raise SystemExit(f"the endpoint failed: {described.get('FailureReason')}")
            console.print(f"   endpoint {model} InService in {time.monotonic() - started:.1f} s")

            step(6, "Invoke it")
            response = runtime.invoke_endpoint(
                EndpointName=model,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(MESSAGES),
            )
            answers = json.loads(response["Body"].read())
            table = Table("message", "label", "P(spam)")
            for message, answer in zip(MESSAGES, answers, strict=True):
                color = "red" if answer["label"] == "spam" else "green"
                table.add_row(
                    message, f"[{color}]{answer['label']}[/{color}]", f"{answer['spam_probability']:.4f}"
                )
            console.print(
                f"   invoke_endpoint with a JSON list -> variant {response['InvokedProductionVariant']}"
            )
            console.print(table)
        finally:
            sm.delete_endpoint(EndpointName=model)
            sm.delete_endpoint_config(EndpointConfigName=model)

        step(7, "Batch transform over a file of messages")
        batch = rows[cut : cut + 8]
        s3.put_object(
            Bucket=bucket,
            Key="batch/messages.txt",
            Body="".join(" ".join(text.split()) + "\n" for _, text in batch).encode(),
        )
        transform = f"spam-batch-{stamp}"
        started = time.monotonic()
        sm.create_transform_job(
            TransformJobName=transform,
            ModelName=model,
            BatchStrategy="MultiRecord",
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/batch/"}},
                "ContentType": "text/plain",
                "SplitType": "Line",
            },
            TransformOutput={
                "S3OutputPath": f"s3://{bucket}/predictions/",
                "Accept": "text/csv",
                "AssembleWith": "Line",
            },
            TransformResources={"InstanceType": INSTANCE, "InstanceCount": 1},
        )
        described = wait(
            lambda: sm.describe_transform_job(TransformJobName=transform),
            "TransformJobStatus",
            ("Completed", "Failed", "Stopped"),
            f"transform job {transform}",
        )
        if described["TransformJobStatus"] != "Completed":
            raise SystemExit(f"the transform job failed: {described.get('FailureReason')}")
        out = s3.get_object(Bucket=bucket, Key="predictions/messages.txt.out")["Body"].read().decode()
        console.print(f"   Completed in {time.monotonic() - started:.1f} s; predictions/messages.txt.out:")
        table = Table("message (batch/messages.txt)", "true label", ".out line")
        for (label, text), line in zip(batch, out.splitlines(), strict=True):
            table.add_row(text if len(text) <= 70 else text[:67] + "...", label, line)
        console.print(table)
        sm.delete_model(ModelName=model)
    finally:
        step(8, "Clean up")
        versions = s3.list_object_versions(Bucket=bucket)
        for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
        s3.delete_bucket(Bucket=bucket)
        left = [e["EndpointName"] for e in sm.list_endpoints(NameContains=stamp)["Endpoints"]]
        left += [m["ModelName"] for m in sm.list_models(NameContains=stamp)["Models"]]
        console.print(
            "   endpoint, endpoint config and model deleted;\n"
            f"   every object version deleted, bucket {bucket} removed"
            + (f" [red](still there: {left})[/red]" if left else "")
        )


def tune_alpha(sm, job: str, tuning: str) -> str:
    """Tune the training job's alpha (log scale) on validation:accuracy; the best trial's model."""
    from openmaker.cli_tuning import render, trials

    definition = sm.describe_training_job(TrainingJobName=job)
    static = {k: v for k, v in definition["HyperParameters"].items() if k != "alpha"}
    started = time.monotonic()
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning,
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "RandomSeed": 7,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"ContinuousParameterRanges": [
                {"Name": "alpha", "MinValue": "0.01", "MaxValue": "2", "ScalingType": "Logarithmic"}]},
        },
        TrainingJobDefinition={
            key: definition[key] for key in ("RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
                                             "StoppingCondition")
        } | {"StaticHyperParameters": static,
             "AlgorithmSpecification": {k: definition["AlgorithmSpecification"][k]
                                        for k in ("TrainingImage", "TrainingInputMode", "MetricDefinitions")}},
    )
    described = wait(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning),
        "HyperParameterTuningJobStatus",
        ("Completed", "Failed", "Stopped"),
        f"tuning job {tuning}",
    )
    console.print(render(described, trials(sm, tuning)))
    best = described.get("BestTrainingJob")
    if described["HyperParameterTuningJobStatus"] != "Completed" or not best:
        raise SystemExit(f"the tuning job ended {described['HyperParameterTuningJobStatus']}: "
                         f"{described.get('FailureReason')}")
    console.print(f"   Completed in {time.monotonic() - started:.1f} s "
                  f"(the same table: openmaker tuning show {tuning})")
    return sm.describe_training_job(TrainingJobName=best["TrainingJobName"])["ModelArtifacts"]["S3ModelArtifacts"]


def main() -> None:
    settings = Settings()
    if not _port_free(settings.port):
        settings.port = _free_port() if settings.port == DEFAULT_PORT else settings.port
    settings.home.mkdir(parents=True, exist_ok=True)
    console.rule("openmaker demo: the spam filter, trained, deployed, invoked and batch-transformed")
    started = time.monotonic()
    process = start_server(settings)
    console.print(f"openmaker serve on {settings.endpoint_url} (data in {settings.home}), healthy")
    try:
        walk_through(settings)
    finally:
        process.terminate()
        process.wait(timeout=30)
    console.rule(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
