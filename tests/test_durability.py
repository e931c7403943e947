"""SIGKILL the server in the middle of writes and check what a restart on the same data directory finds:
no partial object, every earlier object byte-identical, log events intact, multipart uploads resumable."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from serverutil import RunningServer, start_server

MiB = 1024 * 1024
BIG = 300 * MiB
SENT_BEFORE_KILL = 120 * MiB
PART = 5 * MiB


def _status(excinfo: pytest.ExceptionInfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _open_unsigned_put(server: RunningServer, bucket: str, key: str, length: int) -> socket.socket:
    """Start a PUT of ``length`` bytes signed with UNSIGNED-PAYLOAD; returns the socket to feed the body."""
    url = f"{server.endpoint}/{bucket}/{key}"
    request = AWSRequest(method="PUT", url=url, data=b"")
    # Over plain http botocore signs the payload hash unless payload signing is turned off explicitly.
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    S3SigV4Auth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1").add_auth(request)
    assert request.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    head = [f"PUT {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}"]
    head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    return sock


def _chunks(total: int, seed: int):
    """Deterministic body: 1 MiB blocks derived from a seed (nothing kept in memory)."""
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    sent = 0
    while sent < total:
        n = min(MiB, total - sent)
        yield block[:n]
        sent += n


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.fixture
def own_server(tmp_path: Path):
    holder: dict[str, RunningServer] = {"server": start_server(tmp_path / "home")}
    yield holder
    holder["server"].stop()


def test_sigkill_mid_writes_then_restart(own_server: dict, tmp_path: Path) -> None:
    server: RunningServer = own_server["server"]
    s3, logs = server.client("s3"), server.client("logs")

    # -- state that must survive
    s3.create_bucket(Bucket="durable")
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    objects = {f"small/{i:03d}.bin": os.urandom(i * 977 + 1) for i in range(40)}
    objects["medium.bin"] = os.urandom(12 * MiB)
    for key, body in objects.items():
        s3.put_object(Bucket="durable", Key=key, Body=body, Metadata={"n": str(len(body))})
    s3.upload_file(str(_write(tmp_path / "multi.bin", 18 * MiB)), "durable", "multi.bin")
    objects["multi.bin"] = (tmp_path / "multi.bin").read_bytes()
    etags = {key: s3.head_object(Bucket="durable", Key=key)["ETag"] for key in objects}
    version_ids = [s3.put_object(Bucket="versioned", Key="v", Body=f"v{i}".encode())["VersionId"] for i in range(3)]
    s3.put_object(Bucket="durable", Key="replaced", Body=b"old contents")

    logs.create_log_group(logGroupName="/durability/test")
    logs.create_log_stream(logGroupName="/durability/test", logStreamName="stream-1")
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": f"event {i} ✓"} for i in range(200)]
    logs.put_log_events(logGroupName="/durability/test", logStreamName="stream-1", logEvents=events)

    # -- a multipart upload with two parts uploaded, never completed
    upload = s3.create_multipart_upload(Bucket="durable", Key="resumable.bin", ContentType="application/x-test")
    upload_id = upload["UploadId"]
    part_bodies = [os.urandom(PART), os.urandom(PART)]
    part_etags = [
        s3.upload_part(Bucket="durable", Key="resumable.bin", UploadId=upload_id, PartNumber=n + 1, Body=body)["ETag"]
        for n, body in enumerate(part_bodies)
    ]
    doomed = s3.create_multipart_upload(Bucket="durable", Key="doomed.bin")["UploadId"]
    s3.upload_part(Bucket="durable", Key="doomed.bin", UploadId=doomed, PartNumber=1, Body=os.urandom(PART))

    # -- in flight at the kill: a 300 MB PutObject and an overwrite of "replaced" (both cut short)
    big = _open_unsigned_put(server, "durable", "big.bin", BIG)
    overwrite = _open_unsigned_put(server, "durable", "replaced", 50 * MiB)
    overwrite.sendall(b"n" * (10 * MiB))
    sent = 0
    for chunk in _chunks(BIG, seed=7):
        big.sendall(chunk)
        sent += len(chunk)
        if sent >= SENT_BEFORE_KILL:
            break
    server.kill()
    assert server.process.returncode == -9
    for sock in (big, overwrite):
        with pytest.raises(OSError):  # the rest of the body has nowhere to go
            for chunk in _chunks(BIG - sent, seed=7):
                sock.sendall(chunk)
        sock.close()

    # -- restart on the same home and port
    server = start_server(server.home, server.port)
    own_server["server"] = server
    s3, logs = server.client("s3"), server.client("logs")

    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket="durable", Key="big.bin")
    assert _status(excinfo) == 404
    assert s3.get_object(Bucket="durable", Key="replaced")["Body"].read() == b"old contents"

    for key, body in objects.items():
        got = s3.get_object(Bucket="durable", Key=key)
        assert got["Body"].read() == body, key
        assert got["ETag"] == etags[key]
        assert got["ContentLength"] == len(body)
    assert s3.head_object(Bucket="durable", Key="small/007.bin")["Metadata"] == {"n": str(len(objects["small/007.bin"]))}
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="durable")["Contents"]]
    assert listed == sorted([*objects, "replaced"])
    versions = s3.list_object_versions(Bucket="versioned")["Versions"]
    assert [v["VersionId"] for v in versions] == list(reversed(version_ids))
    assert s3.get_object(Bucket="versioned", Key="v", VersionId=version_ids[0])["Body"].read() == b"v0"

    got_events = logs.get_log_events(logGroupName="/durability/test", logStreamName="stream-1", startFromHead=True)
    assert [(e["timestamp"], e["message"]) for e in got_events["events"]] == \
        [(e["timestamp"], e["message"]) for e in events]
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/durability/test"]

    # nothing of the cut-short bodies is left on disk (the restart sweeps temp files and orphan blobs)
    stored = sum(len(b) for b in objects.values()) + len(b"old contents") + 3 * 2 + 3 * PART
    assert _dir_bytes(server.home / "objects") < stored + 2 * MiB

    # -- the multipart uploads survived: one is completed, one aborted
    uploads = s3.list_multipart_uploads(Bucket="durable")["Uploads"]
    assert sorted((u["Key"], u["UploadId"]) for u in uploads) == sorted(
        [("resumable.bin", upload_id), ("doomed.bin", doomed)])
    parts = s3.list_parts(Bucket="durable", Key="resumable.bin", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, part_etags[0], PART), (2, part_etags[1], PART)]
    last = b"the last part may be small"
    part_etags.append(s3.upload_part(Bucket="durable", Key="resumable.bin", UploadId=upload_id, PartNumber=3,
                                     Body=last)["ETag"])
    done = s3.complete_multipart_upload(
        Bucket="durable", Key="resumable.bin", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(part_etags)]},
    )
    md5s = b"".join(hashlib.md5(b).digest() for b in [*part_bodies, last])
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    whole = s3.get_object(Bucket="durable", Key="resumable.bin")
    assert whole["ContentType"] == "application/x-test"
    assert whole["Body"].read() == b"".join([*part_bodies, last])

    s3.abort_multipart_upload(Bucket="durable", Key="doomed.bin", UploadId=doomed)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="durable")
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket="durable", Key="doomed.bin")
    assert _status(excinfo) == 404

    # the restarted server takes the big upload in full this time
    sock = _open_unsigned_put(server, "durable", "big.bin", BIG)
    digest = hashlib.md5()
    for chunk in _chunks(BIG, seed=7):
        sock.sendall(chunk)
        digest.update(chunk)
    sock.settimeout(120)
    reply = sock.recv(65536)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:500]
    head = s3.head_object(Bucket="durable", Key="big.bin")
    assert head["ContentLength"] == BIG and head["ETag"] == f'"{digest.hexdigest()}"'

    # a second kill (idle this time) loses nothing either
    server.kill()
    server = start_server(server.home, server.port)
    own_server["server"] = server
    s3 = server.client("s3")
    assert s3.head_object(Bucket="durable", Key="big.bin")["ETag"] == head["ETag"]
    assert s3.get_object(Bucket="durable", Key="resumable.bin")["ContentLength"] == 2 * PART + len(last)
    assert len(s3.list_objects_v2(Bucket="durable")["Contents"]) == len(objects) + 3


def _write(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        for chunk in _chunks(size, seed=3):
            out.write(chunk)
    return path
