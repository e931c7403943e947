"""Hosting with models and requests that go wrong, through boto3's low-level clients.

* A ``model.tar.gz`` that tries to write outside its directory (``../`` members, an absolute path, a
  symlink out and a member written through it): CreateModel accepts it (the service does not open the
  archive there), the endpoint ends ``Failed`` with a FailureReason naming the member, and nothing is
  written anywhere.
* A ``predict_fn`` that raises: ``ModelError`` (424) carrying the script's message, and the endpoint goes
  on serving the next good request.
* The runtime's own refusals: a body over 6 MB, an unknown endpoint.

The models run on the scikit-learn framework image (openmaker's model server), with the inference script
inside the model at ``code/inference.py`` as the inference toolkit finds it.
"""

from __future__ import annotations

import io
import tarfile
import time
import uuid

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/openmaker-test"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

INFERENCE = """
def model_fn(model_dir):
    return {"scale": 2.0}


def input_fn(body, content_type):
    return [float(value) for value in body.split(",")]


def predict_fn(data, model):
    if any(value < 0 for value in data):
        raise ValueError(f"negative inputs cannot be scored: {data}")
    return [value * model["scale"] for value in data]


def output_fn(prediction, accept):
    return ",".join(str(value) for value in prediction), "text/csv"
"""


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link_member(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def targz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, None if data is None else io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sm(server):
    return server.client("sagemaker")


@pytest.fixture(scope="module")
def rt(server):
    return server.client("sagemaker-runtime")


@pytest.fixture(scope="module")
def store(s3):
    s3.create_bucket(Bucket="bad-models")
    return "bad-models"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(sm, s3, bucket: str, archive: bytes) -> str:
    """Model + endpoint config + endpoint for ``archive``; returns the endpoint name (not waited on)."""
    name = unique("bad")
    s3.put_object(Bucket=bucket, Key=f"{name}/model.tar.gz", Body=archive)
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{name}/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def settle(sm, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in ("Creating", "Updating"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.1)


def remove(sm, name: str) -> None:
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)


def test_archives_that_escape_fail_the_endpoint(server, sm, s3, store, tmp_path):
    token = uuid.uuid4().hex[:10]
    outside = tmp_path / "outside"
    outside.mkdir()
    code = file_member("code/inference.py", INFERENCE.encode())
    cases = {
        "dot-dot": (
            [code, file_member(f"../../../../../../../..{outside}/dotdot-{token}.txt", b"x")],
            "would land outside the target directory",
        ),
        "absolute": (
            [code, file_member(f"{outside}/absolute-{token}.txt", b"x")],
            "would land outside the target directory",
        ),
        "symlink-absolute": (
            [code, link_member("escape", str(outside)), file_member(f"escape/through-{token}.txt", b"x")],
            "points to an absolute path",
        ),
        "symlink-relative": (
            [
                code,
                link_member("up", "../../../../../../.."),
                file_member(f"up/{outside}/up-{token}.txt", b"x"),
            ],
            "points outside the target",
        ),
    }
    names = {case: create(sm, s3, store, targz(members)) for case, (members, _) in cases.items()}
    for case, name in names.items():
        described = settle(sm, name)
        assert described["EndpointStatus"] == "Failed", (case, described)
        reason = described["FailureReason"]
        assert f"s3://{store}/{name}/model.tar.gz was refused" in reason and cases[case][1] in reason, (
            case,
            reason,
        )
        # A failed endpoint is refused at the runtime with its status and reason.
        with pytest.raises(ClientError) as info:
            rt_invoke(server, name, b"1")
        assert info.value.response["Error"]["Code"] == "ValidationError"
        assert "is not in service: its status is Failed" in info.value.response["Error"]["Message"]
        remove(sm, name)

    assert list(outside.iterdir()) == []
    assert list(server.home.rglob(f"*{token}*")) == []
    # The failed deployments left no workspace behind.
    for name in names.values():
        assert not list((server.home / "hosting").glob(f"*{name}*/*"))


def rt_invoke(server, name: str, body: bytes, **extra) -> dict:
    return server.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Body=body, **extra
    )


def test_predict_fn_error_is_model_error_and_endpoint_keeps_serving(sm, rt, s3, store):
    name = create(sm, s3, store, targz([file_member("code/inference.py", INFERENCE.encode())]))
    try:
        described = settle(sm, name)
        assert described["EndpointStatus"] == "InService", described.get("FailureReason")
        good = rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,2.5")
        assert good["Body"].read() == b"2.0,5.0"

        for _ in range(3):
            with pytest.raises(rt.exceptions.ModelError) as info:
                rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"3,-1")
            response = info.value.response
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
            assert response["OriginalStatusCode"] == 500
            assert "ValueError: negative inputs cannot be scored: [3.0, -1.0]" in response["OriginalMessage"]
            message = response["Error"]["Message"]
            assert message.startswith("Received server error (500) from primary with message")
            assert "negative inputs cannot be scored" in message
            assert f"/aws/sagemaker/Endpoints/{name}" in message
            # ... and the very next request is served by the same, still healthy, model server.
            again = rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"4")
            assert again["Body"].read() == b"8.0"
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    finally:
        remove(sm, name)


def test_runtime_refusals(sm, rt, s3, store):
    with pytest.raises(ClientError) as info:
        rt.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=b"1")
    error = info.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == "Endpoint no-such-endpoint of account 000000000000 not found."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400

    # Over 6 MB: refused before any model server sees it (none exists here; the size check comes first).
    with pytest.raises(ClientError) as info:
        rt.invoke_endpoint(
            EndpointName="no-such-endpoint", ContentType="text/csv", Body=b"1" * (6 * 1024 * 1024 + 1)
        )
    error = info.value.response
    assert error["Error"]["Code"] == "ValidationError", error


def test_oversize_body_is_worded_as_the_real_runtime(rt):
    with pytest.raises(ClientError) as info:
        rt.invoke_endpoint(EndpointName="any", ContentType="text/csv", Body=b"1" * (6 * 1024 * 1024 + 1))
    error = info.value.response
    request_id = error["ResponseMetadata"]["RequestId"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"].startswith(f"Request {request_id} has oversize body.")
