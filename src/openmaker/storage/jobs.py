"""Durable records of SageMaker jobs: what was asked for, where each one is, what it produced.

Every transition is committed here before anyone is told about it, so after a restart the server
finds each job in a true state. Readers (Describe/List) and the engine (the only writer of running
state) meet here, never in memory.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select

from openmaker.storage.db import Database
from openmaker.storage.jobs_schema import JobRow, TagRow

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
ACTIVE = frozenset({"InProgress", "Stopping"})


class JobExists(Exception):
    pass


class JobNotFound(Exception):
    pass


def now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class JobRecord:
    kind: str
    name: str
    arn: str
    account_id: str
    region: str
    status: str
    secondary_status: str | None
    failure_reason: str | None
    spec: dict[str, Any]
    state: dict[str, Any]
    parent: str | None
    stop_requested: bool
    creation_time: datetime
    last_modified_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    tags: list[dict[str, str]] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def of(cls, row: JobRow) -> JobRecord:
        return cls(
            kind=row.kind,
            name=row.name,
            arn=row.arn,
            account_id=row.account_id,
            region=row.region,
            status=row.status,
            secondary_status=row.secondary_status,
            failure_reason=row.failure_reason,
            spec=copy.deepcopy(row.spec),
            state=copy.deepcopy(row.state or {}),
            parent=row.parent,
            stop_requested=row.stop_requested,
            creation_time=_utc(row.creation_time),
            last_modified_time=_utc(row.last_modified_time),
            start_time=_utc(row.start_time),
            end_time=_utc(row.end_time),
        )


class JobStore:
    """Create, read, list and advance job records; tag any ARN."""

    def __init__(self, db: Database, account_id: str, region: str) -> None:
        self.db = db
        self.account_id = account_id
        self.region = region

    # --- create and read -------------------------------------------------------------------------

    def create(
        self,
        kind: str,
        name: str,
        arn: str,
        spec: dict[str, Any],
        *,
        status: str = "InProgress",
        secondary_status: str | None = "Starting",
        message: str | None = None,
        parent: str | None = None,
        tags: Iterable[dict[str, str]] = (),
    ) -> JobRecord:
        moment = now()
        state: dict[str, Any] = {}
        if secondary_status:
            state["SecondaryStatusTransitions"] = [_transition(secondary_status, message, moment)]
        with self.db.session() as session:
            exists = session.scalar(select(JobRow.id).where(self._key(kind, name)))
            if exists is not None:
                raise JobExists(name)
            row = JobRow(
                kind=kind,
                name=name,
                account_id=self.account_id,
                region=self.region,
                arn=arn,
                status=status,
                secondary_status=secondary_status,
                spec=spec,
                state=state,
                parent=parent,
                stop_requested=False,
                creation_time=moment,
                last_modified_time=moment,
            )
            session.add(row)
            for tag in tags:
                session.merge(TagRow(arn=arn, key=tag["Key"], value=tag.get("Value", "")))
            session.flush()
            return JobRecord.of(row)

    def get(self, kind: str, name: str) -> JobRecord | None:
        with self.db.session() as session:
            row = session.scalar(select(JobRow).where(self._key(kind, name)))
            return JobRecord.of(row) if row else None

    def require(self, kind: str, name: str) -> JobRecord:
        record = self.get(kind, name)
        if record is None:
            raise JobNotFound(name)
        return record

    def list(
        self,
        kind: str,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        modified_after: datetime | None = None,
        modified_before: datetime | None = None,
        parent: str | None = None,
        sort_by: str = "CreationTime",
        descending: bool = True,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[JobRecord]:
        """Records of one kind; ``sort_by`` is CreationTime, Name or Status."""
        conditions = [JobRow.kind == kind, JobRow.account_id == self.account_id, JobRow.region == self.region]
        if status:
            conditions.append(JobRow.status == status)
        if name_contains:
            conditions.append(func.lower(JobRow.name).contains(name_contains.lower(), autoescape=True))
        if created_after:
            conditions.append(JobRow.creation_time > created_after)
        if created_before:
            conditions.append(JobRow.creation_time < created_before)
        if modified_after:
            conditions.append(JobRow.last_modified_time > modified_after)
        if modified_before:
            conditions.append(JobRow.last_modified_time < modified_before)
        if parent is not None:
            conditions.append(JobRow.parent == parent)
        column = {"Name": JobRow.name, "Status": JobRow.status}.get(sort_by, JobRow.creation_time)
        order = (column.desc(), JobRow.id.desc()) if descending else (column.asc(), JobRow.id.asc())
        query = select(JobRow).where(and_(*conditions)).order_by(*order).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.db.session() as session:
            return [JobRecord.of(row) for row in session.scalars(query)]

    def active(self, kind: str | None = None) -> list[JobRecord]:
        """Jobs that are neither finished nor failed: what the engine must run or recover."""
        query = select(JobRow).where(JobRow.status.in_(ACTIVE)).order_by(JobRow.id)
        if kind:
            query = query.where(JobRow.kind == kind)
        with self.db.session() as session:
            return [JobRecord.of(row) for row in session.scalars(query)]

    # --- advance ---------------------------------------------------------------------------------

    def update(
        self,
        kind: str,
        name: str,
        *,
        status: str | None = None,
        secondary_status: str | None = None,
        message: str | None = None,
        failure_reason: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        state: dict[str, Any] | None = None,
        only_if_active: bool = False,
    ) -> JobRecord:
        """Apply one transition atomically. A new ``secondary_status`` closes the previous
        SecondaryStatusTransition and opens one; ``state`` keys are merged (replaced per key).
        ``only_if_active`` makes the update a no-op on a job that already ended (races with Stop)."""
        moment = now()
        with self.db.session() as session:
            row = session.scalar(select(JobRow).where(self._key(kind, name)).with_for_update())
            if row is None:
                raise JobNotFound(name)
            if only_if_active and row.status in TERMINAL:
                return JobRecord.of(row)
            new_state = copy.deepcopy(row.state or {})
            if state:
                new_state.update(state)
            if secondary_status and (secondary_status != row.secondary_status or message):
                transitions = new_state.setdefault("SecondaryStatusTransitions", [])
                if transitions and "EndTime" not in transitions[-1]:
                    transitions[-1]["EndTime"] = moment.isoformat()
                transitions.append(_transition(secondary_status, message, moment))
                if status in TERMINAL:
                    transitions[-1]["EndTime"] = moment.isoformat()
                row.secondary_status = secondary_status
            if status:
                row.status = status
            if failure_reason is not None:
                row.failure_reason = failure_reason
            if start_time is not None:
                row.start_time = start_time
            if end_time is not None:
                row.end_time = end_time
            row.state = new_state
            row.last_modified_time = moment
            session.flush()
            return JobRecord.of(row)

    def request_stop(self, kind: str, name: str) -> JobRecord:
        """Mark a running job Stopping (the engine does the stopping)."""
        with self.db.session() as session:
            row = session.scalar(select(JobRow).where(self._key(kind, name)).with_for_update())
            if row is None:
                raise JobNotFound(name)
            if row.status in ACTIVE:
                row.status = "Stopping"
                row.stop_requested = True
                row.last_modified_time = now()
            session.flush()
            return JobRecord.of(row)

    def delete(self, kind: str, name: str) -> JobRecord:
        """Forget a record (models, endpoint configs, deleted endpoints) and its tags."""
        with self.db.session() as session:
            row = session.scalar(select(JobRow).where(self._key(kind, name)))
            if row is None:
                raise JobNotFound(name)
            record = JobRecord.of(row)
            session.execute(delete(TagRow).where(TagRow.arn == row.arn))
            session.delete(row)
            return record

    # --- tags ------------------------------------------------------------------------------------

    def add_tags(self, arn: str, tags: Iterable[dict[str, str]]) -> None:
        with self.db.session() as session:
            for tag in tags:
                session.merge(TagRow(arn=arn, key=tag["Key"], value=tag.get("Value", "")))

    def list_tags(self, arn: str) -> list[dict[str, str]]:
        with self.db.session() as session:
            rows = session.scalars(select(TagRow).where(TagRow.arn == arn).order_by(TagRow.key))
            return [{"Key": row.key, "Value": row.value} for row in rows]

    def delete_tags(self, arn: str, keys: Iterable[str]) -> None:
        with self.db.session() as session:
            session.execute(delete(TagRow).where(TagRow.arn == arn, TagRow.key.in_(list(keys))))

    def _key(self, kind: str, name: str):
        return and_(
            JobRow.kind == kind,
            JobRow.name == name,
            JobRow.account_id == self.account_id,
            JobRow.region == self.region,
        )


def _transition(status: str, message: str | None, moment: datetime) -> dict[str, Any]:
    entry: dict[str, Any] = {"Status": status, "StartTime": moment.isoformat()}
    if message:
        entry["StatusMessage"] = message
    return entry
