"""A throw-away PostgreSQL cluster for the session, and an openmaker server whose metadata lives in it.

The cluster is created with ``initdb`` in a fresh directory under /tmp, started with ``pg_ctl`` on a
free loopback port (socket in its own directory, fsync off) and stopped by ``pg_ctl`` (then by its own
postmaster pid if that fails) at the end. It is made deliberately unlike SQLite: the database's default
collation is ICU ``en-US`` (where available) and the server's time zone is not UTC, so any column or
query that silently relied on byte-order collation or on UTC sessions shows up here.

PostgreSQL refuses to run as root: as root every cluster command runs as the ``postgres`` user
(``runuser``) on directories it owns. Without the server binaries the whole directory is skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from serverutil import RunningServer, free_port, start_server

DATABASE = "openmaker"
SERVER_TIMEZONE = "America/New_York"


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgCluster:
    bindir: Path
    root: Path  # owned by the cluster's user: data/, socket/, server.log
    port: int
    as_user: tuple[str, ...]  # command prefix running a program as the cluster's owner

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [*self.as_user, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c timezone={SERVER_TIMEZONE} "
            "-c max_connections=200"
        )
        pg_ctl = str(self.bindir / "pg_ctl")
        self.run(
            pg_ctl, "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self) -> None:
        """Stop this cluster (and only it): pg_ctl on its data directory, else its postmaster pid."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            self.run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"
            )
            return
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of this postmaster and its children
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)

    def create_database(self, name: str) -> None:
        """A UTF-8 database whose default collation is ICU en-US (not byte order) when ICU is built in."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            try:
                conn.execute(
                    f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                    "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            except psycopg.Error:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (scripts/system-deps.sh installs them)")
    as_user: tuple[str, ...] = ()
    root = Path(tempfile.mkdtemp(prefix="openmaker-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: hand the directory to postgres
        shutil.chown(root, "postgres", "postgres")
        as_user = ("runuser", "-u", "postgres", "--")
    cluster = PgCluster(bindir, root, free_port(), as_user)
    try:
        cluster.run(
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        cluster.run("mkdir", str(cluster.socket_dir))
        cluster.start()
        cluster.create_database(DATABASE)
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.url()


@contextlib.contextmanager
def database_url_env(url: str) -> Iterator[None]:
    """OPENMAKER_DATABASE_URL set only while a server is being started (it inherits os.environ)."""
    before = os.environ.get("OPENMAKER_DATABASE_URL")
    os.environ["OPENMAKER_DATABASE_URL"] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OPENMAKER_DATABASE_URL", None)
        else:
            os.environ["OPENMAKER_DATABASE_URL"] = before


def start_pg_server(home: Path, url: str, port: int | None = None) -> RunningServer:
    with database_url_env(url):
        return start_server(home, port)


@dataclass
class PgServer:
    """The session's server, restartable on the same database (tests hold this, not a stale process)."""

    url: str
    current: RunningServer

    def restart(self) -> RunningServer:
        self.current.stop()
        self.current = start_pg_server(self.current.home, self.url, self.current.port)
        return self.current


@pytest.fixture(scope="session")
def pg_server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    running = start_pg_server(tmp_path_factory.mktemp("openmaker-pg-home"), pg_url)
    holder = PgServer(pg_url, running)
    try:
        yield holder
    finally:
        holder.current.stop()


@pytest.fixture
def server(pg_server: PgServer) -> RunningServer:
    """Overrides the suite's SQLite server: in this directory every server speaks to PostgreSQL."""
    return pg_server.current


@pytest.fixture
def s3(server: RunningServer):
    return server.client("s3")
