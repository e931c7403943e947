"""The training/processing engine through the real server and boto3's low-level clients.

BYO jobs (ContainerEntrypoint ``python3 -c ...``) keep these fast; bubblewrap is used when present,
which is how the hard-coded ``/opt/ml`` paths below work.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from enginehelp import ROLE, channel, log_lines, training, untar, wait, wait_for
from serverutil import start_server

SANDBOX = shutil.which("bwrap") is not None
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason="bubblewrap is not installed")


@pytest.fixture(scope="module")
def sm(server):
    return server.client("sagemaker")


def test_channel_in_model_and_output_out(server, sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="data/train/a.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=bucket, Key="data/train/sub/b.csv", Body=b"5,6\n")
    code = """
        import json, os
        train = os.environ["SM_CHANNEL_TRAIN"]
        rows = open(os.path.join(train, "a.csv")).read().count("\\n") + open(os.path.join(train, "sub/b.csv")).read().count("\\n")
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
            json.dump({"rows": rows, "hps": json.loads(os.environ["SM_HPS"]), "lr": os.environ["SM_HP_LR"]}, f)
        os.makedirs(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "extra"), exist_ok=True)
        open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "extra", "note.txt"), "w").write("done")
        config = "/opt/ml/input/config" if os.path.isdir("/opt/ml/input/config") else os.environ["SM_INPUT_CONFIG_DIR"]
        print("hps", json.load(open(os.path.join(config, "hyperparameters.json"))))
        print("resource", json.load(open(os.path.join(config, "resourceconfig.json")))["current_host"])
        print("channels", os.environ["SM_CHANNELS"], sorted(json.load(open(os.path.join(config, "inputdataconfig.json")))))
        for epoch in range(3):
            print(f"epoch={epoch} loss={1.0 / (epoch + 1):.3f} acc=0.{epoch}5")
        print("oops on stderr", file=__import__("sys").stderr)
    """
    params = training(
        s3,
        "eng-basic",
        bucket,
        code,
        HyperParameters={"lr": "0.1", "epochs": "3"},
        InputDataConfig=[channel("train", f"s3://{bucket}/data/train")],
        MetricDefinitions=[
            {"Name": "train:loss", "Regex": r"loss=([0-9.]+)"},
            {"Name": "train:acc", "Regex": r"acc=([0-9.]+)"},
        ],
    )
    sm.create_training_job(**params)
    job = wait(sm, "eng-basic")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{bucket}/out/eng-basic/output/model.tar.gz"
    model = untar(s3.get_object(Bucket=bucket, Key="out/eng-basic/output/model.tar.gz")["Body"].read())
    saved = json.loads(model["model.json"])
    assert saved == {"rows": 3, "hps": {"lr": 0.1, "epochs": 3}, "lr": "0.1"}
    output = untar(s3.get_object(Bucket=bucket, Key="out/eng-basic/output/output.tar.gz")["Body"].read())
    assert output == {"extra/note.txt": b"done"}

    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final == {"train:loss": pytest.approx(0.333), "train:acc": pytest.approx(0.25)}
    assert job["TrainingTimeInSeconds"] >= 1 and job["BillableTimeInSeconds"] >= 1

    streams = log_lines(server, "/aws/sagemaker/TrainingJobs", "eng-basic/")
    [(stream, lines)] = streams.items()
    assert re.fullmatch(r"eng-basic/algo-1-\d{10}", stream)
    assert "resource algo-1" in lines and "oops on stderr" in lines
    assert "channels [\"train\"] ['train']" in lines

    cw = server.client("cloudwatch")
    now = datetime.now(UTC)
    stats = cw.get_metric_statistics(
        Namespace="/aws/sagemaker/TrainingJobs",
        MetricName="train:loss",
        Dimensions=[{"Name": "TrainingJobName", "Value": "eng-basic"}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Minimum", "Maximum", "SampleCount"],
    )["Datapoints"]
    assert sum(p["SampleCount"] for p in stats) == 3
    assert min(p["Minimum"] for p in stats) == pytest.approx(0.333)


@needs_sandbox
def test_hard_coded_opt_ml_paths_and_isolation(server, sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="in/x.txt", Body=b"xyz")
    home = str(server.home)
    code = f"""
        import os, socket
        assert open("/opt/ml/input/data/train/x.txt").read() == "xyz"
        os.makedirs("/opt/ml/model/sub", exist_ok=True)
        open("/opt/ml/model/sub/weights.bin", "wb").write(b"w" * 10)
        assert socket.gethostname() == "algo-1"
        assert not os.path.exists({home + "/openmaker.db"!r}), "the server's data must be hidden"
        try:
            open("/opt/ml/input/data/train/x.txt", "w").write("overwrite")
            raise SystemExit("input data must be read-only")
        except OSError:
            pass
        open("/tmp/scratch", "w").write("private tmp")
    """
    sm.create_training_job(
        **training(s3, "eng-optml", bucket, code, InputDataConfig=[channel("train", f"s3://{bucket}/in/")])
    )
    job = wait(sm, "eng-optml")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model = untar(s3.get_object(Bucket=bucket, Key="out/eng-optml/output/model.tar.gz")["Body"].read())
    assert model == {"sub/weights.bin": b"w" * 10}
    assert s3.get_object(Bucket=bucket, Key="in/x.txt")["Body"].read() == b"xyz"


def test_failure_file_becomes_failure_reason(sm, s3, bucket):
    code = """
        import os, sys
        open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("ValueError: bad learning rate")
        sys.exit(2)
    """
    sm.create_training_job(**training(s3, "eng-failfile", bucket, code))
    job = wait(sm, "eng-failfile")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["SecondaryStatus"] == "Failed"
    assert "ValueError: bad learning rate" in job["FailureReason"]


def test_crash_without_failure_file_reports_stderr_tail(sm, s3, bucket):
    code = """
        import sys
        print("about to fail")
        raise RuntimeError("the model diverged")
    """
    sm.create_training_job(**training(s3, "eng-crash", bucket, code))
    job = wait(sm, "eng-crash")
    assert job["TrainingJobStatus"] == "Failed"
    assert "exited with code 1" in job["FailureReason"]
    assert "RuntimeError: the model diverged" in job["FailureReason"]


def test_stop_sends_sigterm_and_uploads_what_was_saved(sm, s3, bucket):
    code = """
        import os, signal, sys, time
        def stop(*_):
            open(os.path.join(os.environ["SM_MODEL_DIR"], "partial.txt"), "w").write("saved on SIGTERM")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        time.sleep(60)
    """
    sm.create_training_job(**training(s3, "eng-stop", bucket, code))
    wait_for(lambda: sm.describe_training_job(TrainingJobName="eng-stop")["SecondaryStatus"] == "Training")
    time.sleep(0.3)  # let the script install its handler
    started = time.monotonic()
    sm.stop_training_job(TrainingJobName="eng-stop")
    job = wait(sm, "eng-stop", timeout=10)
    assert time.monotonic() - started < 5
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "Stopped"
    model = untar(s3.get_object(Bucket=bucket, Key="out/eng-stop/output/model.tar.gz")["Body"].read())
    assert model == {"partial.txt": b"saved on SIGTERM"}


def test_max_runtime_stops_the_job(sm, s3, bucket):
    params = training(s3, "eng-maxrt", bucket, "import time; time.sleep(60)")
    params["StoppingCondition"] = {"MaxRuntimeInSeconds": 2}
    started = time.monotonic()
    sm.create_training_job(**params)
    job = wait(sm, "eng-maxrt", timeout=20)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert time.monotonic() - started < 10


@needs_sandbox
def test_two_hosts_see_each_other(sm, s3, bucket):
    for i in range(4):
        s3.put_object(Bucket=bucket, Key=f"shards/part-{i}.txt.gz", Body=gzip.compress(f"shard {i}".encode()))
    code = """
        import json, os, socket, time
        host = os.environ["SM_CURRENT_HOST"]
        hosts = json.loads(os.environ["SM_HOSTS"])
        config = json.load(open("/opt/ml/input/config/resourceconfig.json"))
        files = sorted(os.listdir("/opt/ml/input/data/train"))
        contents = [open("/opt/ml/input/data/train/" + f).read() for f in files]
        peer = "algo-2" if host == "algo-1" else "algo-1"
        address = socket.gethostbyname(peer)
        if host == "algo-1":
            server = socket.create_server(("0.0.0.0", 29517))
            conn, _ = server.accept()
            greeting = conn.recv(100).decode()
        else:
            for _ in range(100):
                try:
                    conn = socket.create_connection(("algo-1", 29517))
                    break
                except OSError:
                    time.sleep(0.05)
            conn.sendall(b"hello from " + host.encode())
            greeting = ""
        out = os.environ["SM_OUTPUT_DATA_DIR"]
        json.dump({"host": host, "hosts": hosts, "config_host": config["current_host"], "files": files,
                   "contents": contents, "peer": address, "greeting": greeting,
                   "hostname": socket.gethostname()}, open(f"{out}/{host}.json", "w"))
    """
    params = training(
        s3,
        "eng-multi",
        bucket,
        code,
        InputDataConfig=[
            {
                **channel("train", f"s3://{bucket}/shards/", S3DataDistributionType="ShardedByS3Key"),
                "CompressionType": "Gzip",
            }
        ],
    )
    params["ResourceConfig"]["InstanceCount"] = 2
    sm.create_training_job(**params)
    job = wait(sm, "eng-multi")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    output = untar(s3.get_object(Bucket=bucket, Key="out/eng-multi/output/output.tar.gz")["Body"].read())
    one, two = json.loads(output["algo-1.json"]), json.loads(output["algo-2.json"])
    assert one["hosts"] == two["hosts"] == ["algo-1", "algo-2"]
    assert (one["host"], one["config_host"], one["hostname"]) == ("algo-1",) * 3
    assert (two["host"], two["config_host"], two["hostname"]) == ("algo-2",) * 3
    assert one["files"] == ["part-0.txt", "part-2.txt"] and two["files"] == ["part-1.txt", "part-3.txt"]
    assert one["contents"] == ["shard 0", "shard 2"]
    assert one["peer"] == "127.0.0.1" and one["greeting"] == "hello from algo-2"


def test_checkpoints_sync_both_ways(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ckpt/eng-ckpt/step-1.pt", Body=b"old")
    code = """
        import os
        ckpt = "/opt/ml/checkpoints" if os.path.isdir("/opt/ml/checkpoints") else os.environ["OPENMAKER_OPT_ML"] + "/checkpoints"
        assert open(ckpt + "/step-1.pt").read() == "old"
        open(ckpt + "/step-2.pt", "w").write("new")
    """
    params = training(
        s3, "eng-ckpt", bucket, code, CheckpointConfig={"S3Uri": f"s3://{bucket}/ckpt/eng-ckpt"}
    )
    sm.create_training_job(**params)
    job = wait(sm, "eng-ckpt")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert s3.get_object(Bucket=bucket, Key="ckpt/eng-ckpt/step-2.pt")["Body"].read() == b"new"


def test_missing_input_fails_with_client_error(sm, s3, bucket):
    params = training(
        s3, "eng-noinput", bucket, "pass", InputDataConfig=[channel("train", f"s3://{bucket}/nothing/")]
    )
    sm.create_training_job(**params)
    job = wait(sm, "eng-noinput")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:") and "nothing" in job["FailureReason"]


def test_processing_job_inputs_and_outputs(server, sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"a,b\n1,2\n3,4\n")
    s3.put_object(
        Bucket=bucket,
        Key="code/preprocess.py",
        Body=b"import os, sys\n"
        b"rows = open('/opt/ml/processing/input/data/data.csv').read().splitlines()[1:]\n"
        b"os.makedirs('/opt/ml/processing/output/train', exist_ok=True)\n"
        b"open('/opt/ml/processing/output/train/rows.txt', 'w').write(str(len(rows)) + os.environ['GREETING'])\n"
        b"print('processed', len(rows), 'rows', sys.argv[1:])\n",
    )
    sm.create_processing_job(
        ProcessingJobName="eng-proc",
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": "openmaker/byo:latest",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
            "ContainerArguments": ["--split", "0.2"],
        },
        Environment={"GREETING": " rows!"},
        ProcessingInputs=[
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{bucket}/raw",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            },
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{bucket}/code/preprocess.py",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "train",
                    "S3Output": {
                        "S3Uri": f"s3://{bucket}/processed/train",
                        "LocalPath": "/opt/ml/processing/output/train",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    job = wait(sm, "eng-proc", kind="processing")
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert s3.get_object(Bucket=bucket, Key="processed/train/rows.txt")["Body"].read() == b"2 rows!"
    [(stream, lines)] = log_lines(server, "/aws/sagemaker/ProcessingJobs", "eng-proc/").items()
    assert re.fullmatch(r"eng-proc/algo-1-\d{10}", stream)
    assert "processed 2 rows ['--split', '0.2']" in lines


def test_capacity_queues_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENMAKER_SLOTS", "1")
    running = start_server(tmp_path / "home")
    try:
        sm, s3 = running.client("sagemaker"), running.client("s3")
        s3.create_bucket(Bucket="capacity")
        sm.create_training_job(**training(s3, "cap-first", "capacity", "import time; time.sleep(60)"))
        sm.create_training_job(**training(s3, "cap-second", "capacity", "print('second ran')"))
        wait_for(
            lambda: sm.describe_training_job(TrainingJobName="cap-first")["SecondaryStatus"] == "Training"
        )
        second = sm.describe_training_job(TrainingJobName="cap-second")
        assert second["TrainingJobStatus"] == "InProgress"
        assert second["SecondaryStatus"] == "Starting"
        assert "Waiting for capacity" in second["SecondaryStatusTransitions"][-1]["StatusMessage"]
        sm.stop_training_job(TrainingJobName="cap-first")
        assert wait(sm, "cap-first")["TrainingJobStatus"] == "Stopped"
        assert wait(sm, "cap-second")["TrainingJobStatus"] == "Completed"
    finally:
        running.stop()


def test_server_killed_during_a_job_ends_it_failed(tmp_path):
    running = start_server(tmp_path / "home")
    try:
        sm, s3 = running.client("sagemaker"), running.client("s3")
        s3.create_bucket(Bucket="restart")
        code = """
            import os, time
            while True:
                print("tick", flush=True)
                time.sleep(0.1)
        """
        sm.create_training_job(**training(s3, "rs-job", "restart", code))
        wait_for(lambda: sm.describe_training_job(TrainingJobName="rs-job")["SecondaryStatus"] == "Training")
        pids = [
            int(p)
            for p in os.listdir("/proc")
            if p.isdigit() and _environ_has(int(p), "TRAINING_JOB_NAME=rs-job")
        ]
        assert pids
        running.kill()
        running = start_server(running.home, running.port)
        sm = running.client("sagemaker")
        job = sm.describe_training_job(TrainingJobName="rs-job")
        assert job["TrainingJobStatus"] == "Failed"
        assert "server stopped while this job was running" in job["FailureReason"]
        wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=10)
    finally:
        running.stop()


def test_process_executor_rewrites_opt_ml(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENMAKER_EXECUTOR", "process")
    running = start_server(tmp_path / "home")
    try:
        sm, s3 = running.client("sagemaker"), running.client("s3")
        s3.create_bucket(Bucket="plain")
        code = """
            import os, sys
            root = os.environ["OPENMAKER_OPT_ML"]
            assert os.environ["SM_MODEL_DIR"] == root + "/model", os.environ["SM_MODEL_DIR"]
            assert sys.argv[1] == root + "/model/arg.txt", sys.argv
            open(sys.argv[1], "w").write("via argv")
        """
        params = training(s3, "plain-job", "plain", code)
        params["AlgorithmSpecification"]["ContainerEntrypoint"].append("/opt/ml/model/arg.txt")
        sm.create_training_job(**params)
        job = wait(sm, "plain-job")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        model = untar(s3.get_object(Bucket="plain", Key="out/plain-job/output/model.tar.gz")["Body"].read())
        assert model == {"arg.txt": b"via argv"}
    finally:
        running.stop()


def _environ_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return text.encode() in f.read().split(b"\0")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


_ = signal  # (kept for readers: stopping is SIGTERM then SIGKILL)


@needs_sandbox
def test_network_isolation_cuts_the_job_off(sm, s3, bucket):
    code = """
        import os, socket, urllib.parse
        url = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
        try:
            socket.create_connection((url.hostname, url.port), timeout=2)
            raise SystemExit("the server was reachable")
        except OSError:
            print("isolated")
    """
    sm.create_training_job(**training(s3, "eng-isolated", bucket, code, EnableNetworkIsolation=True))
    job = wait(sm, "eng-isolated")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")


def test_pipe_mode_is_refused_clearly(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pipe/x", Body=b"x")
    params = training(
        s3, "eng-pipe", bucket, "pass", InputDataConfig=[channel("train", f"s3://{bucket}/pipe/")]
    )
    params["InputDataConfig"][0]["InputMode"] = "Pipe"
    sm.create_training_job(**params)
    job = wait(sm, "eng-pipe")
    assert job["TrainingJobStatus"] == "Failed"
    assert "Pipe input mode is not supported" in job["FailureReason"]


def test_one_host_crashing_fails_the_job_and_ends_the_others(sm, s3, bucket):
    code = """
        import os, sys, time
        if os.environ["SM_CURRENT_HOST"] == "algo-2":
            sys.exit("algo-2 gave up")
        time.sleep(60)
    """
    params = training(s3, "eng-hostcrash", bucket, code)
    params["ResourceConfig"]["InstanceCount"] = 2
    started = time.monotonic()
    sm.create_training_job(**params)
    job = wait(sm, "eng-hostcrash", timeout=30)
    assert time.monotonic() - started < 15
    assert job["TrainingJobStatus"] == "Failed"
    assert "on algo-2 exited with code 1" in job["FailureReason"]
    assert "algo-2 gave up" in job["FailureReason"]
