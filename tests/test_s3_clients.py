"""Real S3 clients against the session server: the AWS CLI, s3fs/pandas, presigned URLs with requests,
and the SageMaker Python SDK v2 (in process with ``import openmaker.sdk`` and in a subprocess that only
has the user's environment)."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from botocore.config import Config

BIN = Path(sys.executable).parent
AWS = str(BIN / "aws")
OPENMAKER = str(BIN / "openmaker")


def _write_random(path: Path, size: int, seed: int) -> str:
    """Write ``size`` pseudo-random bytes to ``path``; returns their MD5 hex."""
    rng = random.Random(seed)
    digest = hashlib.md5()
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = rng.randbytes(min(left, 1 << 20))
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def user_env(server) -> dict[str, str]:
    """What a user's shell has after ``eval "$(openmaker env)"`` (also writes the SDK's config file)."""
    out = subprocess.run(
        ["bash", "-c", f'eval "$("{OPENMAKER}" env)" && env -0'],
        env={**server.env(), "OPENMAKER_HOME": str(server.home)},
        capture_output=True, check=True, timeout=120,
    ).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    assert env["AWS_ENDPOINT_URL"] == server.endpoint
    assert Path(env["SAGEMAKER_USER_CONFIG_OVERRIDE"]).exists()
    return env


# ------------------------------------------------------------------------------------------- AWS CLI


def aws(server, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([AWS, *args], env=server.env(), capture_output=True, text=True, timeout=300, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def test_cli_copy_list_sync_remove(server, s3, tmp_path) -> None:
    bucket = "cli-roundtrip"
    aws(server, "s3", "mb", f"s3://{bucket}")
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    # cp up and down; 20 MB makes the CLI go multipart (threshold 8 MB).
    big = tmp_path / "big.bin"
    md5 = _write_random(big, 20 * 1024 * 1024, seed=1)
    aws(server, "s3", "cp", str(big), f"s3://{bucket}/data/big.bin")
    head = s3.head_object(Bucket=bucket, Key="data/big.bin")
    assert head["ContentLength"] == big.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")  # 8 MB parts: 8 + 8 + 4
    back = tmp_path / "back.bin"
    aws(server, "s3", "cp", f"s3://{bucket}/data/big.bin", str(back))
    assert _md5(back) == md5

    # head-object through s3api
    out = json.loads(aws(server, "s3api", "head-object", "--bucket", bucket, "--key", "data/big.bin").stdout)
    assert out["ContentLength"] == 20 * 1024 * 1024
    assert out["ETag"] == head["ETag"]

    # sync a small tree; a second sync uploads nothing
    tree = tmp_path / "tree"
    files = {"a.txt": b"alpha\n", "sub/b.txt": b"bravo\n", "sub/deeper/c.csv": b"1,2,3\n", "d e.txt": b"delta\n"}
    for rel, body in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(body)
    first = aws(server, "s3", "sync", str(tree), f"s3://{bucket}/tree").stdout
    assert first.count("upload:") == len(files)
    second = aws(server, "s3", "sync", str(tree), f"s3://{bucket}/tree").stdout
    assert "upload:" not in second, second
    for rel, body in files.items():
        assert s3.get_object(Bucket=bucket, Key=f"tree/{rel}")["Body"].read() == body
    # sync down into an empty dir gets the same tree
    down = tmp_path / "down"
    aws(server, "s3", "sync", f"s3://{bucket}/tree", str(down))
    assert {p.relative_to(down).as_posix(): p.read_bytes() for p in down.rglob("*") if p.is_file()} == files

    # ls: top level, recursive, with a prefix
    top = aws(server, "s3", "ls", f"s3://{bucket}/").stdout
    assert "PRE data/" in top and "PRE tree/" in top
    recursive = aws(server, "s3", "ls", "--recursive", f"s3://{bucket}/").stdout
    listed = {line.split(maxsplit=3)[3] for line in recursive.splitlines() if line.strip()}
    assert listed == {"data/big.bin", *(f"tree/{rel}" for rel in files)}
    prefixed = aws(server, "s3", "ls", f"s3://{bucket}/tree/sub/").stdout
    assert "PRE deeper/" in prefixed and "b.txt" in prefixed and "a.txt" not in prefixed
    buckets = aws(server, "s3", "ls").stdout
    assert bucket in buckets

    # rm --recursive empties the bucket, rb removes it
    aws(server, "s3", "rm", "--recursive", f"s3://{bucket}/")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    aws(server, "s3", "rb", f"s3://{bucket}")
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    # a missing object is a clean CLI error, not a crash
    missing = aws(server, "s3api", "head-object", "--bucket", "no-such-bucket-here", "--key", "k", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr


# ------------------------------------------------------------------------------------- s3fs + pandas


def test_pandas_read_and_write_csv(server, s3, datasets) -> None:
    import pandas as pd

    bucket = "pandas-csv"
    s3.create_bucket(Bucket=bucket)
    source = datasets / "book" / "chapter3" / "training-housing.csv"
    s3.put_object(Bucket=bucket, Key="chapter3/training-housing.csv", Body=source.read_bytes())
    options = {
        "key": server.access_key,
        "secret": server.secret_key,
        "client_kwargs": {"endpoint_url": server.endpoint, "region_name": "us-east-1"},
    }
    remote = pd.read_csv(f"s3://{bucket}/chapter3/training-housing.csv", header=None, storage_options=options)
    local = pd.read_csv(source, header=None)
    pd.testing.assert_frame_equal(remote, local)
    assert len(remote) > 100

    remote.to_csv(f"s3://{bucket}/out/housing-copy.csv", index=False, header=False, storage_options=options)
    again = pd.read_csv(f"s3://{bucket}/out/housing-copy.csv", header=None, storage_options=options)
    pd.testing.assert_frame_equal(again, local)
    written = s3.get_object(Bucket=bucket, Key="out/housing-copy.csv")["Body"].read()
    assert written == local.to_csv(index=False, header=False).encode()

    # with a header and an index, through s3fs directly as well
    import s3fs

    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    frame = pd.DataFrame({"name": ["ä", "b,c", 'q"uote'], "value": [1.5, 2.0, -3.25]})
    frame.to_csv(f"s3://{bucket}/out/named.csv", index=False, storage_options=options)
    assert fs.exists(f"{bucket}/out/named.csv")
    pd.testing.assert_frame_equal(pd.read_csv(f"s3://{bucket}/out/named.csv", storage_options=options), frame)
    assert sorted(fs.ls(f"{bucket}/out")) == [f"{bucket}/out/housing-copy.csv", f"{bucket}/out/named.csv"]


# ------------------------------------------------------------------------------------ presigned URLs


@pytest.fixture(scope="module")
def presign_bucket(s3) -> str:
    s3.create_bucket(Bucket="presigned")
    return "presigned"


@pytest.mark.parametrize("signature", [None, "s3v4"], ids=["default", "s3v4"])
def test_presigned_get(server, s3, presign_bucket, signature) -> None:
    body = b"presigned body \x00\xff" * 100
    s3.put_object(Bucket=presign_bucket, Key="dir/get.bin", Body=body, ContentType="application/x-test")
    client = server.client("s3", config=Config(signature_version=signature)) if signature else s3
    url = client.generate_presigned_url("get_object", Params={"Bucket": presign_bucket, "Key": "dir/get.bin"},
                                        ExpiresIn=300)
    assert ("X-Amz-Signature=" in url) == (signature == "s3v4")
    reply = requests.get(url, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.content == body
    assert reply.headers["Content-Type"] == "application/x-test"
    # a range through the presigned URL (Range is not signed)
    ranged = requests.get(url, headers={"Range": "bytes=2-5"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == body[2:6]
    # tampering with the URL is refused
    tampered = url.replace("dir/get.bin", "dir/other.bin")
    assert requests.get(tampered, timeout=30).status_code == 403
    if signature is None:  # SigV2 carries an absolute Expires: one in the past is refused
        expired = client.generate_presigned_url("get_object", Params={"Bucket": presign_bucket,
                                                "Key": "dir/get.bin"}, ExpiresIn=-10)
        reply = requests.get(expired, timeout=30)
        assert reply.status_code == 403 and b"expired" in reply.content.lower()


@pytest.mark.parametrize("signature", [None, "s3v4"], ids=["default", "s3v4"])
def test_presigned_put_then_get(server, s3, presign_bucket, signature) -> None:
    client = server.client("s3", config=Config(signature_version=signature)) if signature else s3
    key = f"uploads/{signature or 'default'}.txt"
    url = client.generate_presigned_url("put_object", Params={"Bucket": presign_bucket, "Key": key}, ExpiresIn=300)
    body = b"uploaded through a presigned PUT\n" * 1000
    reply = requests.put(url, data=body, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    assert s3.get_object(Bucket=presign_bucket, Key=key)["Body"].read() == body
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": presign_bucket, "Key": key})
    assert requests.get(get_url, timeout=30).content == body


@pytest.mark.parametrize("signature", [None, "s3v4"], ids=["default", "s3v4"])
def test_presigned_unicode_key(server, s3, presign_bucket, signature) -> None:
    client = server.client("s3", config=Config(signature_version=signature)) if signature else s3
    key = "ünïcode/日本語 ファイル/😀 + %20 & = ?.txt"
    put_url = client.generate_presigned_url("put_object", Params={"Bucket": presign_bucket, "Key": key})
    reply = requests.put(put_url, data="hello ✓".encode(), timeout=30)
    assert reply.status_code == 200, reply.text
    assert s3.get_object(Bucket=presign_bucket, Key=key)["Body"].read() == "hello ✓".encode()
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": presign_bucket, "Key": key})
    reply = requests.get(get_url, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.content == "hello ✓".encode()


# ------------------------------------------------------------------------------------ SageMaker SDK


def _boto_session(server):
    import boto3

    return boto3.Session(aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
                         region_name="us-east-1")


def test_sagemaker_session_in_process(server, s3, user_env, tmp_path, monkeypatch) -> None:
    import openmaker.sdk  # noqa: F401  (the documented one line)

    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", user_env["SAGEMAKER_USER_CONFIG_OVERRIDE"])
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    import sagemaker

    session = sagemaker.Session(boto_session=_boto_session(server))
    assert session.account_id() == "000000000000"
    bucket = session.default_bucket()
    assert bucket == "sagemaker-us-east-1-000000000000"
    s3.head_bucket(Bucket=bucket)  # it was created
    assert session.default_bucket() == bucket  # the second call finds it

    single = tmp_path / "train.csv"
    single.write_text("1,2,3\n4,5,6\n")
    uri = session.upload_data(str(single), key_prefix="inproc/single")
    assert uri == f"s3://{bucket}/inproc/single/train.csv"
    assert s3.get_object(Bucket=bucket, Key="inproc/single/train.csv")["Body"].read() == single.read_bytes()

    tree = tmp_path / "tree"
    (tree / "nested").mkdir(parents=True)
    (tree / "a.csv").write_text("a\n")
    (tree / "nested" / "b.csv").write_text("b\n")
    uri = session.upload_data(str(tree), key_prefix="inproc/tree")
    assert uri == f"s3://{bucket}/inproc/tree"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="inproc/tree/")["Contents"]}
    assert keys == {"inproc/tree/a.csv", "inproc/tree/nested/b.csv"}

    down = tmp_path / "down"
    down.mkdir()
    session.download_data(str(down), bucket, key_prefix="inproc/tree/")
    got = {p.relative_to(down).as_posix(): p.read_text() for p in down.rglob("*") if p.is_file()}
    assert got == {"a.csv": "a\n", "nested/b.csv": "b\n"}
    assert session.read_s3_file(bucket, "inproc/single/train.csv") == "1,2,3\n4,5,6\n"


SUBPROCESS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import boto3, sagemaker

    work = Path(sys.argv[1])
    (work / "one.txt").write_text("one")
    (work / "tree" / "x").mkdir(parents=True)
    (work / "tree" / "x" / "two.txt").write_text("two")
    session = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"))
    bucket = session.default_bucket()
    out = {
        "bucket": bucket,
        "account": session.account_id(),
        "file": session.upload_data(str(work / "one.txt"), key_prefix="subproc"),
        "dir": session.upload_data(str(work / "tree"), key_prefix="subproc/tree"),
        "shim": "openmaker.sdk" in sys.modules,
    }
    (work / "down").mkdir()
    session.download_data(str(work / "down"), bucket, key_prefix="subproc/tree/")
    out["down"] = sorted(p.relative_to(work / "down").as_posix() for p in (work / "down").rglob("*") if p.is_file())
    print(json.dumps(out))
    """
)


def test_sagemaker_session_subprocess_env_only(server, s3, user_env, tmp_path) -> None:
    """No import line: the environment from `openmaker env` alone makes the SDK work."""
    env = {**user_env, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_S3"):
        env.pop(name, None)
    script = tmp_path / "sdk_script.py"
    script.write_text(SUBPROCESS_SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    bucket = "sagemaker-us-east-1-000000000000"
    assert out["bucket"] == bucket and out["account"] == "000000000000"
    assert out["shim"], "the PYTHONPATH shim from `openmaker env` did not load"
    assert out["file"] == f"s3://{bucket}/subproc/one.txt"
    assert out["dir"] == f"s3://{bucket}/subproc/tree"
    assert s3.get_object(Bucket=bucket, Key="subproc/one.txt")["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="subproc/tree/x/two.txt")["Body"].read() == b"two"
    assert out["down"] == ["x/two.txt"]

