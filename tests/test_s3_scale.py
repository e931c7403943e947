"""S3 at some scale through boto3: a 100 MB multipart object read back by ranges, thousands of keys
listed page by page, versioning end to end, and keys made of awkward characters."""

from __future__ import annotations

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from botocore.handlers import set_list_objects_encoding_type_url

MiB = 1024 * 1024


def _error(excinfo: pytest.ExceptionInfo) -> tuple[str, int, dict]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], \
        response["ResponseMetadata"]["HTTPHeaders"]


# ---------------------------------------------------------------------------------- a large object


def test_large_multipart_object_and_ranges(s3, bucket, tmp_path: Path) -> None:
    size, part = 100 * MiB, 8 * MiB
    source = tmp_path / "large.bin"
    rng = random.Random(20240601)
    part_md5s = []
    with open(source, "wb") as out:
        for _ in range(size // part + (1 if size % part else 0)):
            chunk = rng.randbytes(min(part, size - out.tell()))
            out.write(chunk)
            part_md5s.append(hashlib.md5(chunk).digest())
    assert source.stat().st_size == size

    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)
    s3.upload_file(str(source), bucket, "large.bin", Config=config)

    head = s3.head_object(Bucket=bucket, Key="large.bin")
    assert head["ContentLength"] == size
    expected_etag = f'"{hashlib.md5(b"".join(part_md5s)).hexdigest()}-{len(part_md5s)}"'
    assert head["ETag"] == expected_etag
    assert len(part_md5s) == 13

    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("large.bin", size, expected_etag)]

    with open(source, "rb") as f:
        def expect(start: int, length: int) -> bytes:
            f.seek(start)
            return f.read(length)

        windows = [(0, 1000), (size // 2 - 500, 1000), (part - 10, 20), (size - 1000, 1000), (5 * part, part)]
        for start, length in windows:
            got = s3.get_object(Bucket=bucket, Key="large.bin", Range=f"bytes={start}-{start + length - 1}")
            assert got["ContentRange"] == f"bytes {start}-{start + length - 1}/{size}"
            assert got["ContentLength"] == length
            assert got["Body"].read() == expect(start, length), (start, length)

        suffix = s3.get_object(Bucket=bucket, Key="large.bin", Range="bytes=-100")
        assert suffix["ContentRange"] == f"bytes {size - 100}-{size - 1}/{size}"
        assert suffix["Body"].read() == expect(size - 100, 100)

        open_ended = s3.get_object(Bucket=bucket, Key="large.bin", Range=f"bytes={size - 10}-")
        assert open_ended["Body"].read() == expect(size - 10, 10)

        past_end = s3.get_object(Bucket=bucket, Key="large.bin", Range=f"bytes={size - 5}-{size + 100}")
        assert past_end["ContentRange"] == f"bytes {size - 5}-{size - 1}/{size}"
        assert past_end["Body"].read() == expect(size - 5, 5)

    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="large.bin", Range=f"bytes={size}-{size + 10}")
    assert _error(excinfo)[:2] == ("InvalidRange", 416)

    # the whole object streams back byte-identical (hash while reading; nothing held twice)
    body = s3.get_object(Bucket=bucket, Key="large.bin")["Body"]
    streamed = hashlib.md5()
    for chunk in iter(lambda: body.read(MiB), b""):
        streamed.update(chunk)
    with open(source, "rb") as f:
        assert streamed.hexdigest() == hashlib.file_digest(f, "md5").hexdigest()


# ---------------------------------------------------------------------------------- many keys

N_KEYS = 2500


def _many_keys() -> list[str]:
    """2,500 keys: flat ones, keys in 12 'directories', deeper trees and a few sharing prefixes."""
    keys = []
    for i in range(N_KEYS):
        kind = i % 5
        if kind == 0:
            keys.append(f"flat-{i:05d}.txt")
        elif kind in (1, 2):
            keys.append(f"dir{i % 12:02d}/file-{i:05d}")
        elif kind == 3:
            keys.append(f"deep/{i % 3}/{i % 7}/leaf-{i:05d}")
        else:
            keys.append(f"dir{i % 12:02d}-sibling{i % 4}/x{i:05d}" if i % 2 else f"dir{i % 12:02d}/sub/y{i:05d}")
    assert len(set(keys)) == N_KEYS
    return keys


def _reference(keys: list[str], prefix: str, delimiter: str) -> tuple[list[str], list[str]]:
    contents, prefixes = [], set()
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            prefixes.add(prefix + rest[: rest.index(delimiter) + len(delimiter)])
        else:
            contents.append(key)
    return contents, sorted(prefixes)


@pytest.fixture(scope="module")
def many(s3) -> tuple[str, list[str]]:
    name = "scale-many-keys"
    s3.create_bucket(Bucket=name)
    keys = _many_keys()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=name, Key=k, Body=k.encode()), keys))
    return name, keys


