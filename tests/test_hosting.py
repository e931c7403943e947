"""Real-time hosting through the session server with boto3's low-level clients: models, endpoint
configs, endpoints, InvokeEndpoint, variants, blue/green updates, pipelines, data capture, errors.

The model server is a BYO serving image (a tiny HTTP server registered with a serve entrypoint,
inline so the sandbox can run it); its behaviour comes from its model.tar.gz (``answer.txt``) and
its Environment, so each model is told apart by what it answers.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from openmaker.storage.images import ImageRegistry, RegisteredImage

ROLE = "arn:aws:iam::000000000000:role/openmaker-test"
IMAGE = "hosting-test-server:1"

SERVER = r"""
import http.server, os, pathlib, sys, time
root = pathlib.Path(os.environ.get("OPENMAKER_OPT_ML") or "/opt/ml")
answer = (root / "model" / "answer.txt").read_text()
if os.environ.get("FAIL_START"):
    print("cannot load model: " + os.environ["FAIL_START"], file=sys.stderr, flush=True)
    sys.exit(2)
time.sleep(float(os.environ.get("SLOW_START") or 0))
stage = os.environ.get("STAGE", "")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def _send(self, code, body, ctype, extra=()):
        self.send_response(code); self.send_header("Content-Type", ctype)
        for k, v in extra: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self): self._send(200, b"", "text/plain")
    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ctype = self.headers.get("Content-Type") or ""
        if data == b"fail500":
            return self._send(500, b"the model refused this input", "text/plain")
        if data == b"crash":
            print("crashing on purpose", file=sys.stderr, flush=True)
            os._exit(1)
        if stage == "upper":
            return self._send(200, data.upper(), "application/x-upper")
        out = f"{answer}:{data.decode(errors='replace')}:{ctype}".encode()
        attrs = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        extra = [("X-Amzn-SageMaker-Custom-Attributes", "seen=" + attrs)] if attrs else []
        self._send(200, out, self.headers.get("Accept") or "text/plain", extra)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), H).serve_forever()
