"""S3 through the real server with boto3: every operation openmaker serves, errors included."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

MiB = 1024 * 1024

def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def status_of(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def b64_crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# --- buckets -------------------------------------------------------------------------------------


def test_bucket_lifecycle(s3) -> None:
    s3.create_bucket(Bucket="life-cycle")
    assert "life-cycle" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket="life-cycle")
    assert s3.get_bucket_location(Bucket="life-cycle")["LocationConstraint"] is None
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="life-cycle")
    assert code_of(exc) == "BucketAlreadyOwnedByYou" and status_of(exc) == 409
    s3.put_object(Bucket="life-cycle", Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket="life-cycle")
    assert code_of(exc) == "BucketNotEmpty"
    s3.delete_object(Bucket="life-cycle", Key="k")
    s3.delete_bucket(Bucket="life-cycle")
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket="life-cycle")
    assert code_of(exc) == "404" and exc.value.response["Error"]["Message"] == "Not Found"
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="life-cycle")
    assert code_of(exc) == "NoSuchBucket"
    assert exc.value.response["Error"]["Message"] == "The specified bucket does not exist."
    assert exc.value.response["Error"]["BucketName"] == "life-cycle"


@pytest.mark.parametrize("name", ["UPPER", "ab", "a" * 64, "-lead", "a..b", "192.168.1.1", "xn--abc"])
def test_invalid_bucket_names(s3, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code_of(exc) == "InvalidBucketName"


def test_bucket_location_constraint(server) -> None:
    client = server.client("s3", region_name="eu-west-1")
    client.create_bucket(Bucket="in-europe", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert client.get_bucket_location(Bucket="in-europe")["LocationConstraint"] == "eu-west-1"
    assert client.head_bucket(Bucket="in-europe")["BucketRegion"] == "eu-west-1"


def test_versioning_config(s3, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


# --- objects -------------------------------------------------------------------------------------


def test_put_get_head(s3, bucket: str) -> None:
    data = b"hello world"
    put = s3.put_object(Bucket=bucket, Key="dir/hello.txt", Body=data, ContentType="text/plain",
                        Metadata={"color": "blue"}, CacheControl="no-cache")
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "no-cache" and got["ContentLength"] == len(data)
    head = s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert head["ETag"] == put["ETag"] and head["ContentLength"] == len(data)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="missing")
    assert code_of(exc) == "NoSuchKey" and exc.value.response["Error"]["Key"] == "missing"
    assert exc.value.response["Error"]["Message"] == "The specified key does not exist."
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="missing")
    assert code_of(exc) == "404"


def _reference_crc32c(data: bytes) -> int:
    """Bit-by-bit CRC-32C (Castagnoli, reflected): an independent reference for small inputs."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def test_checksums_roundtrip(s3, bucket: str) -> None:
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="c", Body=data, ChecksumAlgorithm="CRC32")
    assert put["ChecksumCRC32"] == b64_crc32(data)
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == b64_crc32(data) and got["Body"].read() == data
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    s3.put_object(Bucket=bucket, Key="s", Body=data, ChecksumSHA256=sha)
    assert s3.head_object(Bucket=bucket, Key="s", ChecksumMode="ENABLED")["ChecksumSHA256"] == sha
    c32c = base64.b64encode(_reference_crc32c(data[:2000]).to_bytes(4, "big")).decode()
    data = data[:2000]
    s3.put_object(Bucket=bucket, Key="c32c", Body=data, ChecksumCRC32C=c32c)
    assert s3.head_object(Bucket=bucket, Key="c32c", ChecksumMode="ENABLED")["ChecksumCRC32C"] == c32c


