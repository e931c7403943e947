"""The local image registry: names users give to their own ("bring your own") images.

There is no Docker here, so an image is only a name plus the command that stands for its ENTRYPOINT.
``openmaker images add`` writes the entries; image resolution reads them. The registry is a small JSON
file (``<home>/images.json``) rewritten atomically, so a crash never leaves it half written and readers
never need a lock.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

REGISTRY_FILE = "images.json"


@dataclass(frozen=True)
class RegisteredImage:
    """One registered image: the commands that play the role of its container entrypoint."""

    name: str
    entrypoint: list[str]
    workdir: str | None = None
    serve_entrypoint: list[str] | None = None
    # Docker passes "train"/"serve" to an image's ENTRYPOINT; opt in to get the same argument.
    pass_role: bool = False
    extra: dict = field(default_factory=dict)


def split_image_name(name: str) -> tuple[str, str, str | None]:
    """``[registry/]repository[:tag|@digest]`` -> (registry, repository, tag or digest or None).

    The registry is recognised the way Docker does it: a first path component holding a dot or a
    colon, or ``localhost``. ECR URIs thus lose ``<account>.dkr.ecr.<region>.amazonaws.com``.
    """
    name = name.strip()
    registry = ""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, name = first, rest
    if "@" in name:
        repository, _, digest = name.partition("@")
        return registry, repository, digest
    head, slash, last = name.rpartition("/")
    if ":" in last:
        last, _, tag = last.partition(":")
        return registry, f"{head}{slash}{last}", tag
    return registry, name, None


def image_key(name: str) -> str:
    """The registry key of an image name: the registry host dropped, so any account/region matches."""
    _, repository, tag = split_image_name(name)
    return f"{repository}:{tag}" if tag else repository


class ImageRegistry:
    """Reads and writes ``<home>/images.json``."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / REGISTRY_FILE

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return dict(data.get("images", {}))

    def _save(self, images: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".images-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"images": images}, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self) -> list[RegisteredImage]:
        return [_from_dict(key, value) for key, value in sorted(self._load().items())]

    def get(self, name: str) -> RegisteredImage | None:
        """The entry for ``name`` (``repo:tag`` first, then the bare repository), if any."""
        images = self._load()
        key = image_key(name)
        _, repository, tag = split_image_name(name)
        candidates = [key, repository] if tag else [key, f"{key}:latest"]
        for candidate in candidates:
            if candidate in images:
                return _from_dict(candidate, images[candidate])
        return None

    def add(self, image: RegisteredImage) -> RegisteredImage:
        if not image.entrypoint:
            raise ValueError("an image needs a non-empty entrypoint")
        images = self._load()
        key = image_key(image.name)
        entry = asdict(image)
        entry.pop("name")
        images[key] = entry
        self._save(images)
        return _from_dict(key, entry)

    def remove(self, name: str) -> bool:
        images = self._load()
        key = image_key(name)
        if key not in images:
            return False
        del images[key]
        self._save(images)
        return True


def _from_dict(key: str, value: dict) -> RegisteredImage:
    return RegisteredImage(
        name=key,
        entrypoint=list(value.get("entrypoint") or []),
        workdir=value.get("workdir"),
        serve_entrypoint=list(value["serve_entrypoint"]) if value.get("serve_entrypoint") else None,
        pass_role=bool(value.get("pass_role", False)),
        extra=dict(value.get("extra") or {}),
    )
