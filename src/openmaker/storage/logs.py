"""The log-event store behind CloudWatch Logs and the training engine's job output.

Both the Logs API handlers and the engine (which appends job stdout lines) use :class:`LogStore`.
Paging tokens are opaque strings to clients but encode a position between two events of a stream,
``(timestamp, seq)``: ``f/<pos>`` reads forward from that position, ``b/<pos>`` reads backward from
it. A forward page that finds nothing answers the very token it was given, which is how AWS lets a
reader poll a growing stream.

Appends start their transaction with an UPDATE of the stream row (taking the write lock at once on
SQLite and a row lock on PostgreSQL) and insert the events in one executemany; a process-wide lock
keeps threads of one server from contending for SQLite's single writer.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openmaker.storage.db import Database
from openmaker.storage.log_filter import compile_pattern
from openmaker.storage.logs_schema import LogEvent, LogGroup, LogStream

MAX_EVENT_BYTES = 262_144 - 26  # one event, as CloudWatch counts it (message + 26 bytes overhead)
MAX_PAGE_BYTES = 1_048_576  # GetLogEvents and FilterLogEvents answer at most 1 MB
EVENT_OVERHEAD = 26
MAX_LIMIT = 10_000
FILTER_SCAN_BATCH = 2_000
FILTER_SCAN_MAX = 100_000  # rows examined per FilterLogEvents call before answering with a nextToken
_MIN_TS = -(2**62)
_MAX_TS = 2**62


# --- errors -------------------------------------------------------------------------------------


class LogStoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LogGroupNotFound(LogStoreError):
    def __init__(self) -> None:
        super().__init__("The specified log group does not exist.")


class LogStreamNotFound(LogStoreError):
    def __init__(self) -> None:
        super().__init__("The specified log stream does not exist.")


class LogGroupExists(LogStoreError):
    def __init__(self) -> None:
        super().__init__("The specified log group already exists")


class LogStreamExists(LogStoreError):
    def __init__(self) -> None:
        super().__init__("The specified log stream already exists")


class InvalidToken(LogStoreError):
    def __init__(self) -> None:
        super().__init__("The specified nextToken is invalid.")


# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupInfo:
    name: str
    creation_time: int
    retention_days: int | None
    stored_bytes: int
    arn: str  # ...:log-group:<name>:*  (DescribeLogGroups' "arn")
    group_arn: str  # ...:log-group:<name>   ("logGroupArn")


@dataclass(frozen=True)
class StreamInfo:
    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int
    arn: str


@dataclass(frozen=True)
class Event:
    timestamp: int
    message: str
    ingestion_time: int
    stream_name: str = ""
    event_id: str = ""


@dataclass(frozen=True)
class EventsPage:
    """A GetLogEvents answer: events oldest first, and both tokens (always set)."""

    events: list[Event]
    forward_token: str
    backward_token: str


@dataclass(frozen=True)
class FilterPage:
    events: list[Event]
    searched_streams: list[str]
    next_token: str | None


# --- helpers ------------------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def _encode(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise InvalidToken() from exc


def _position_token(direction: str, ts: int, seq: int) -> str:
    return f"{direction}/{ts}/{seq}"


def _parse_position(token: str) -> tuple[str, int, int]:
    try:
        direction, ts, seq = token.split("/")
        if direction not in ("f", "b"):
            raise ValueError(token)
        return direction, int(ts), int(seq)
    except ValueError as exc:
        raise InvalidToken() from exc


def _size(message: str) -> int:
    return len(message.encode("utf-8")) + EVENT_OVERHEAD


def _truncate(message: str) -> str:
    data = message.encode("utf-8")
    if len(data) <= MAX_EVENT_BYTES:
        return message
    return data[:MAX_EVENT_BYTES].decode("utf-8", "ignore")


def _cap_bytes(rows: Sequence, message_of) -> list:
    """The longest prefix of ``rows`` within one page's byte budget (at least one row)."""
    total = 0
    for i, row in enumerate(rows):
        total += _size(message_of(row))
        if total > MAX_PAGE_BYTES and i > 0:
            return list(rows[:i])
    return list(rows)


def _event_id(ts: int, stream_id: int, seq: int) -> str:
    return f"{max(ts, 0):020d}{stream_id:018d}{seq:018d}"


# --- the store ----------------------------------------------------------------------------------


