"""Safe extraction of user tarballs and where staged objects land in a channel."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from openmaker.engine.archive import UnsafeArchive, safe_extract
from openmaker.engine.staging import _relative


def _tar(*members: tarfile.TarInfo, data: bytes = b"x") -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if member.isfile():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    buffer.seek(0)
    return buffer


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_regular_files_and_inner_links_extract(tmp_path: Path) -> None:
    archive = _tar(_member("a/b.py"), _member("a/link", tarfile.SYMTYPE, "b.py"))
    assert safe_extract(archive, tmp_path / "out") == 2
    assert (tmp_path / "out/a/b.py").read_bytes() == b"x"
    assert (tmp_path / "out/a/link").read_bytes() == b"x"


@pytest.mark.parametrize(
    "member",
    [
        _member("/etc/evil"),
        _member("../evil"),
        _member("a/../../evil"),
        _member("link", tarfile.SYMTYPE, "/etc/passwd"),
        _member("link", tarfile.SYMTYPE, "../../outside"),
        _member("hard", tarfile.LNKTYPE, "../outside"),
        _member("dev", tarfile.CHRTYPE),
        _member("fifo", tarfile.FIFOTYPE),
    ],
    ids=lambda m: f"{m.name}->{m.linkname}" if m.linkname else m.name,
)
def test_unsafe_members_are_refused(tmp_path: Path, member: tarfile.TarInfo) -> None:
    with pytest.raises(UnsafeArchive):
        safe_extract(_tar(member), tmp_path / "out")
    assert not (tmp_path / "evil").exists() and not (tmp_path / "outside").exists()


def test_write_through_an_earlier_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    archive = _tar(_member("d", tarfile.SYMTYPE, "."), _member("d/../../secret/x"))
    with pytest.raises(UnsafeArchive):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "secret/x").exists()


@pytest.mark.parametrize(
    ("prefix", "key", "expected"),
    [
        ("data/train", "data/train/a.csv", "a.csv"),
        ("data/train/", "data/train/sub/b.csv", "sub/b.csv"),
        ("data/tr", "data/train/a.csv", "train/a.csv"),
        ("data/train/a.csv", "data/train/a.csv", "a.csv"),
        ("", "x/y.csv", "x/y.csv"),
    ],
)
def test_where_objects_land(prefix: str, key: str, expected: str) -> None:
    assert _relative(prefix, key) == expected
