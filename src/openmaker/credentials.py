"""The embedded account's root access key pair, created on first start and kept in the data dir."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

_ID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


@dataclass(frozen=True)
class RootCredentials:
    access_key_id: str
    secret_access_key: str


def ensure_root_credentials(path: Path) -> RootCredentials:
    """Read the root key pair, creating it (readable by the owner only) if it does not exist yet."""
    if path.exists():
        data = json.loads(path.read_text())
        return RootCredentials(data["aws_access_key_id"], data["aws_secret_access_key"])
    path.parent.mkdir(parents=True, exist_ok=True)
    creds = RootCredentials(new_access_key_id(), new_secret_access_key())
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"aws_access_key_id": creds.access_key_id, "aws_secret_access_key": creds.secret_access_key}, f)
    os.replace(tmp, path)
    return creds