class LogStore:
    """Log groups, streams and events of one account in one region.

    ``for_region`` gives a view of another region sharing the database and the write lock; the
    handlers use ``ctx.app.logs.for_region(ctx.region)``.
    """

    def __init__(
        self, db: Database, region: str, account_id: str, *, _lock: threading.Lock | None = None
    ) -> None:
        self.db = db
        self.region = region
        self.account_id = account_id
        self._lock = _lock or threading.Lock()
        self._views: dict[str, LogStore] = {region: self}

    def for_region(self, region: str) -> LogStore:
        view = self._views.get(region)
        if view is None:
            view = LogStore(self.db, region, self.account_id, _lock=self._lock)
            view._views = self._views
            self._views[region] = view
        return view

    # --- ARNs ------------------------------------------------------------------------------------

    def group_arn(self, group: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{group}"

    def stream_arn(self, group: str, stream: str) -> str:
        return f"{self.group_arn(group)}:log-stream:{stream}"

    def _group_info(self, row: LogGroup, stored: int) -> GroupInfo:
        arn = self.group_arn(row.name)
        return GroupInfo(row.name, row.creation_time, row.retention_days, stored, arn + ":*", arn)

    def _stream_info(self, group: str, row: LogStream) -> StreamInfo:
        return StreamInfo(
            row.name,
            row.creation_time,
            row.first_event_timestamp,
            row.last_event_timestamp,
            row.last_ingestion_time,
            row.stored_bytes,
            self.stream_arn(group, row.name),
        )

    # --- groups ----------------------------------------------------------------------------------

    def _group_query(self, name: str):
        return select(LogGroup).where(
            LogGroup.account_id == self.account_id, LogGroup.region == self.region, LogGroup.name == name
        )

    def _require_group(self, s: Session, name: str) -> LogGroup:
        row = s.scalar(self._group_query(name))
        if row is None:
            raise LogGroupNotFound()
        return row

    def _stored_bytes(self, s: Session, group_id: int) -> int:
        return int(
            s.scalar(
                select(func.coalesce(func.sum(LogStream.stored_bytes), 0)).where(
                    LogStream.group_id == group_id
                )
            )
            or 0
        )

    def create_group(self, name: str, *, exist_ok: bool = False) -> GroupInfo:
        with self._lock:
            try:
                with self.db.session() as s:
                    row = s.scalar(self._group_query(name))
                    if row is not None:
                        if not exist_ok:
                            raise LogGroupExists()
                        return self._group_info(row, self._stored_bytes(s, row.id))
                    row = LogGroup(
                        account_id=self.account_id,
                        region=self.region,
                        name=name,
                        creation_time=now_ms(),
                        stored_bytes=0,
                    )
                    s.add(row)
                    s.flush()
                    return self._group_info(row, 0)
            except IntegrityError:  # created meanwhile by another process
                if not exist_ok:
                    raise LogGroupExists() from None
                return self.get_group(name)

    def get_group(self, name: str) -> GroupInfo:
        with self.db.session() as s:
            row = self._require_group(s, name)
            return self._group_info(row, self._stored_bytes(s, row.id))

    def describe_groups(
        self,
        prefix: str | None = None,
        pattern: str | None = None,
        limit: int = 50,
        token: str | None = None,
    ) -> tuple[list[GroupInfo], str | None]:
        """Groups by name; ``pattern`` is a case-insensitive substring. The token is set when more remain."""
        q = select(LogGroup).where(LogGroup.account_id == self.account_id, LogGroup.region == self.region)
        if prefix:
            q = q.where(LogGroup.name.startswith(prefix, autoescape=True))
        if pattern:
            q = q.where(func.lower(LogGroup.name).contains(pattern.lower(), autoescape=True))
        if token:
            after = _decode(token)
            if not isinstance(after, str):
                raise InvalidToken()
            q = q.where(LogGroup.name > after)
        with self.db.session() as s:
            rows = s.scalars(q.order_by(LogGroup.name).limit(limit + 1)).all()
            groups = [self._group_info(r, self._stored_bytes(s, r.id)) for r in rows[:limit]]
        return groups, (_encode(groups[-1].name) if len(rows) > limit else None)

    def delete_group(self, name: str) -> None:
        with self._lock, self.db.session() as s:
            row = self._require_group(s, name)
            stream_ids = select(LogStream.id).where(LogStream.group_id == row.id)
            s.execute(delete(LogEvent).where(LogEvent.stream_id.in_(stream_ids)))
            s.execute(delete(LogStream).where(LogStream.group_id == row.id))
            s.delete(row)

    def put_retention(self, name: str, days: int | None) -> None:
        """Set (or with None remove) the group's retention in days."""
        with self.db.session() as s:
            self._require_group(s, name).retention_days = days

    def purge_expired(self, at_ms: int | None = None) -> int:
        """Delete events older than their group's retention; returns how many were deleted."""
        at_ms = at_ms if at_ms is not None else now_ms()
        deleted = 0
        with self.db.session() as s:
            groups = s.execute(
                select(LogGroup.id, LogGroup.retention_days).where(
                    LogGroup.account_id == self.account_id,
                    LogGroup.region == self.region,
                    LogGroup.retention_days.is_not(None),
                )
            ).all()
        for group_id, days in groups:
            cutoff = at_ms - days * 86_400_000
            with self._lock, self.db.session() as s:
                stream_ids = select(LogStream.id).where(LogStream.group_id == group_id)
                result = s.execute(
                    delete(LogEvent).where(LogEvent.stream_id.in_(stream_ids), LogEvent.timestamp < cutoff)
                )
                deleted += result.rowcount or 0
        return deleted

    # --- streams ---------------------------------------------------------------------------------

    def _require_stream(self, s: Session, group: str, stream: str) -> tuple[LogGroup, LogStream]:
        g = self._require_group(s, group)
        row = s.scalar(select(LogStream).where(LogStream.group_id == g.id, LogStream.name == stream))
        if row is None:
            raise LogStreamNotFound()
        return g, row

    def create_stream(self, group: str, stream: str, *, exist_ok: bool = False) -> StreamInfo:
        with self._lock:
            try:
                with self.db.session() as s:
                    g = self._require_group(s, group)
                    row = s.scalar(
                        select(LogStream).where(LogStream.group_id == g.id, LogStream.name == stream)
                    )
                    if row is not None:
                        if not exist_ok:
                            raise LogStreamExists()
                        return self._stream_info(group, row)
                    row = LogStream(
                        group_id=g.id, name=stream, creation_time=now_ms(), stored_bytes=0, next_seq=0
                    )
                    s.add(row)
                    s.flush()
                    return self._stream_info(group, row)
            except IntegrityError:
                if not exist_ok:
                    raise LogStreamExists() from None
                return self.get_stream(group, stream)

    def get_stream(self, group: str, stream: str) -> StreamInfo:
        with self.db.session() as s:
            return self._stream_info(group, self._require_stream(s, group, stream)[1])

    def describe_streams(
        self,
        group: str,
        prefix: str | None = None,
        order_by: str = "LogStreamName",
        descending: bool = False,
        limit: int = 50,
        token: str | None = None,
    ) -> tuple[list[StreamInfo], str | None]:
        """Streams of a group; the token is set only when more streams remain after this page."""
        by_time = order_by == "LastEventTime"
        last_ts = func.coalesce(LogStream.last_event_timestamp, 0)  # streams without events sort oldest
        with self.db.session() as s:
            g = self._require_group(s, group)
            q = select(LogStream).where(LogStream.group_id == g.id)
            if prefix:
                q = q.where(LogStream.name.startswith(prefix, autoescape=True))
            if token:
                after = _decode(token)
                if by_time:
                    if not (isinstance(after, list) and len(after) == 2):
                        raise InvalidToken()
                    key = tuple_(last_ts, LogStream.name)
                    q = q.where(key < tuple_(*after) if descending else key > tuple_(*after))
                else:
                    if not isinstance(after, str):
                        raise InvalidToken()
                    q = q.where(LogStream.name < after if descending else LogStream.name > after)
            if by_time:
                order = [last_ts.desc(), LogStream.name.desc()] if descending else [last_ts, LogStream.name]
            else:
                order = [LogStream.name.desc() if descending else LogStream.name]
            rows = s.scalars(q.order_by(*order).limit(limit + 1)).all()
            page = rows[:limit]
            streams = [self._stream_info(group, r) for r in page]
            next_token = None
            if len(rows) > limit:
                last = page[-1]
                next_token = _encode([last.last_event_timestamp or 0, last.name] if by_time else last.name)
        return streams, next_token

    def delete_stream(self, group: str, stream: str) -> None:
        with self._lock, self.db.session() as s:
            _, row = self._require_stream(s, group, stream)
            s.execute(delete(LogEvent).where(LogEvent.stream_id == row.id))
            s.delete(row)

    # --- events ----------------------------------------------------------------------------------

    def append(
        self,
        group: str,
        stream: str,
        events: Iterable[tuple[int, str]],
        create: bool = True,
        ingestion_time: int | None = None,
    ) -> str:
        """Append ``(timestamp_ms, message)`` events; returns the stream's next sequence token.

        With ``create`` the group and stream are made when missing (the engine's case); without it a
        missing one raises :class:`LogGroupNotFound` / :class:`LogStreamNotFound` (PutLogEvents).
        Messages longer than CloudWatch's event limit are truncated.
        """
        batch = [(int(ts), _truncate(msg)) for ts, msg in events]
        for attempt in range(2):
            try:
                return self._append(group, stream, batch, create, ingestion_time or now_ms())
            except IntegrityError:  # a concurrent creator (other process) won the race: retry once
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _append(
        self, group: str, stream: str, batch: list[tuple[int, str]], create: bool, ingested: int
    ) -> str:
        n = len(batch)
        nbytes = sum(len(m.encode("utf-8")) for _, m in batch)
        lo = min((ts for ts, _ in batch), default=None)
        hi = max((ts for ts, _ in batch), default=None)
        group_id = (
            select(LogGroup.id)
            .where(
                LogGroup.account_id == self.account_id, LogGroup.region == self.region, LogGroup.name == group
            )
            .scalar_subquery()
        )
        values: dict = {"next_seq": LogStream.next_seq + n}
        if n:
            first, last = LogStream.first_event_timestamp, LogStream.last_event_timestamp
            values.update(
                first_event_timestamp=case((first.is_(None), lo), (first > lo, lo), else_=first),
                last_event_timestamp=case((last.is_(None), hi), (last < hi, hi), else_=last),
                last_ingestion_time=ingested,
                stored_bytes=LogStream.stored_bytes + nbytes,
            )
        stmt = (
            update(LogStream)
            .where(LogStream.group_id == group_id, LogStream.name == stream)
            .values(**values)
            .returning(LogStream.id, LogStream.next_seq)
        )
        with self._lock, self.db.session() as s:
            hit = s.execute(stmt).first()
            if hit is None:
                g = s.scalar(self._group_query(group))
                if not create:
                    raise LogGroupNotFound() if g is None else LogStreamNotFound()
                if g is None:
                    g = LogGroup(
                        account_id=self.account_id,
                        region=self.region,
                        name=group,
                        creation_time=ingested,
                        stored_bytes=0,
                    )
                    s.add(g)
                    s.flush()
                s.add(
                    LogStream(group_id=g.id, name=stream, creation_time=ingested, stored_bytes=0, next_seq=0)
                )
                s.flush()
                hit = s.execute(stmt).first()
                assert hit is not None
            stream_id, next_seq = hit
            if n:
                start = next_seq - n
                s.execute(
                    insert(LogEvent),
                    [
                        {
                            "stream_id": stream_id,
                            "seq": start + i,
                            "timestamp": ts,
                            "ingestion_time": ingested,
                            "message": m,
                        }
                        for i, (ts, m) in enumerate(batch)
                    ],
                )
        return f"{next_seq:056d}"

    def get_events(
        self,
        group: str,
        stream: str,
        start_time: int | None = None,
        end_time: int | None = None,
        start_from_head: bool = False,
        limit: int | None = None,
        token: str | None = None,
    ) -> EventsPage:
        """One GetLogEvents page: events in ``[start_time, end_time)`` oldest first, and both tokens.

        Without a token, ``start_from_head`` reads from the window's start, otherwise the newest
        ``limit`` events. A token's direction wins over ``start_from_head``.
        """
        limit = min(limit or MAX_LIMIT, MAX_LIMIT)
        lo = start_time if start_time is not None else _MIN_TS
        hi = end_time if end_time is not None else _MAX_TS
        if token:
            direction, pts, pseq = _parse_position(token)
        elif start_from_head:
            direction, pts, pseq = "f", lo, 0
        else:
            direction, pts, pseq = "b", hi, 0
        with self.db.session() as s:
            _, row = self._require_stream(s, group, stream)
            key = tuple_(LogEvent.timestamp, LogEvent.seq)
            q = select(LogEvent.timestamp, LogEvent.seq, LogEvent.message, LogEvent.ingestion_time).where(
                LogEvent.stream_id == row.id, LogEvent.timestamp >= lo, LogEvent.timestamp < hi
            )
            if direction == "f":
                q = q.where(key >= tuple_(pts, pseq)).order_by(LogEvent.timestamp, LogEvent.seq)
            else:
                q = q.where(key < tuple_(pts, pseq)).order_by(LogEvent.timestamp.desc(), LogEvent.seq.desc())
            rows = _cap_bytes(s.execute(q.limit(limit)).all(), lambda r: r.message)
        if direction == "b":
            rows.reverse()
        if not rows:
            if not token and direction == "b":  # nothing in the window yet: poll forward from its start
                pts, pseq = lo, 0
            return EventsPage([], _position_token("f", pts, pseq), _position_token("b", pts, pseq))
        events = [Event(r.timestamp, r.message, r.ingestion_time) for r in rows]
        first, last = rows[0], rows[-1]
        return EventsPage(
            events,
            _position_token("f", last.timestamp, last.seq + 1),
            _position_token("b", first.timestamp, first.seq),
        )

    def filter_events(
        self,
        group: str,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        pattern: str | None = None,
        limit: int | None = None,
        token: str | None = None,
    ) -> FilterPage:
        """Matching events of the chosen streams, interleaved by time; ``end_time`` is exclusive.

        A page may hold fewer than ``limit`` events (even none) and still carry a ``next_token`` when
        the scan budget ran out; callers loop until the token is absent, as with AWS.
        """
        match = compile_pattern(pattern)
        limit = min(limit or MAX_LIMIT, MAX_LIMIT)
        lo = start_time if start_time is not None else _MIN_TS
        hi = end_time if end_time is not None else _MAX_TS
        pos: tuple[int, int, int] | None = None
        if token:
            raw = _decode(token)
            if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(x, int) for x in raw)):
                raise InvalidToken()
            pos = (raw[0], raw[1], raw[2])
        with self.db.session() as s:
            g = self._require_group(s, group)
            sq = select(LogStream.id, LogStream.name).where(LogStream.group_id == g.id)
            if stream_names:
                sq = sq.where(LogStream.name.in_(list(stream_names)))
            if stream_prefix:
                sq = sq.where(LogStream.name.startswith(stream_prefix, autoescape=True))
            streams = dict(s.execute(sq.order_by(LogStream.name)).all())
            found: list[Event] = []
            total = 0
            scanned = 0
            next_token: str | None = None
            key = tuple_(LogEvent.timestamp, LogEvent.stream_id, LogEvent.seq)
            base = (
                select(
                    LogEvent.timestamp,
                    LogEvent.stream_id,
                    LogEvent.seq,
                    LogEvent.message,
                    LogEvent.ingestion_time,
                )
                .where(
                    LogEvent.stream_id.in_(list(streams)), LogEvent.timestamp >= lo, LogEvent.timestamp < hi
                )
                .order_by(LogEvent.timestamp, LogEvent.stream_id, LogEvent.seq)
            )
            while streams:
                rows = s.execute(
                    (base.where(key > tuple_(*pos)) if pos else base).limit(FILTER_SCAN_BATCH)
                ).all()
                full = False
                for r in rows:
                    if match(r.message):
                        size = _size(r.message)
                        if found and total + size > MAX_PAGE_BYTES:
                            full = True  # this row starts the next page; pos stays on the last one kept
                            break
                        total += size
                        found.append(
                            Event(
                                r.timestamp,
                                r.message,
                                r.ingestion_time,
                                streams[r.stream_id],
                                _event_id(r.timestamp, r.stream_id, r.seq),
                            )
                        )
                    pos = (r.timestamp, r.stream_id, r.seq)
                    scanned += 1
                    if len(found) >= limit:
                        full = True
                        break
                if full:
                    if (
                        pos is not None
                        and s.execute(base.where(key > tuple_(*pos)).limit(1)).first() is not None
                    ):
                        next_token = _encode(list(pos))
                    break
                if len(rows) < FILTER_SCAN_BATCH:
                    break
                if scanned >= FILTER_SCAN_MAX and pos is not None:
                    next_token = _encode(list(pos))
                    break
        return FilterPage(found, sorted(streams.values()), next_token)
