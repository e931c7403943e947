"""The object store on a temp dir and a SQLite file, called directly."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import zlib
from pathlib import Path

import pytest

import openmaker.storage.objects_schema  # noqa: F401  (registers the tables)
from openmaker.storage import errors
from openmaker.storage.db import Base, Database
from openmaker.storage.hashing import checksum_of
from openmaker.storage.objects import CompletedPart, ObjectStore, prefix_successor

MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    Base.metadata.create_all(db.engine)
    st = ObjectStore(db, tmp_path / "objects")
    st.create_bucket("b", owner="123456789012", region="us-east-1")
    yield st
    db.dispose()


def put(store: ObjectStore, key: str, data: bytes, bucket: str = "b", algorithm: str | None = None, **kw):
    w = store.new_writer(algorithm)
    w.write(data)
    return store.commit_object(bucket, key, w, **kw)


def read(store: ObjectStore, info) -> bytes:
    return store.blob_path(info).read_bytes()


def files_under(path: Path) -> list[Path]:
    return [Path(d) / f for d, _, fs in os.walk(path) for f in fs]


def test_put_get_roundtrip_and_checksums(store: ObjectStore) -> None:
    info = put(store, "a/b.txt", b"hello", algorithm="CRC32", content_type="text/plain", metadata={"x": "1"})
    assert info.etag == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert info.checksum_value == base64.b64encode(zlib.crc32(b"hello").to_bytes(4, "big")).decode()
    assert info.version_id == "null" and info.size == 5
    got = store.head_object("b", "a/b.txt")
    assert got.content_type == "text/plain" and got.metadata == {"x": "1"}
    assert read(store, got) == b"hello"
    with pytest.raises(errors.NoSuchKey):
        store.head_object("b", "missing")
    with pytest.raises(errors.NoSuchBucket):
        store.head_object("nope", "a")


def test_overwrite_unversioned_removes_old_blob(store: ObjectStore) -> None:
    put(store, "k", b"one")
    put(store, "k", b"two")
    assert read(store, store.head_object("b", "k")) == b"two"
    assert len(files_under(store.blob_dir)) == 1


@pytest.mark.parametrize("key", ["../../etc/passwd", "/abs/path", "nul\x00byte", "ü/ñ/日本語", "é" * 512, ".", ""])
def test_hostile_and_unicode_keys(store: ObjectStore, key: str) -> None:
    info = put(store, key, key.encode())
    assert store.blob_path(info).resolve().is_relative_to(store.blob_dir.resolve())
    assert read(store, store.head_object("b", key)) == key.encode()
    assert [o.key for o in store.list_objects("b").contents] == [key]


def test_key_too_long(store: ObjectStore) -> None:
    with pytest.raises(errors.KeyTooLongError):
        put(store, "é" * 513, b"x")
    assert files_under(store.tmp_dir) == []


def test_failure_between_write_and_commit_leaves_nothing(store: ObjectStore, monkeypatch) -> None:
    put(store, "k", b"old")
    w = store.new_writer()
    w.write(b"new data")

    def boom(*_a, **_k):
        raise RuntimeError("crash in the transaction")

    monkeypatch.setattr(store, "_insert_version", boom)
    with pytest.raises(RuntimeError):
        store.commit_object("b", "k", w)
    monkeypatch.undo()
    assert read(store, store.head_object("b", "k")) == b"old"
    assert files_under(store.tmp_dir) == []
    assert len(files_under(store.blob_dir)) == 1


def test_sweep_removes_leftovers_of_a_crash(store: ObjectStore) -> None:
    keep = put(store, "k", b"kept")
    # A crash after the temp write, and one after publishing but before the commit.
    (store.tmp_dir / "w-crashed").write_bytes(b"partial")
    orphan = store.blob_dir / "1" / "ab" / "ab0000"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"published, never committed")
    assert store.sweep() == 2
    assert files_under(store.tmp_dir) == []
    assert files_under(store.blob_dir) == [store.blob_path(keep)]
    assert read(store, store.head_object("b", "k")) == b"kept"


def test_aborted_writer_leaves_nothing(store: ObjectStore) -> None:
    w = store.new_writer("SHA256")
    w.write(b"x" * 1000)
    w.abort()
    assert files_under(store.tmp_dir) == []
    with pytest.raises(errors.NoSuchKey):
        store.head_object("b", "k")


def reference_list(keys: list[str], prefix: str, delimiter: str | None, marker: str | None):
    """Brute force: every item (key or common prefix) in order after the marker."""
    items: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for k in sorted(keys, key=lambda k: k.encode()):
        if not k.startswith(prefix) or (marker is not None and k.encode() <= marker.encode()):
            continue
        if delimiter and delimiter in k[len(prefix):]:
            cp = k[: k.index(delimiter, len(prefix)) + len(delimiter)]
            if (marker is not None and cp.encode() <= marker.encode()) or cp in seen:
                continue
            seen.add(cp)
            items.append((cp, True))
        else:
            items.append((k, False))
    return items


def paginate(store: ObjectStore, prefix: str, delimiter: str | None, max_keys: int):
    items: list[tuple[str, bool]] = []
    marker = None
    for _ in range(10000):
        res = store.list_objects("b", prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys)
        page = [(o.key, False) for o in res.contents] + [(p, True) for p in res.common_prefixes]
        items.extend(sorted(page, key=lambda i: i[0].encode()))
        assert len(page) <= max_keys
        if not res.is_truncated:
            return items
        marker = res.next_marker
    raise AssertionError("no end")


def test_listing_matches_brute_force(store: ObjectStore) -> None:
    rng = random.Random(7)
    parts = ["a", "b", "ab", "z", "é", "日", "~", "A", "a-b", ""]
    keys = set()
    while len(keys) < 3000:
        n = rng.randint(1, 4)
        keys.add("/".join(rng.choice(parts) + str(rng.randint(0, 30)) for _ in range(n)))
    keys = sorted(keys)
    for k in keys:
        put(store, k, b"")
    for prefix, delimiter, max_keys in [("", None, 1000), ("", "/", 7), ("a", "/", 50), ("a1/", "/", 3),
                                        ("", "-", 100), ("é", None, 13), ("q", "/", 5), ("", "/", 1000)]:
        expected = reference_list(keys, prefix, delimiter, None)
        assert paginate(store, prefix, delimiter, max_keys) == expected, (prefix, delimiter)
    # A user marker in the middle.
    res = store.list_objects("b", marker=keys[1500], max_keys=10)
    assert [o.key for o in res.contents] == keys[1501:1511]
    assert res.is_truncated and res.next_marker == keys[1510]


def test_binary_utf8_order(store: ObjectStore) -> None:
    keys = ["a", "B", "é", "\U0001f600", "\uffff", "z", "a\x00"]
    for k in keys:
        put(store, k, b"")
    assert [o.key for o in store.list_objects("b").contents] == sorted(keys, key=lambda k: k.encode())


def test_prefix_successor() -> None:
    assert prefix_successor("a/") == "a0"
    assert prefix_successor("a\ud7ff") == "a\ue000"
    assert prefix_successor("a\U0010ffff") == "b"
    assert prefix_successor("") is None


def test_versioning(store: ObjectStore) -> None:
    put(store, "k", b"unversioned")  # the "null" version from before versioning
    store.set_versioning("b", "Enabled")
    v1 = put(store, "k", b"v1")
    v2 = put(store, "k", b"v2")
    assert v1.version_id != v2.version_id != "null"
    assert read(store, store.head_object("b", "k")) == b"v2"
    assert read(store, store.head_object("b", "k", v1.version_id)) == b"v1"
    assert read(store, store.head_object("b", "k", "null")) == b"unversioned"
    d = store.delete_object("b", "k")
    assert d.delete_marker and d.version_id
    with pytest.raises(errors.NoSuchKey) as exc:
        store.head_object("b", "k")
    assert exc.value.delete_marker
    assert store.list_objects("b").contents == []
    res = store.list_object_versions("b")
    assert [(v.version_id, v.is_latest, v.is_delete_marker) for v in res.versions] == [
        (d.version_id, True, True), (v2.version_id, False, False), (v1.version_id, False, False),
        ("null", False, False)]
    # Removing the marker brings v2 back.
    store.delete_object("b", "k", d.version_id)
    assert store.head_object("b", "k").version_id == v2.version_id
    store.delete_object("b", "k", v1.version_id)
    with pytest.raises(errors.NoSuchVersion):
        store.head_object("b", "k", v1.version_id)
    # Version pagination by key/version-id markers.
    for i in range(5):
        put(store, f"p{i}", b"1")
        put(store, f"p{i}", b"2")
    seen = []
    km = vm = None
    while True:
        r = store.list_object_versions("b", prefix="p", key_marker=km, version_id_marker=vm, max_keys=3)
        seen += [(v.key, v.version_id) for v in r.versions]
        if not r.is_truncated:
            break
        km, vm = r.next_key_marker, r.next_version_id_marker
    full = store.list_object_versions("b", prefix="p").versions
    assert seen == [(v.key, v.version_id) for v in full] and len(seen) == 10
    # Suspended: new writes are "null", replacing the earlier null version.
    store.set_versioning("b", "Suspended")
    put(store, "k", b"s1")
    put(store, "k", b"s2")
    vs = [v for v in store.list_object_versions("b", prefix="k").versions]
    assert [v.version_id for v in vs].count("null") == 1
    with pytest.raises(errors.BucketNotEmpty):
        store.delete_bucket("b")


def test_copy_object(store: ObjectStore) -> None:
    src = put(store, "src", b"data", algorithm="CRC32", content_type="a/b", metadata={"m": "1"})
    new, s = store.copy_object("b", "src", "b", "dst")
    assert s.key == "src" and new.etag == src.etag and new.metadata == {"m": "1"}
    assert new.content_type == "a/b" and new.checksum_value == src.checksum_value
    new2, _ = store.copy_object("b", "src", "b", "dst2", replace_metadata=True, metadata={"n": "2"},
                                checksum_algorithm="SHA256")
    assert new2.metadata == {"n": "2"} and new2.content_type is None
    assert new2.checksum_value == checksum_of("SHA256", b"data")
    store.delete_object("b", "src")  # the hard link keeps the copy's bytes
    assert read(store, store.head_object("b", "dst")) == b"data"


def test_multipart(store: ObjectStore) -> None:
    up = store.create_multipart_upload("b", "big", content_type="x/y", checksum_algorithm="CRC32")
    assert up.checksum_type == "COMPOSITE"
    data = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
    etags = []
    for n, chunk in enumerate(data, 1):
        w = store.new_writer("CRC32")
        w.write(b"garbage")  # replaced below
        store.upload_part("b", "big", up.upload_id, n, w)
        w = store.new_writer("CRC32")
        w.write(chunk)
        etags.append(store.upload_part("b", "big", up.upload_id, n, w).etag)
    listed = store.list_parts("b", "big", up.upload_id, max_parts=2)
    assert [p.part_number for p in listed.parts] == [1, 2] and listed.is_truncated
    rest = store.list_parts("b", "big", up.upload_id, part_number_marker=listed.next_part_number_marker)
    assert [p.part_number for p in rest.parts] == [3] and not rest.is_truncated
    assert [u.upload_id for u in store.list_multipart_uploads("b").uploads] == [up.upload_id]
    with pytest.raises(errors.InvalidPartOrder):
        store.complete_multipart_upload("b", "big", up.upload_id, [CompletedPart(2, etags[1]), CompletedPart(1, etags[0])])
    with pytest.raises(errors.InvalidPart):
        store.complete_multipart_upload("b", "big", up.upload_id, [CompletedPart(1, '"00"')])
    info = store.complete_multipart_upload("b", "big", up.upload_id, [CompletedPart(n, e) for n, e in enumerate(etags, 1)])
    md5s = b"".join(hashlib.md5(c).digest() for c in data)
    assert info.etag == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    crcs = b"".join(zlib.crc32(c).to_bytes(4, "big") for c in data)
    assert info.checksum_value == base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode() + "-3"
    assert info.parts_count == 3 and info.content_type == "x/y"
    assert read(store, info) == b"".join(data)
    assert len(files_under(store.blob_dir)) == 1  # the parts are gone
    with pytest.raises(errors.NoSuchUpload):
        store.list_parts("b", "big", up.upload_id)


def test_multipart_entity_too_small_and_abort(store: ObjectStore) -> None:
    up = store.create_multipart_upload("b", "k")
    etags = []
    for n in (1, 2):
        w = store.new_writer()
        w.write(b"small")
        etags.append(store.upload_part("b", "k", up.upload_id, n, w).etag)
    with pytest.raises(errors.EntityTooSmall):
        store.complete_multipart_upload("b", "k", up.upload_id, [CompletedPart(1, etags[0]), CompletedPart(2, etags[1])])
    # A single small part is fine (the last part has no minimum).
    store.abort_multipart_upload("b", "k", up.upload_id)
    assert files_under(store.blob_dir) == []
    with pytest.raises(errors.NoSuchUpload):
        store.abort_multipart_upload("b", "k", up.upload_id)


def test_full_object_multipart_checksum(store: ObjectStore) -> None:
    store.min_part_size = 1
    up = store.create_multipart_upload("b", "k", checksum_algorithm="CRC32C", checksum_type="FULL_OBJECT")
    etags = []
    for n, chunk in enumerate([b"abc", b"defg"], 1):
        w = store.new_writer("CRC32C")
        w.write(chunk)
        etags.append(store.upload_part("b", "k", up.upload_id, n, w).etag)
    info = store.complete_multipart_upload("b", "k", up.upload_id, [CompletedPart(1, etags[0]), CompletedPart(2, etags[1])])
    assert info.checksum_value == checksum_of("CRC32C", b"abcdefg") and info.checksum_type == "FULL_OBJECT"


def test_buckets(store: ObjectStore) -> None:
    with pytest.raises(errors.BucketAlreadyOwnedByYou):
        store.create_bucket("b", owner="123456789012", region="us-east-1")
    with pytest.raises(errors.BucketAlreadyExists):
        store.create_bucket("b", owner="other", region="us-east-1")
    store.create_bucket("c", owner="123456789012", region="eu-west-1")
    assert [b.name for b in store.list_buckets()] == ["b", "c"]
    assert store.get_bucket("c").region == "eu-west-1"
    put(store, "x", b"1", bucket="c")
    with pytest.raises(errors.BucketNotEmpty):
        store.delete_bucket("c")
    store.delete_object("c", "x")
    store.create_multipart_upload("c", "pending")
    store.delete_bucket("c")
    with pytest.raises(errors.NoSuchBucket):
        store.get_bucket("c")
