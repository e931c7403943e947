"""Batch transform through the real server and boto3: records in input order, one ``.out`` per input
file, batching strategies, compression, manifests, DataProcessing, failures and Stop.

The model is a tiny BYO model server registered like a user's image (``openmaker images add
--serve-entrypoint``): it answers CSV rows with the sum of their columns and JSON lines with a score.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import subprocess
import sys
import time

import pytest

from enginehelp import ROLE, TERMINAL, log_lines

IMAGE = "openmaker-test/transform-echo:1"

# CSV rows → the sum of their numeric columns; JSON lines → {"score": sum of "features"}; anything
# else → {"size": <bytes>, "first": <first byte>}. A payload containing "poison" is refused with
# HTTP 400; SLEEP (seconds) delays every answer; EXEC_PARAMS is served on GET /execution-parameters.
SERVER = r"""
import http.server, json, os, sys, threading, time
def answer(body, ctype):
    if b"poison" in body:
        line = next(l for l in body.split(b"\n") if b"poison" in l)
        return 400, b"poisoned record: " + line
    if ctype.startswith("text/csv"):
        out = [repr(sum(float(v) for v in line.split(","))) for line in body.decode().splitlines() if line]
        return 200, ("\n".join(out) + "\n").encode()
    if "json" in ctype:
        out = [json.dumps({"score": sum(json.loads(l)["features"])}) for l in body.decode().splitlines() if l.strip()]
        return 200, ("\n".join(out) + "\n").encode()
    return 200, json.dumps({"size": len(body), "first": body[0] if body else None}).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def _send(self, code, body, ctype="text/plain"):
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/execution-parameters":
            params = os.environ.get("EXEC_PARAMS")
            return self._send(200 if params else 404, (params or "").encode(), "application/json")
        self._send(200, b"")
    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if os.environ.get("SLEEP"): time.sleep(float(os.environ["SLEEP"]))
        ctype = self.headers.get("Content-Type") or ""
        code, body = answer(data, ctype)
        print(f"invocation {ctype} {len(data)} bytes -> {code}", flush=True)
        self._send(code, body, self.headers.get("Accept") or ctype)
