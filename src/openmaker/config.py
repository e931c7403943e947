"""Settings: where data lives, which port to serve, which database to use.

Every value has an embedded default so `openmaker serve` needs no setup; environment variables
(``OPENMAKER_*``) or CLI flags override them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8787
DEFAULT_HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"


def default_home() -> Path:
    return Path(os.environ.get("OPENMAKER_HOME") or Path.home() / ".openmaker").expanduser()


@dataclass
class Settings:
    home: Path = field(default_factory=default_home)
    host: str = DEFAULT_HOST
    port: int = int(os.environ.get("OPENMAKER_PORT", DEFAULT_PORT))
    region: str = os.environ.get("OPENMAKER_REGION", DEFAULT_REGION)
    account_id: str = os.environ.get("OPENMAKER_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    database_url: str | None = os.environ.get("OPENMAKER_DATABASE_URL")
    insecure: bool = os.environ.get("OPENMAKER_INSECURE", "") not in ("", "0", "false")
    fsync: bool = os.environ.get("OPENMAKER_FSYNC", "") not in ("", "0", "false")
    # Engine capacity: jobs run while their instances fit in ``slots`` (each instance takes
    # ``slot_size`` slots); the rest wait in order. ``stop_grace``: seconds between SIGTERM and SIGKILL.
    slots: int = int(os.environ.get("OPENMAKER_SLOTS") or os.cpu_count() or 1)
    slot_size: int = int(os.environ.get("OPENMAKER_SLOT_SIZE") or 1)
    stop_grace: float = float(os.environ.get("OPENMAKER_STOP_GRACE") or 5)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'openmaker.db'}"

    @property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    @property
    def endpoint_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"