def test_wrong_checksum_and_md5_store_nothing(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumCRC32=b64_crc32(b"other"))
    assert code_of(exc) == "BadDigest"
    assert exc.value.response["Error"]["Message"] == "The CRC32 you specified did not match the calculated checksum."
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ContentMD5=wrong_md5)
    assert code_of(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ContentMD5="notmd5")
    assert code_of(exc) == "InvalidDigest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_unsigned_trailer_checksum(server, bucket: str) -> None:
    """botocore's default: aws-chunked body with the CRC32 in a trailer."""
    client = server.client("s3", config=Config(request_checksum_calculation="when_supported",
                                               retries={"max_attempts": 1}))
    data = os.urandom(70_000)
    import io

    client.upload_fileobj(io.BytesIO(data), bucket, "trailer")
    got = client.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ChecksumCRC32"] == b64_crc32(data)


def test_ranges_and_conditions(s3, bucket: str) -> None:
    data = bytes(range(256)) * 4
    etag = s3.put_object(Bucket=bucket, Key="r", Body=data)["ETag"]
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")["Body"].read() == data[1000:]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=5000-6000")
    assert code_of(exc) == "InvalidRange" and status_of(exc) == 416
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)
    assert status_of(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfMatch='"nope"')
    assert code_of(exc) == "PreconditionFailed" and status_of(exc) == 412
    future = datetime.now(UTC) + timedelta(days=1)
    past = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfModifiedSince=future)
    assert status_of(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="r", IfUnmodifiedSince=past)
    assert status_of(exc) == 412
    assert s3.get_object(Bucket=bucket, Key="r", IfMatch=etag, IfModifiedSince=past)["Body"].read() == data


@pytest.mark.parametrize("key", ["../../escape", "sp ace+plus&amp?q=1", "ü/日本語/ñ", "a//b", "%2F%00", "é" * 512])
def test_odd_keys(s3, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == [key]
    s3.delete_object(Bucket=bucket, Key=key)


def test_key_too_long(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"")
    assert code_of(exc) == "KeyTooLongError"


def test_delete_objects(s3, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d{i}", Body=b"x")
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"d{i}"} for i in range(3)]})
    assert sorted(d["Key"] for d in res["Deleted"]) == ["d0", "d1", "d2"]
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d3"}], "Quiet": True})
    assert "Deleted" not in res
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["d4"]


def test_copy_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src key", Body=b"payload", ContentType="a/b", Metadata={"m": "1"})
    res = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src key"})
    assert res["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "a/b" and head["Metadata"] == {"m": "1"}
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src key", MetadataDirective="REPLACE",
                   Metadata={"n": "2"}, ContentType="c/d")
    head = s3.head_object(Bucket=bucket, Key="dst2")
    assert head["Metadata"] == {"n": "2"} and head["ContentType"] == "c/d"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="src key", CopySource={"Bucket": bucket, "Key": "src key"})
    assert code_of(exc) == "InvalidRequest"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nope"})
    assert code_of(exc) == "NoSuchKey"


def test_versioned_objects(s3, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="v", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="v")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="v")
    assert code_of(exc) == "NoSuchKey"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="v", VersionId=marker["VersionId"])
    assert status_of(exc) == 405
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert versions["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bucket, Key="v", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    copied = s3.copy_object(Bucket=bucket, Key="w", CopySource={"Bucket": bucket, "Key": "v", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=bucket, Key="w")["Body"].read() == b"one"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="v", VersionId="nonexistentversion")
    assert code_of(exc) == "NoSuchVersion"
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1})
    assert sum(len(p.get("Versions", [])) for p in pages) == 3


# --- listing -------------------------------------------------------------------------------------


def test_listing_with_delimiter_and_pagination(s3, bucket: str) -> None:
    keys = [f"{d}/{i:02d}" for d in ("a", "b", "c") for i in range(5)] + ["top1", "top2", "a+b c"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    res = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in res["CommonPrefixes"]] == ["a/", "b/", "c/"]
    assert [o["Key"] for o in res["Contents"]] == ["a+b c", "top1", "top2"]
    assert res["KeyCount"] == 6
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4}))
    assert len(pages) == 5
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys)
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/",
                                                               PaginationConfig={"PageSize": 2}))
    items = [x["Prefix"] for p in pages for x in p.get("CommonPrefixes", [])]
    items += [x["Key"] for p in pages for x in p.get("Contents", [])]
    assert sorted(items) == sorted(["a/", "b/", "c/", "a+b c", "top1", "top2"])
    res = s3.list_objects_v2(Bucket=bucket, Prefix="b/", StartAfter="b/01", FetchOwner=True)
    assert [o["Key"] for o in res["Contents"]] == ["b/02", "b/03", "b/04"]
    assert "Owner" in res["Contents"][0]
    v1 = list(s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 5}))
    assert [o["Key"] for p in v1 for o in p["Contents"]] == sorted(keys)
    res = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert res["IsTruncated"] and res["NextMarker"] == "a/"