@pytest.mark.parametrize("prefix", ["", "dir03/", "deep/", "dir0", "nothing-here/"])
def test_list_v2_delimiter_pagination(s3, many, prefix: str) -> None:
    name, keys = many
    want_contents, want_prefixes = _reference(keys, prefix, "/")
    contents, prefixes, pages, token = [], [], 0, None
    while True:
        kwargs = {"Bucket": name, "Prefix": prefix, "Delimiter": "/", "MaxKeys": 1000}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        page_keys = [o["Key"] for o in page.get("Contents", [])]
        page_prefixes = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] == len(page_keys) + len(page_prefixes) <= 1000
        assert page_keys == sorted(page_keys) and page_prefixes == sorted(page_prefixes)
        contents += page_keys
        prefixes += page_prefixes
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        assert page["KeyCount"] == 1000
        token = page["NextContinuationToken"]
        assert pages < 10
    assert contents == want_contents
    assert prefixes == want_prefixes
    assert pages == max(1, -(-(len(want_contents) + len(want_prefixes)) // 1000))


def test_list_v2_without_delimiter_pages_through_everything(s3, many) -> None:
    name, keys = many
    seen, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket=name, MaxKeys=1000, **({"ContinuationToken": token} if token else {}))
        seen += [o["Key"] for o in page["Contents"]]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys)
    # StartAfter skips exactly what it should
    after = sorted(keys)[1234]
    page = s3.list_objects_v2(Bucket=name, StartAfter=after, MaxKeys=5)
    assert [o["Key"] for o in page["Contents"]] == sorted(keys)[1235:1240]


def test_list_v1_marker_pagination(s3, many) -> None:
    name, keys = many
    # no delimiter: S3 gives no NextMarker, the client continues from the last key
    seen, marker = [], ""
    while True:
        page = s3.list_objects(Bucket=name, Marker=marker, MaxKeys=1000)
        page_keys = [o["Key"] for o in page["Contents"]]
        seen += page_keys
        if not page["IsTruncated"]:
            break
        marker = page.get("NextMarker") or page_keys[-1]
    assert seen == sorted(keys)

    # with a delimiter: NextMarker is given and may be a common prefix
    want_contents, want_prefixes = _reference(keys, "", "/")
    contents, prefixes, marker = [], [], ""
    for _ in range(20):
        page = s3.list_objects(Bucket=name, Delimiter="/", Marker=marker, MaxKeys=37)
        contents += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    else:
        raise AssertionError("v1 listing with a delimiter did not end")
    assert contents == want_contents and prefixes == want_prefixes


def test_paginators(s3, many) -> None:
    name, keys = many
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=name, PaginationConfig={"PageSize": 300}))
    assert len(pages) == -(-N_KEYS // 300)
    assert [o["Key"] for p in pages for o in p["Contents"]] == sorted(keys)

    v1 = s3.get_paginator("list_objects").paginate(Bucket=name, Prefix="dir0", Delimiter="/",
                                                   PaginationConfig={"PageSize": 5})
    merged = v1.build_full_result()
    want_contents, want_prefixes = _reference(keys, "dir0", "/")
    assert [o["Key"] for o in merged.get("Contents", [])] == want_contents
    assert [p["Prefix"] for p in merged["CommonPrefixes"]] == want_prefixes

    search = s3.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix="deep/1/")
    assert sorted(search.search("Contents[].Key")) == sorted(k for k in keys if k.startswith("deep/1/"))


# ---------------------------------------------------------------------------------- versioning