"""


def model_tar(answer: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = answer.encode()
        info = tarfile.TarInfo("answer.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sm(server):
    argv = [sys.executable, "-c", SERVER]
    ImageRegistry(server.home).add(RegisteredImage(IMAGE, argv, serve_entrypoint=argv))
    return server.client("sagemaker")


@pytest.fixture(scope="module")
def rt(server):
    return server.client("sagemaker-runtime")


@pytest.fixture(scope="module")
def models_bucket(s3):
    s3.create_bucket(Bucket="hosting-models")
    return "hosting-models"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_model(sm, s3, bucket: str, answer: str, env: dict | None = None, name: str | None = None) -> str:
    name = name or unique("m")
    key = f"{name}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_tar(answer))
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}", "Environment": env or {}},
    )
    return name


def variant(model: str, name: str = "AllTraffic", weight: float = 1.0, count: int = 1) -> dict:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": count,
        "InstanceType": "ml.m5.large",
        "InitialVariantWeight": weight,
    }


def deploy(sm, variants: list[dict], wait: bool = True, **config) -> str:
    name = unique("ep")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    if wait:
        wait_status(sm, name)
    return name


def wait_status(sm, name: str, until=("InService", "Failed"), timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] in until:
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.05)


def invoke(rt, name: str, body: bytes = b"1,2", **extra) -> dict:
    response = rt.invoke_endpoint(
        EndpointName=name, Body=body, ContentType=extra.pop("ContentType", "text/csv"), **extra
    )
    response["Payload"] = response["Body"].read()
    return response


def error_of(call) -> dict:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response


# --- the API ------------------------------------------------------------------------------------


def test_create_describe_list_delete(server, sm, rt, s3, models_bucket):
    model = make_model(sm, s3, models_bucket, "alpha")
    err = error_of(lambda: make_model(sm, s3, models_bucket, "alpha", name=model))
    assert err["Error"]["Code"] == "ValidationException"
    assert (
        f'Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/{model}".'
        == err["Error"]["Message"]
    )
    described = sm.describe_model(ModelName=model)
    assert described["PrimaryContainer"]["Image"] == IMAGE and described["ModelArn"].endswith(
        f"model/{model}"
    )
    assert model in [m["ModelName"] for m in sm.list_models(NameContains=model)["Models"]]
    err = error_of(lambda: sm.describe_model(ModelName="nope-model"))
    assert (
        err["Error"]["Message"]
        == 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/nope-model".'
    )

    err = error_of(lambda: sm.describe_endpoint_config(EndpointConfigName="nope-config"))
    assert (
        err["Error"]["Code"] == "ValidationException"
        and "Could not find endpoint configuration" in err["Error"]["Message"]
    )
    err = error_of(
        lambda: sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant("nope-model")])
    )
    assert "Could not find model" in err["Error"]["Message"]

    name = deploy(sm, [variant(model)], wait=False)
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] in ("Creating", "InService")
    err = error_of(lambda: sm.create_endpoint(EndpointName=name, EndpointConfigName=name))
    assert "Cannot create already existing endpoint" in err["Error"]["Message"]
    described = wait_status(sm, name)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    [summary] = described["ProductionVariants"]
    assert summary["VariantName"] == "AllTraffic"
    assert summary["CurrentInstanceCount"] == summary["DesiredInstanceCount"] == 1
    assert summary["CurrentWeight"] == summary["DesiredWeight"] == 1.0
    assert summary["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    config = sm.describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"][0]["ModelName"] == model
    assert name in [e["EndpointName"] for e in sm.list_endpoints(NameContains=name)["Endpoints"]]
    assert name in [
        c["EndpointConfigName"] for c in sm.list_endpoint_configs(NameContains=name)["EndpointConfigs"]
    ]

    response = invoke(rt, name, b"1,2", Accept="application/json", CustomAttributes="k=v")
    assert response["Payload"] == b"alpha:1,2:text/csv"
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["CustomAttributes"] == "seen=k=v"
    logs = server_logs(server, name)
    assert logs, "the endpoint's log group has streams"

    sm.delete_endpoint(EndpointName=name)
    err = error_of(lambda: sm.describe_endpoint(EndpointName=name))
    assert (
        err["Error"]["Message"]
        == f'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/{name}".'
    )
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=model)
    assert "Could not find" in error_of(lambda: sm.delete_model(ModelName=model))["Error"]["Message"]
    assert "Could not find" in error_of(lambda: sm.delete_endpoint(EndpointName=name))["Error"]["Message"]


def server_logs(server, name: str) -> list[str]:
    streams = server.client("logs").describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{name}")
    return [s["logStreamName"] for s in streams["logStreams"]]


# --- variants -----------------------------------------------------------------------------------


def test_weights_target_variant_and_capacity(sm, rt, s3, models_bucket):
    a = make_model(sm, s3, models_bucket, "A")
    b = make_model(sm, s3, models_bucket, "B")
    name = deploy(sm, [variant(a, "VA", 0.3), variant(b, "VB", 0.7)])
    counts = {"VA": 0, "VB": 0}
    for _ in range(1000):
        response = invoke(rt, name)
        counts[response["InvokedProductionVariant"]] += 1
        assert response["Payload"].startswith(
            b"A:" if response["InvokedProductionVariant"] == "VA" else b"B:"
        )
    assert 250 <= counts["VA"] <= 350 and 650 <= counts["VB"] <= 750, counts
    for _ in range(20):
        assert invoke(rt, name, TargetVariant="VA")["Payload"].startswith(b"A:")
    err = error_of(lambda: invoke(rt, name, TargetVariant="VC"))
    assert err["Error"]["Code"] == "ValidationError"

    sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[
            {"VariantName": "VA", "DesiredWeight": 0.0},
            {"VariantName": "VB", "DesiredWeight": 1.0, "DesiredInstanceCount": 2},
        ],
    )
    described = wait_status(sm, name)
    by_name = {v["VariantName"]: v for v in described["ProductionVariants"]}
    assert by_name["VB"]["CurrentInstanceCount"] == by_name["VB"]["DesiredInstanceCount"] == 2
    assert by_name["VA"]["DesiredWeight"] == 0.0
    assert {invoke(rt, name)["InvokedProductionVariant"] for _ in range(50)} == {"VB"}
    err = error_of(
        lambda: sm.update_endpoint_weights_and_capacities(
            EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "VZ", "DesiredWeight": 1.0}]
        )
    )
    assert "VZ" in err["Error"]["Message"]
    sm.delete_endpoint(EndpointName=name)


def test_update_endpoint_blue_green_under_load(sm, rt, s3, models_bucket):
    old = make_model(sm, s3, models_bucket, "old")
    new = make_model(sm, s3, models_bucket, "new")
    name = deploy(sm, [variant(old)])
    sm.create_endpoint_config(EndpointConfigName=name + "-v2", ProductionVariants=[variant(new)])
    failures: list[str] = []
    answers: list[bytes] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                answers.append(invoke(rt, name)["Payload"].split(b":")[0])
            except Exception as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=name + "-v2")
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] in ("Updating", "InService")
    described = wait_status(sm, name)
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert described["EndpointConfigName"] == name + "-v2" and "FailureReason" not in described
    assert b"old" in answers and b"new" in answers
    assert {invoke(rt, name)["Payload"].split(b":")[0] for _ in range(30)} == {b"new"}
    sm.delete_endpoint(EndpointName=name)


# --- pipelines ----------------------------------------------------------------------------------


def _pipeline(sm, s3, bucket: str, mode: str) -> str:
    name = unique("pipe")
    s3.put_object(Bucket=bucket, Key=f"{name}/m.tar.gz", Body=model_tar("second"))
    uri = f"s3://{bucket}/{name}/m.tar.gz"
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        Containers=[
            {
                "Image": IMAGE,
                "ModelDataUrl": uri,
                "Environment": {"STAGE": "upper"},
                "ContainerHostname": "first",
            },
            {"Image": IMAGE, "ModelDataUrl": uri, "ContainerHostname": "second"},
        ],
        InferenceExecutionConfig={"Mode": mode},
    )
    return name


def test_serial_and_direct_pipelines(sm, rt, s3, models_bucket):
    serial = deploy(sm, [variant(_pipeline(sm, s3, models_bucket, "Serial"))])
    assert invoke(rt, serial, b"abc")["Payload"] == b"second:ABC:application/x-upper"
    direct = deploy(sm, [variant(_pipeline(sm, s3, models_bucket, "Direct"))])
    assert invoke(rt, direct, b"abc", TargetContainerHostname="first")["Payload"] == b"ABC"
    assert invoke(rt, direct, b"abc", TargetContainerHostname="second")["Payload"] == b"second:abc:text/csv"
    assert error_of(lambda: invoke(rt, direct, b"abc"))["Error"]["Code"] == "ValidationError"
    sm.delete_endpoint(EndpointName=serial)
    sm.delete_endpoint(EndpointName=direct)


# --- data capture -------------------------------------------------------------------------------


def test_data_capture_layout_and_round_trip(server, sm, rt, s3, models_bucket):
    s3.create_bucket(Bucket="hosting-capture")
    model = make_model(sm, s3, models_bucket, "cap")
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://hosting-capture/dc",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
    }
    name = deploy(sm, [variant(model)], DataCaptureConfig=capture)
    described = sm.describe_endpoint(EndpointName=name)["DataCaptureConfig"]
    assert described["CaptureStatus"] == "Started" and described["CurrentSamplingPercentage"] == 100
    sent = {f"{i},{i + 1}".encode(): None for i in range(5)}
    sent[b"\x00\xffbinary"] = None
    for body in sent:
        invoke(
            rt,
            name,
            body,
            ContentType="text/csv" if body[0:1].isdigit() else "application/octet-stream",
            InferenceId=f"id-{len(body)}",
        )
    keys: list[str] = []
    deadline = time.monotonic() + 10
    records: list[dict] = []
    while time.monotonic() < deadline and len(records) < len(sent):
        listed = s3.list_objects_v2(Bucket="hosting-capture", Prefix=f"dc/{name}/")
        keys = [o["Key"] for o in listed.get("Contents", [])]
        records = [
            json.loads(line)
            for key in keys
            for line in s3.get_object(Bucket="hosting-capture", Key=key)["Body"].read().decode().splitlines()
        ]
        time.sleep(0.2)
    assert len(records) == len(sent)
    pattern = re.compile(
        rf"^dc/{name}/AllTraffic/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/\d{{2}}-\d{{2}}-\d{{3}}-[0-9a-f-]{{36}}\.jsonl$"
    )
    assert all(pattern.match(key) for key in keys), keys
    from openmaker.engine.hosting.capture import decode

    got = {decode(r["captureData"]["endpointInput"]): r for r in records}
    assert set(got) == set(sent)
    csv = got[b"0,1"]
    assert csv["captureData"]["endpointInput"]["encoding"] == "CSV" and csv["eventVersion"] == "0"
    assert decode(csv["captureData"]["endpointOutput"]) == b"cap:0,1:text/csv"
    assert csv["eventMetadata"]["inferenceId"] == "id-3" and csv["eventMetadata"]["eventId"]
    assert got[b"\x00\xffbinary"]["captureData"]["endpointInput"]["encoding"] == "BASE64"
    exported = subprocess.run(
        [sys.executable, "-m", "openmaker", "capture", "export", name],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert sorted(exported) == sorted(json.dumps(r) for r in records)
    sm.delete_endpoint(EndpointName=name)


# --- bad input and failures ---------------------------------------------------------------------


def test_invoke_errors(sm, rt, s3, models_bucket):
    err = error_of(lambda: invoke(rt, "no-such-endpoint"))
    assert err["Error"]["Code"] == "ValidationError"
    assert err["Error"]["Message"] == "Endpoint no-such-endpoint of account 000000000000 not found."

    slow = deploy(sm, [variant(make_model(sm, s3, models_bucket, "slow", {"SLOW_START": "3"}))], wait=False)
    err = error_of(lambda: invoke(rt, slow))
    assert err["Error"]["Code"] == "ValidationError" and "Creating" in err["Error"]["Message"]

    model = make_model(sm, s3, models_bucket, "err")
    name = deploy(sm, [variant(model)])
    err = error_of(lambda: invoke(rt, name, b"x" * (6 * 1024 * 1024 + 1)))
    assert err["Error"]["Code"] == "ValidationError"
    assert err["Error"]["Message"] == f"Request {err['ResponseMetadata']['RequestId']} has oversize body."
    assert invoke(rt, name, b"x" * (6 * 1024 * 1024))["Payload"].startswith(b"err:")

    err = error_of(lambda: invoke(rt, name, b"fail500"))
    assert err["Error"]["Code"] == "ModelError" and err["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert err["OriginalStatusCode"] == 500 and err["OriginalMessage"] == "the model refused this input"
    assert err["LogStreamArn"].startswith(
        f"arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/{name}"
    )
    assert "Received server error (500) from primary" in err["Error"]["Message"]

    started = time.monotonic()
    err = error_of(lambda: invoke(rt, name, b"crash"))
    assert time.monotonic() - started < 10
    assert err["Error"]["Code"] == "ModelError" and "closed the connection" in err["Error"]["Message"]
    deadline = time.monotonic() + 20
    while True:
        try:
            assert invoke(rt, name)["Payload"].startswith(b"err:")
            break
        except ClientError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert wait_status(sm, slow)["EndpointStatus"] == "InService"
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint(EndpointName=slow)


def test_model_server_that_cannot_start_fails_the_endpoint(sm, rt, s3, models_bucket):
    model = make_model(sm, s3, models_bucket, "bad", {"FAIL_START": "weights are corrupt"})
    name = deploy(sm, [variant(model)])
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    assert "cannot load model: weights are corrupt" in described["FailureReason"]
    err = error_of(lambda: invoke(rt, name))
    assert "Failed" in err["Error"]["Message"]
    sm.delete_endpoint(EndpointName=name)
