"""The metadata database: SQLAlchemy 2 on SQLite (WAL) by default, PostgreSQL by URL.

Every table of every room hangs off :class:`Base`; the schema is created and upgraded by Alembic
migrations (``storage/migrations``) so an old data directory is always brought up to date on start.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, String, Text, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    """Declarative base shared by every table."""


def binary_string(length: int) -> String:
    """A VARCHAR compared and ordered by its bytes (UTF-8, i.e. code point order) on every backend.

    SQLite's default BINARY collation already does that; PostgreSQL uses the database's collation
    (``en_US.UTF-8``, ICU...), which orders ``"B"`` after ``"a"``, so names that are listed and paged
    in AWS's order (keys, bucket, log group, IAM, job and tag names) ask for ``COLLATE "C"`` there.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


_ESCAPED = re.compile("\x01([\x01\x02])")


class NulEscapedString(TypeDecorator):
    """PostgreSQL text cannot hold NUL, which S3 keys and log messages may contain (SQLite stores it).

    Stored with an order-preserving, prefix-free escape: U+0001 becomes U+0001 U+0002 and U+0000
    becomes U+0001 U+0001, every other character stays itself. Byte order, prefix ranges and equality
    are therefore the same on the stored form as on the real strings, and bound values (comparisons
    included) are escaped the same way. An escaped value is at most twice as long.
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or ("\x00" not in value and "\x01" not in value):
            return value
        return value.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")

    def process_result_value(self, value, dialect):
        if value is None or "\x01" not in value:
            return value
        return _ESCAPED.sub(lambda m: "\x00" if m.group(1) == "\x01" else "\x01", value)


class NulEscapedText(NulEscapedString):
    impl = Text
    cache_ok = True


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _postgresql_session(dbapi_connection, _record) -> None:
    # Every stored datetime is UTC. Make the session say so, as SQLite implicitly does: naive values
    # are then read as UTC (not the server's TimeZone) and timestamptz values come back in UTC.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.autocommit = autocommit


class Database:
    """One engine and session factory for the process."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 16
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "connect", _postgresql_session)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and makes waiting writers poll with coarse sleeps; taking
        # turns in-process instead keeps many concurrent small writes fast. (PostgreSQL: no lock.)
        self._turn = threading.RLock() if url.startswith("sqlite") else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._turn or nullcontext(), self._sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creates it on a new database)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection_url"] = self.url
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()