def test_versioning_end_to_end(s3, bucket) -> None:
    key = "model/weights.bin"
    s3.put_object(Bucket=bucket, Key=key, Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    bodies = [f"version {i}".encode() for i in range(4)]
    ids = [s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"] for body in bodies]  # put + overwrite x3
    assert len(set(ids)) == 4 and "null" not in ids

    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = listing["Versions"]
    assert [v["VersionId"] for v in versions] == [*reversed(ids), "null"]  # newest first, pre-versioning last
    assert [v["IsLatest"] for v in versions] == [True, False, False, False, False]
    assert versions[0]["ETag"] == f'"{hashlib.md5(bodies[3]).hexdigest()}"'
    assert "DeleteMarkers" not in listing

    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[3]
    old = s3.get_object(Bucket=bucket, Key=key, VersionId=ids[1])
    assert old["Body"].read() == bodies[1] and old["VersionId"] == ids[1]
    assert s3.get_object(Bucket=bucket, Key=key, VersionId="null")["Body"].read() == b"before versioning"
    assert s3.head_object(Bucket=bucket, Key=key, VersionId=ids[0])["ContentLength"] == len(bodies[0])

    deleted = s3.delete_object(Bucket=bucket, Key=key)
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker not in ids

    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key=key)
    code, status, headers = _error(excinfo)
    assert (code, status) == ("NoSuchKey", 404)
    assert headers.get("x-amz-delete-marker") == "true"
    assert headers.get("x-amz-version-id") == marker
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key=key)
    assert _error(excinfo)[1] == 404 and _error(excinfo)[2].get("x-amz-delete-marker") == "true"
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key=key, VersionId=marker)
    assert _error(excinfo)[:2] == ("MethodNotAllowed", 405)

    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    listing = s3.list_object_versions(Bucket=bucket)
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(marker, True)]
    assert len(listing["Versions"]) == 5 and not any(v["IsLatest"] for v in listing["Versions"])
    # old versions stay readable behind the marker
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=ids[2])["Body"].read() == bodies[2]

    removed = s3.delete_object(Bucket=bucket, Key=key, VersionId=marker)
    assert removed["VersionId"] == marker and removed.get("DeleteMarker") is True
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[3]
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket=bucket)

    # delete one specific old version permanently
    s3.delete_object(Bucket=bucket, Key=key, VersionId=ids[0])
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key=key, VersionId=ids[0])
    assert _error(excinfo)[1] in (400, 404)
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == \
        [ids[3], ids[2], ids[1], "null"]

    # suspended: new writes are the "null" version, replacing the earlier null version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"suspended 1")
    assert put.get("VersionId") in (None, "null")
    s3.put_object(Bucket=bucket, Key=key, Body=b"suspended 2")
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions] == ["null", ids[3], ids[2], ids[1]]
    assert versions[0]["IsLatest"] is True
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"suspended 2"
    assert s3.get_object(Bucket=bucket, Key=key, VersionId="null")["Body"].read() == b"suspended 2"
    assert s3.head_object(Bucket=bucket, Key=key).get("VersionId") in (None, "null")
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=ids[3])["Body"].read() == bodies[3]
    # a delete while suspended puts a "null" delete marker
    deleted = s3.delete_object(Bucket=bucket, Key=key)
    assert deleted.get("DeleteMarker") is True and deleted.get("VersionId") == "null"
    listing = s3.list_object_versions(Bucket=bucket)
    assert [m["VersionId"] for m in listing["DeleteMarkers"]] == ["null"]
    assert [v["VersionId"] for v in listing["Versions"]] == [ids[3], ids[2], ids[1]]

    # a bucket with versions cannot be deleted until every version is gone
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket)
    assert _error(excinfo)[:2] == ("BucketNotEmpty", 409)
    everything = [{"Key": key, "VersionId": v} for v in ("null", ids[3], ids[2], ids[1])]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": everything})
    assert len(result["Deleted"]) == 4 and "Errors" not in result
    s3.delete_bucket(Bucket=bucket)


# ---------------------------------------------------------------------------------- awkward keys