# --- multipart -----------------------------------------------------------------------------------


def test_multipart_upload(s3, bucket: str) -> None:
    up = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="x/y", ChecksumAlgorithm="CRC32")
    upload_id = up["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload_id]
    chunks = [os.urandom(5 * MiB), b"tail"]
    parts = []
    for n, chunk in enumerate(chunks, 1):
        res = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=n, Body=chunk,
                             ChecksumAlgorithm="CRC32")
        assert res["ChecksumCRC32"] == b64_crc32(chunk)
        parts.append({"PartNumber": n, "ETag": res["ETag"], "ChecksumCRC32": res["ChecksumCRC32"]})
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id, MaxParts=1)
    assert listed["IsTruncated"] and listed["Parts"][0]["PartNumber"] == 1
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts[::-1]})
    assert code_of(exc) == "InvalidPartOrder"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"bad"'}]})
    assert code_of(exc) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    md5s = b"".join(hashlib.md5(c).digest() for c in chunks)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    composite = b"".join(zlib.crc32(c).to_bytes(4, "big") for c in chunks)
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == b64_crc32(composite) + "-2"
    assert head["ContentType"] == "x/y" and head["ContentLength"] == sum(map(len, chunks))
    assert s3.get_object(Bucket=bucket, Key="big", Range="bytes=5242878-5242881")["Body"].read() == \
        chunks[0][-2:] + b"ta"
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert code_of(exc) == "NoSuchUpload"


def test_multipart_small_parts_abort_and_copy(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    copied = s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=2,
                                 CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange="bytes=2-5")
    assert copied["CopyPartResult"]["ETag"] == f'"{hashlib.md5(b"2345").hexdigest()}"'
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": copied["CopyPartResult"]["ETag"]}]})
    assert code_of(exc) == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert code_of(exc) == "NoSuchUpload"


def test_transfer_manager_multipart(s3, bucket: str, tmp_path: Path) -> None:
    """boto3's upload_file/download_file: multipart with default checksums, ranged parallel GETs."""
    from boto3.s3.transfer import TransferConfig

    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(12 * MiB + 123))
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(src), bucket, "file.bin", Config=config)
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "file.bin", str(dst), Config=config)
    assert dst.read_bytes() == src.read_bytes()
    assert s3.head_object(Bucket=bucket, Key="file.bin")["ETag"].endswith('-3"')


def test_trailer_checksum_plan() -> None:
    """botocore sends trailers only over HTTPS, so check the trailer comparison directly."""
    from types import SimpleNamespace

    from openmaker.aws.errors import AwsError
    from openmaker.services.s3.common import ChecksumPlan

    ctx = SimpleNamespace(request=SimpleNamespace(headers={"x-amz-trailer": "x-amz-checksum-crc32"}))
    plan = ChecksumPlan(ctx, {})
    assert (plan.algorithm, plan.trailer) == ("CRC32", "x-amz-checksum-crc32")
    writer = SimpleNamespace(checksum_value=b64_crc32(b"abc"))
    plan.verify(SimpleNamespace(trailers={"x-amz-checksum-crc32": b64_crc32(b"abc")}), writer)
    with pytest.raises(AwsError) as exc:
        plan.verify(SimpleNamespace(trailers={"x-amz-checksum-crc32": b64_crc32(b"abd")}), writer)
    assert exc.value.code == "BadDigest"
