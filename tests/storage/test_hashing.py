"""S3's checksum algorithms: standard check values, incremental updates, composite multipart form."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from openmaker.storage.hashing import ALGORITHMS, b64, checksum_of, composite_checksum, new_hasher


def test_check_values() -> None:
    check = b"123456789"
    values = {name: base64.b64decode(checksum_of(name, check)).hex() for name in ALGORITHMS}
    assert values["CRC32"] == "cbf43926"
    assert values["CRC32C"] == "e3069283"
    assert values["CRC64NVME"] == "ae8b14860a799888"
    assert values["SHA1"] == hashlib.sha1(check).hexdigest()
    assert values["SHA256"] == hashlib.sha256(check).hexdigest()


@pytest.mark.parametrize("name", ALGORITHMS)
def test_incremental_equals_one_shot(name: str) -> None:
    data = os.urandom(100_003)
    hasher = new_hasher(name)
    for i in range(0, len(data), 4099):
        hasher.update(data[i : i + 4099])
    assert b64(hasher.digest()) == checksum_of(name, data)


def test_composite_is_checksum_of_part_checksums() -> None:
    parts = [os.urandom(1000), os.urandom(10)]
    values = [checksum_of("CRC32", part) for part in parts]
    joined = b"".join(base64.b64decode(v) for v in values)
    assert composite_checksum("CRC32", values) == f"{checksum_of('CRC32', joined)}-2"


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError):
        new_hasher("CRC16")