print("transform echo server ready", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), H).serve_forever()
"""


# --- helpers --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sm(server):
    """The SageMaker client, with the echo image registered the way a user does it."""
    argv = shlex.join([sys.executable, "-c", SERVER])
    env = dict(os.environ, OPENMAKER_HOME=str(server.home))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "openmaker",
            "images",
            "add",
            IMAGE,
            "--entrypoint",
            argv,
            "--serve-entrypoint",
            argv,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return server.client("sagemaker")


def create_model(sm, name: str, environment: dict[str, str] | None = None, containers: int = 1) -> None:
    container = {"Image": IMAGE, "Environment": environment or {}}
    params: dict = {"ModelName": name, "ExecutionRoleArn": ROLE}
    if containers == 1:
        params["PrimaryContainer"] = container
    else:
        params["Containers"] = [dict(container, ContainerHostname=f"c{i}") for i in range(containers)]
    sm.create_model(**params)


def transform(name: str, model: str, source: str, output: str, **extra) -> dict:
    """CreateTransformJob params, with shortcuts for the options tests vary."""
    params = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": extra.pop("data_type", "S3Prefix"), "S3Uri": source}
            },
            "ContentType": extra.pop("content_type", "text/csv"),
            "SplitType": extra.pop("split", "Line"),
            "CompressionType": extra.pop("compression", "None"),
        },
        "TransformOutput": {
            "S3OutputPath": output,
            "Accept": extra.pop("accept", "text/csv"),
            "AssembleWith": extra.pop("assemble", "Line"),
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": extra.pop("instances", 1)},
    }
    params.update(extra)
    return params


def wait(sm, name: str, timeout: float = 60, until=TERMINAL) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = sm.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in until or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def run(sm, params: dict, timeout: float = 60) -> dict:
    sm.create_transform_job(**params)
    return wait(sm, params["TransformJobName"], timeout)


def read(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def outputs(s3, bucket: str, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


# --- tests ----------------------------------------------------------------------------------------


def test_200k_rows_in_order_joined_to_their_input(server, sm, s3, bucket):
    rows = 200_000
    body = "".join(f"{i},{i % 7},{i % 13}\n" for i in range(rows)).encode()
    s3.put_object(Bucket=bucket, Key="in/big.csv", Body=body)
    create_model(sm, "tr-big")
    params = transform(
        "tr-big",
        "tr-big",
        f"s3://{bucket}/in/",
        f"s3://{bucket}/out",
        BatchStrategy="MultiRecord",
        MaxConcurrentTransforms=4,
        MaxPayloadInMB=1,
        DataProcessing={"JoinSource": "Input"},
    )
    started = time.monotonic()
    job = run(sm, params, timeout=60)
    elapsed = time.monotonic() - started
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = read(s3, bucket, "out/big.csv.out").decode().splitlines()
    assert len(lines) == rows
    for i in (0, 1, 7, 12_345, 99_999, 150_001, rows - 1):
        assert lines[i] == f"{i},{i % 7},{i % 13},{float(i + i % 7 + i % 13)!r}"
    ids = [int(line.split(",", 1)[0]) for line in lines]
    assert ids == list(range(rows))
    print(f"200k-row transform: {elapsed:.2f} s end to end, {rows / elapsed:,.0f} rows/s")
    assert elapsed < 30


def test_single_record_multiple_files_keep_relative_paths(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=bucket, Key="data/sub/b.csv", Body=b"10,20\n\n30,40\n50,60")
    s3.put_object(Bucket=bucket, Key="data/empty.csv", Body=b"")
    create_model(sm, "tr-single")
    params = transform(
        "tr-single",
        "tr-single",
        f"s3://{bucket}/data",
        f"s3://{bucket}/results/",
        BatchStrategy="SingleRecord",
    )
    job = run(sm, params)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert outputs(s3, bucket, "results/") == [
        "results/a.csv.out",
        "results/empty.csv.out",
        "results/sub/b.csv.out",
    ]
    assert read(s3, bucket, "results/a.csv.out") == b"3.0\n7.0\n"
    assert read(s3, bucket, "results/sub/b.csv.out") == b"30.0\n70.0\n110.0\n"
    assert read(s3, bucket, "results/empty.csv.out") == b""


def test_manifest_gzip_and_two_instances(server, sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="raw/x.csv.gz", Body=gzip.compress(b"1,1\n2,2\n"))
    s3.put_object(Bucket=bucket, Key="raw/deep/y.csv.gz", Body=gzip.compress(b"5,5\n"))
    s3.put_object(Bucket=bucket, Key="raw/ignored.csv.gz", Body=gzip.compress(b"9,9\n"))
    manifest = [{"prefix": f"s3://{bucket}/raw/"}, "deep/y.csv.gz", "x.csv.gz"]
    s3.put_object(Bucket=bucket, Key="manifest.json", Body=json.dumps(manifest).encode())
    create_model(sm, "tr-manifest")
    params = transform(
        "tr-manifest",
        "tr-manifest",
        f"s3://{bucket}/manifest.json",
        f"s3://{bucket}/m-out",
        data_type="ManifestFile",
        compression="Gzip",
        instances=2,
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=2,
    )
    job = run(sm, params)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert outputs(s3, bucket, "m-out/") == ["m-out/deep/y.csv.gz.out", "m-out/x.csv.gz.out"]
    assert read(s3, bucket, "m-out/x.csv.gz.out") == b"2.0\n4.0\n"
    streams = log_lines(server, "/aws/sagemaker/TransformJobs", "tr-manifest/")
    assert len(streams) == 2
    assert all(re.fullmatch(r"tr-manifest/i-[0-9a-f]{17}-\d{10}", name) for name in streams)
    every = [line for lines in streams.values() for line in lines]
    assert any("transform echo server ready" in line for line in every)
    assert any(
        "MaxConcurrentTransforms=2, MaxPayloadInMB=6, BatchStrategy=SingleRecord" in line for line in every
    )
    assert any(f"{bucket}/raw/x.csv.gz: 2 records in 2 requests" in line for line in every)


def test_split_none_sends_each_file_whole(sm, s3, bucket):
    images = {"img/cat.jpg": bytes([255, 216, 1, 2, 3]), "img/dog.jpg": bytes([7]) * 1000}
    for key, data in images.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    create_model(sm, "tr-images")
    params = transform(
        "tr-images",
        "tr-images",
        f"s3://{bucket}/img/",
        f"s3://{bucket}/pred/",
        content_type="application/x-image",
        accept="application/json",
        split="None",
        assemble="None",
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=16,
        MaxPayloadInMB=6,
    )
    job = run(sm, params)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert json.loads(read(s3, bucket, "pred/cat.jpg.out")) == {"size": 5, "first": 255}
    assert json.loads(read(s3, bucket, "pred/dog.jpg.out")) == {"size": 1000, "first": 7}


def test_csv_input_filter_join_and_output_filter(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="f/rows.csv", Body=b'id-1,1,2\nid-2,3,4\n"id,3",5,6\n')
    create_model(sm, "tr-filter")
    params = transform(
        "tr-filter",
        "tr-filter",
        f"s3://{bucket}/f/",
        f"s3://{bucket}/f-out/",
        BatchStrategy="MultiRecord",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    job = run(sm, params)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert read(s3, bucket, "f-out/rows.csv.out") == b'id-1,3.0\nid-2,7.0\n"id,3",11.0\n'
    assert job["DataProcessing"] == params["DataProcessing"]


def test_json_lines_filter_join_and_assemble_none(sm, s3, bucket):
    records = [{"id": i, "features": [i, 1]} for i in range(5)]
    s3.put_object(
        Bucket=bucket, Key="j/in.jsonl", Body="".join(json.dumps(r) + "\n" for r in records).encode()
    )
    create_model(sm, "tr-json")
    common = {
        "content_type": "application/jsonlines",
        "accept": "application/jsonlines",
        "BatchStrategy": "MultiRecord",
    }
    joined = transform(
        "tr-json-join",
        "tr-json",
        f"s3://{bucket}/j/",
        f"s3://{bucket}/j-join/",
        DataProcessing={
            "InputFilter": "$",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
        **common,
    )
    job = run(sm, joined)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = read(s3, bucket, "j-join/in.jsonl.out").decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": i, "SageMakerOutput": {"score": i + 1}} for i in range(5)
    ]
    raw = transform(
        "tr-json-none", "tr-json", f"s3://{bucket}/j/", f"s3://{bucket}/j-none/", assemble="None", **common
    )
    job = run(sm, raw)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    body = read(s3, bucket, "j-none/in.jsonl.out")
    assert body == "".join(json.dumps({"score": i + 1}) + "\n" for i in range(5)).encode()


def test_model_error_fails_that_file_only(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p/good.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key="p/bad.csv", Body=b"1,2\npoison,3\n4,5\n")
    create_model(sm, "tr-poison")
    params = transform("tr-poison", "tr-poison", f"s3://{bucket}/p/", f"s3://{bucket}/p-out/")
    job = run(sm, params)
    assert job["TransformJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith(f"ClientError: {bucket}/p/bad.csv: the model answered HTTP 400"), reason
    assert "poisoned record: poison,3" in reason
    assert outputs(s3, bucket, "p-out/") == ["p-out/good.csv.out"]
    assert "TransformEndTime" in job


def test_stop(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="s/rows.csv", Body=b"".join(b"%d,1\n" % i for i in range(50)))
    create_model(sm, "tr-stop", {"SLEEP": "0.5"})
    params = transform(
        "tr-stop", "tr-stop", f"s3://{bucket}/s/", f"s3://{bucket}/s-out/", BatchStrategy="SingleRecord"
    )
    sm.create_transform_job(**params)
    wait(sm, "tr-stop", until=("InProgress",))
    time.sleep(2)
    sm.stop_transform_job(TransformJobName="tr-stop")
    assert sm.describe_transform_job(TransformJobName="tr-stop")["TransformJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    job = wait(sm, "tr-stop", timeout=20)
    assert job["TransformJobStatus"] == "Stopped"
    assert outputs(s3, bucket, "s-out/") == []


def test_describe_list_and_errors(sm, s3, bucket):
    s3.put_object(Bucket=bucket, Key="d/a.csv", Body=b"1\n")
    create_model(
        sm,
        "tr-describe",
        {
            "EXEC_PARAMS": json.dumps(
                {"MaxConcurrentTransforms": 3, "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 2}
            )
        },
    )
    params = transform(
        "tr-describe",
        "tr-describe",
        f"s3://{bucket}/d/",
        f"s3://{bucket}/d-out",
        Environment={"A": "1"},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    sm.create_transform_job(**params)
    job = wait(sm, "tr-describe")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TransformJobArn"] == "arn:aws:sagemaker:us-east-1:000000000000:transform-job/tr-describe"
    assert job["ModelName"] == "tr-describe"
    assert job["TransformInput"] == params["TransformInput"]
    assert job["TransformOutput"] == params["TransformOutput"]
    assert job["TransformResources"] == params["TransformResources"]
    assert job["Environment"] == {"A": "1"}
    assert (job["MaxConcurrentTransforms"], job["MaxPayloadInMB"], job["BatchStrategy"]) == (
        3,
        2,
        "MultiRecord",
    )
    assert job["CreationTime"] <= job["TransformStartTime"] <= job["TransformEndTime"]

    listed = sm.list_transform_jobs(NameContains="tr-describe")["TransformJobSummaries"]
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in listed] == [
        ("tr-describe", "Completed")
    ]
    sm.create_transform_job(**dict(params, TransformJobName="tr-describe-page"))  # a second one to page over
    first = sm.list_transform_jobs(NameContains="tr-describe", SortBy="Name", SortOrder="Ascending", MaxResults=1)
    assert [j["TransformJobName"] for j in first["TransformJobSummaries"]] == ["tr-describe"]
    second = sm.list_transform_jobs(
        NameContains="tr-describe", SortBy="Name", SortOrder="Ascending", MaxResults=1, NextToken=first["NextToken"]
    )
    assert [j["TransformJobName"] for j in second["TransformJobSummaries"]] == ["tr-describe-page"]
    assert "NextToken" not in second
    completed = sm.list_transform_jobs(NameContains="tr-describe", StatusEquals="Completed")
    assert "tr-describe" in [j["TransformJobName"] for j in completed["TransformJobSummaries"]]

    with pytest.raises(sm.exceptions.ClientError) as error:
        sm.create_transform_job(**params)
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(sm.exceptions.ClientError) as error:
        sm.create_transform_job(**dict(params, TransformJobName="tr-nomodel", ModelName="no-such-model"))
    assert 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/no-such-model"' in str(
        error.value
    )
    bad = dict(params, TransformJobName="tr-badpath", DataProcessing={"InputFilter": "features"})
    with pytest.raises(sm.exceptions.ClientError, match="must start with"):
        sm.create_transform_job(**bad)
    with pytest.raises(sm.exceptions.ClientError, match="Could not find requested job"):
        sm.describe_transform_job(TransformJobName="tr-nothing")
    with pytest.raises(sm.exceptions.ClientError, match="The job status is Completed"):
        sm.stop_transform_job(TransformJobName="tr-describe")


def test_pipeline_model_chains_containers(sm, s3, bucket):
    # Two containers: the first answers CSV sums, the second sums those sums again (still one column).
    s3.put_object(Bucket=bucket, Key="pl/rows.csv", Body=b"1,2\n3,4\n")
    create_model(sm, "tr-pipeline", containers=2)
    params = transform("tr-pipeline", "tr-pipeline", f"s3://{bucket}/pl/", f"s3://{bucket}/pl-out/")
    job = run(sm, params)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert read(s3, bucket, "pl-out/rows.csv.out") == b"3.0\n7.0\n"


def test_missing_input_fails_with_client_error(sm, s3, bucket):
    create_model(sm, "tr-noinput")
    job = run(sm, transform("tr-noinput", "tr-noinput", f"s3://{bucket}/nothing/", f"s3://{bucket}/o/"))
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == f"ClientError: no objects found under s3://{bucket}/nothing/"