UNICODE_KEYS = [
    "emoji/😀🚀 party.txt",
    "cjk/日本語/中文/한국어.csv",
    "combining/e\u0301\u0323 decomposed.txt",
    "combining/\u00e9 composed.txt",
    "spaces/ leading and  double  and trailing ",
    "plus/a+b+c.txt",
    "percent/100% and %20 and %2F.txt",
    "question/what?.txt",
    "hash/#tag#.txt",
    "backslash/a\\b\\c.txt",
    "xml/<tag> & \"quotes\" 'single' >.txt",
    "misc/~!@$^&*()=[]{};:,|`.txt",
    "tab\there.txt",
    "slashes//double//",
    "日本/",
]


def _raw_list_client(server):
    """A client that sends list requests without botocore's automatic EncodingType=url."""
    client = server.client("s3")
    for op in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        client.meta.events.unregister(f"before-parameter-build.s3.{op}", set_list_objects_encoding_type_url)
    return client


def test_unicode_keys_round_trip(server, s3, bucket) -> None:
    bodies = {key: f"body of {key}".encode() for key in UNICODE_KEYS}
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"k": quote(key)})
    for key, body in bodies.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body, key
        assert got["Metadata"]["k"] == quote(key)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)

    want = sorted(UNICODE_KEYS, key=lambda k: k.encode())
    # botocore's default: EncodingType=url sent, answers decoded
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == want
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == want
    assert [v["Key"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == want
    # explicit EncodingType=url: botocore leaves the answer encoded
    explicit = s3.list_objects_v2(Bucket=bucket, EncodingType="url")
    assert explicit["EncodingType"] == "url"
    encoded = [o["Key"] for o in explicit["Contents"]]
    assert [unquote(k) for k in encoded] == want
    assert all(" " not in k and "\t" not in k and "<" not in k for k in encoded)
    # no EncodingType at all: keys travel as XML text
    raw = _raw_list_client(server)
    answer = raw.list_objects_v2(Bucket=bucket)
    assert "EncodingType" not in answer
    assert [o["Key"] for o in answer["Contents"]] == want
    assert [o["Key"] for o in raw.list_objects(Bucket=bucket)["Contents"]] == want

    # prefixes and delimiters made of the same characters, in each encoding mode
    for client in (s3, raw):
        page = client.list_objects_v2(Bucket=bucket, Prefix="cjk/日本語/", Delimiter="/")
        assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["cjk/日本語/中文/"]
        page = client.list_objects_v2(Bucket=bucket, Prefix="combining/e\u0301")
        assert [o["Key"] for o in page["Contents"]] == ["combining/e\u0301\u0323 decomposed.txt"]
        page = client.list_objects_v2(Bucket=bucket, Prefix="percent/100% and %2")
        assert [o["Key"] for o in page["Contents"]] == ["percent/100% and %20 and %2F.txt"]
        page = client.list_objects_v2(Bucket=bucket, Delimiter="/")
        assert {p["Prefix"] for p in page["CommonPrefixes"]} == {k.split("/")[0] + "/" for k in UNICODE_KEYS
                                                                 if "/" in k}
        assert [o["Key"] for o in page["Contents"]] == ["tab\there.txt"]
    encoded_prefix = s3.list_objects_v2(Bucket=bucket, Prefix="xml/", Delimiter="/", EncodingType="url")
    assert encoded_prefix["Prefix"] == "xml/"
    assert [unquote(o["Key"]) for o in encoded_prefix["Contents"]] == ["xml/<tag> & \"quotes\" 'single' >.txt"]

    # copy to new names, CopySource as a dict and as a "bucket/key" string (botocore quotes both)
    for i, key in enumerate(UNICODE_KEYS):
        target = f"copies/{key}"
        if i % 2:
            s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
        else:
            s3.copy_object(Bucket=bucket, Key=target, CopySource=f"{bucket}/{key}")
        assert s3.get_object(Bucket=bucket, Key=target)["Body"].read() == bodies[key], key
    copies = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="copies/")["Contents"]]
    assert copies == sorted((f"copies/{k}" for k in UNICODE_KEYS), key=lambda k: k.encode())

    # delete: one by one for the originals, in a batch for the copies
    for key in UNICODE_KEYS:
        s3.delete_object(Bucket=bucket, Key=key)
        with pytest.raises(ClientError) as excinfo:
            s3.head_object(Bucket=bucket, Key=key)
        assert _error(excinfo)[1] == 404
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in copies]})
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(copies) and "Errors" not in result
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
