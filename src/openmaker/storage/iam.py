"""IAM and STS persistence: users, roles, role policies, access keys and AssumeRole sessions.

The server calls :meth:`IamStore.lookup_access_key` on every signed request, so answers are kept in
an in-process cache; every write that can change an answer (delete, status change) drops the entry,
and entries also age out after :data:`CACHE_TTL` seconds so a second process sharing a PostgreSQL
database sees deletions soon.

The store raises the small exceptions below; ``services/iam.py`` turns them into IAM's error codes
and messages. Policy documents are stored exactly as the client sent them.
"""

from __future__ import annotations

import base64
import secrets
import string
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openmaker.storage.db import Database
from openmaker.storage.iam_schema import (
    IamAccessKey,
    IamRole,
    IamRoleInlinePolicy,
    IamRolePolicyAttachment,
    IamUser,
)

CACHE_TTL = 30.0
MAX_ACCESS_KEYS_PER_USER = 2
DEFAULT_ROLE_NAME = "SageMakerRole"
SAGEMAKER_TRUST_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)
SAGEMAKER_FULL_ACCESS = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"

_ID_ALPHABET = string.ascii_uppercase + "234567"  # AWS unique ids and key ids use base32 letters
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

T = TypeVar("T")


# --- errors -------------------------------------------------------------------------------------


class IamStoreError(Exception):
    """Base of the store's errors; ``message`` is IAM's own wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoSuchEntity(IamStoreError):
    pass


class EntityAlreadyExists(IamStoreError):
    pass


class DeleteConflict(IamStoreError):
    pass


class LimitExceeded(IamStoreError):
    pass


# --- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    path: str
    arn: str
    create_date: datetime


@dataclass(frozen=True)
class Role:
    role_id: str
    name: str
    path: str
    arn: str
    assume_role_policy: str
    description: str | None
    max_session_duration: int
    create_date: datetime


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    user_name: str
    status: str
    create_date: datetime
    secret_access_key: str | None = None  # only when the key was just created


@dataclass(frozen=True)
class Credential:
    """What the server needs to verify a signature and name the caller.

    ``user_id`` is GetCallerIdentity's UserId: the account id for the root, ``AIDA...`` for a user,
    ``AROA...:<session>`` for an assumed role.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime | None
    principal_arn: str
    user_id: str
    account_id: str
    kind: str  # "root" | "user" | "session"

    @property
    def arn(self) -> str:
        return self.principal_arn

    def expired(self, now: datetime | None = None) -> bool:
        return self.expiration is not None and self.expiration <= (now or datetime.now(UTC))


@dataclass(frozen=True)
class AssumedSession:
    """The answer to AssumeRole."""

    credential: Credential
    assumed_role_id: str
    assumed_role_arn: str


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``marker`` is set when more items remain."""

    items: list[T]
    marker: str | None

    @property
    def is_truncated(self) -> bool:
        return self.marker is not None


# --- helpers ------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite forgets the zone of a stored datetime; every stored datetime is UTC."""
    if value is None:
        return None
    if value.tzinfo is not None:  # PostgreSQL answers in the session's zone
        return value.astimezone(UTC)
    return value.replace(tzinfo=UTC)


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def new_unique_id(prefix: str) -> str:
    """An IAM unique id: a four-letter prefix (AIDA, AROA...) and 17 base32 characters."""
    return prefix + _random(_ID_ALPHABET, 17)


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + _random(_ID_ALPHABET, 16)


def new_secret() -> str:
    return _random(_SECRET_ALPHABET, 40)


def new_session_token() -> str:
    return base64.b64encode(secrets.token_bytes(240)).decode()


def _user(row: IamUser) -> User:
    return User(row.user_id, row.name, row.path, row.arn, _utc(row.create_date))  # type: ignore[arg-type]


def _role(row: IamRole) -> Role:
    return Role(
        row.role_id,
        row.name,
        row.path,
        row.arn,
        row.assume_role_policy,
        row.description,
        row.max_session_duration,
        _utc(row.create_date),  # type: ignore[arg-type]
    )


def _credential(row: IamAccessKey) -> Credential:
    return Credential(
        row.access_key_id,
        row.secret_access_key,
        row.session_token,
        _utc(row.expiration),
        row.principal_arn,
        row.principal_id,
        row.account_id,
        row.kind,
    )


def _page(items: Sequence[T], max_items: int, key) -> Page[T]:
    """Cut ``items`` (fetched with one extra) to ``max_items``; the marker is the next item's key."""
    if len(items) > max_items:
        return Page(list(items[:max_items]), key(items[max_items]))
    return Page(list(items), None)


# --- the store ----------------------------------------------------------------------------------


class IamStore:
    """IAM entities of one account, and the access-key lookup the server signs requests with."""

    def __init__(self, db: Database, account_id: str) -> None:
        self.db = db
        self.account_id = account_id
        self._cache: dict[str, tuple[float, Credential]] = {}
        self._lock = threading.Lock()

    # --- defaults --------------------------------------------------------------------------------

    def ensure_defaults(
        self, root_access_key_id: str | None = None, root_secret_access_key: str | None = None
    ) -> None:
        """Create the ``SageMakerRole`` role and, when given, record the root key pair. Idempotent.

        The root pair lives in ``credentials.json``; recording it here lets :meth:`lookup_access_key`
        answer for it too (the server may also answer for it itself).
        """
        with self.db.session() as s:
            if root_access_key_id and root_secret_access_key:
                row = s.get(IamAccessKey, root_access_key_id)
                if row is None:
                    s.add(
                        IamAccessKey(
                            access_key_id=root_access_key_id,
                            secret_access_key=root_secret_access_key,
                            account_id=self.account_id,
                            kind="root",
                            status="Active",
                            principal_arn=self.root_arn,
                            principal_id=self.account_id,
                            create_date=_now(),
                        )
                    )
                elif row.secret_access_key != root_secret_access_key or row.status != "Active":
                    row.secret_access_key = root_secret_access_key
                    row.status = "Active"
            if self._find_role(s, DEFAULT_ROLE_NAME) is None:
                role = self._insert_role(
                    s,
                    DEFAULT_ROLE_NAME,
                    SAGEMAKER_TRUST_POLICY,
                    "/",
                    "The execution role SageMaker jobs and endpoints run as.",
                    3600,
                )
                s.add(
                    IamRolePolicyAttachment(
                        role_id=role.role_id, policy_arn=SAGEMAKER_FULL_ACCESS, attached_at=_now()
                    )
                )
        if root_access_key_id:
            self._forget(root_access_key_id)

    def account_created(self) -> datetime:
        """When this account's IAM data began: the oldest role's creation (the default role's)."""
        with self.db.session() as s:
            first = s.scalar(
                select(func.min(IamRole.create_date)).where(IamRole.account_id == self.account_id)
            )
        return _utc(first) or _now()  # type: ignore[return-value]

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"

    # --- users -----------------------------------------------------------------------------------

    def _find_user(self, s: Session, name: str) -> IamUser | None:
        return s.scalar(
            select(IamUser).where(IamUser.account_id == self.account_id, IamUser.name_key == name.lower())
        )

    def _require_user(self, s: Session, name: str) -> IamUser:
        row = self._find_user(s, name)
        if row is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return row

    def create_user(self, name: str, path: str = "/") -> User:
        with self.db.session() as s:
            if self._find_user(s, name) is not None:
                raise EntityAlreadyExists(f"User with name {name} already exists.")
            row = IamUser(
                user_id=new_unique_id("AIDA"),
                account_id=self.account_id,
                name=name,
                name_key=name.lower(),
                path=path,
                arn=f"arn:aws:iam::{self.account_id}:user{path}{name}",
                create_date=_now(),
            )
            s.add(row)
            return _user(row)

    def get_user(self, name: str) -> User:
        with self.db.session() as s:
            return _user(self._require_user(s, name))

    def get_user_by_id(self, user_id: str) -> User | None:
        with self.db.session() as s:
            row = s.get(IamUser, user_id)
            return _user(row) if row is not None else None

    def list_users(
        self, path_prefix: str = "/", marker: str | None = None, max_items: int = 100
    ) -> Page[User]:
        with self.db.session() as s:
            q = select(IamUser).where(
                IamUser.account_id == self.account_id, IamUser.path.startswith(path_prefix, autoescape=True)
            )
            if marker:
                q = q.where(IamUser.name_key >= marker)
            rows = s.scalars(q.order_by(IamUser.name_key).limit(max_items + 1)).all()
            return _page([_user(r) for r in rows], max_items, lambda u: u.name.lower())

    def delete_user(self, name: str) -> None:
        with self.db.session() as s:
            row = self._require_user(s, name)
            keys = s.scalar(
                select(func.count()).select_from(IamAccessKey).where(IamAccessKey.user_id == row.user_id)
            )
            if keys:
                raise DeleteConflict("Cannot delete entity, must delete access keys first.")
            s.delete(row)

    # --- roles -----------------------------------------------------------------------------------

    def _find_role(self, s: Session, name: str) -> IamRole | None:
        return s.scalar(
            select(IamRole).where(IamRole.account_id == self.account_id, IamRole.name_key == name.lower())
        )

    def _require_role(self, s: Session, name: str) -> IamRole:
        row = self._find_role(s, name)
        if row is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return row

    def _insert_role(
        self, s: Session, name: str, policy: str, path: str, description: str | None, max_session: int
    ) -> IamRole:
        row = IamRole(
            role_id=new_unique_id("AROA"),
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            arn=f"arn:aws:iam::{self.account_id}:role{path}{name}",
            assume_role_policy=policy,
            description=description,
            max_session_duration=max_session,
            create_date=_now(),
        )
        s.add(row)
        s.flush()
        return row

    def create_role(
        self,
        name: str,
        assume_role_policy: str,
        path: str = "/",
        description: str | None = None,
        max_session_duration: int = 3600,
    ) -> Role:
        with self.db.session() as s:
            if self._find_role(s, name) is not None:
                raise EntityAlreadyExists(f"Role with name {name} already exists.")
            return _role(
                self._insert_role(s, name, assume_role_policy, path, description, max_session_duration)
            )

    def get_role(self, name: str) -> Role:
        with self.db.session() as s:
            return _role(self._require_role(s, name))

    def update_role(self, name: str, description: str | None, max_session_duration: int | None) -> None:
        with self.db.session() as s:
            row = self._require_role(s, name)
            if description is not None:
                row.description = description
            if max_session_duration is not None:
                row.max_session_duration = max_session_duration

    def update_assume_role_policy(self, name: str, document: str) -> None:
        with self.db.session() as s:
            self._require_role(s, name).assume_role_policy = document

    def find_role_by_arn(self, arn: str) -> Role | None:
        """The role an ARN names (``arn:aws:iam::<acct>:role[/path]/<name>``), or None."""
        with self.db.session() as s:
            row = s.scalar(select(IamRole).where(IamRole.account_id == self.account_id, IamRole.arn == arn))
            if row is None:  # IAM matches role names without regard to case
                name = arn.rsplit("/", 1)[-1]
                row = self._find_role(s, name)
                if row is not None and row.arn.lower() != arn.lower():
                    row = None
            return _role(row) if row is not None else None

    def list_roles(
        self, path_prefix: str = "/", marker: str | None = None, max_items: int = 100
    ) -> Page[Role]:
        with self.db.session() as s:
            q = select(IamRole).where(
                IamRole.account_id == self.account_id, IamRole.path.startswith(path_prefix, autoescape=True)
            )
            if marker:
                q = q.where(IamRole.name_key >= marker)
            rows = s.scalars(q.order_by(IamRole.name_key).limit(max_items + 1)).all()
            return _page([_role(r) for r in rows], max_items, lambda r: r.name.lower())

    def delete_role(self, name: str) -> None:
        with self.db.session() as s:
            row = self._require_role(s, name)
            attached = s.scalar(
                select(func.count())
                .select_from(IamRolePolicyAttachment)
                .where(IamRolePolicyAttachment.role_id == row.role_id)
            )
            if attached:
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            inline = s.scalar(
                select(func.count())
                .select_from(IamRoleInlinePolicy)
                .where(IamRoleInlinePolicy.role_id == row.role_id)
            )
            if inline:
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            sessions = s.scalars(
                select(IamAccessKey.access_key_id).where(IamAccessKey.role_id == row.role_id)
            ).all()
            s.execute(delete(IamAccessKey).where(IamAccessKey.role_id == row.role_id))
            s.delete(row)
        for key in sessions:
            self._forget(key)

    # --- managed policy attachments --------------------------------------------------------------

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            if s.get(IamRolePolicyAttachment, (role.role_id, policy_arn)) is None:
                s.add(
                    IamRolePolicyAttachment(role_id=role.role_id, policy_arn=policy_arn, attached_at=_now())
                )

    def detach_role_policy(self, role_name: str, policy_arn: str) -> None:
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            row = s.get(IamRolePolicyAttachment, (role.role_id, policy_arn))
            if row is None:
                raise NoSuchEntity(f"Policy {policy_arn} was not found.")
            s.delete(row)

    def list_attached_role_policies(
        self, role_name: str, path_prefix: str = "/", marker: str | None = None, max_items: int = 100
    ) -> Page[str]:
        """Attached policy ARNs, filtered by the policy path (the ARN part after ``policy``)."""
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            q = select(IamRolePolicyAttachment.policy_arn).where(
                IamRolePolicyAttachment.role_id == role.role_id
            )
            if marker:
                q = q.where(IamRolePolicyAttachment.policy_arn >= marker)
            arns = [
                a
                for a in s.scalars(q.order_by(IamRolePolicyAttachment.policy_arn))
                if _policy_path(a).startswith(path_prefix)
            ]
            return _page(arns[: max_items + 1], max_items, lambda a: a)

    # --- inline policies -------------------------------------------------------------------------

    def put_role_policy(self, role_name: str, policy_name: str, document: str) -> None:
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            row = s.get(IamRoleInlinePolicy, (role.role_id, policy_name))
            if row is None:
                s.add(IamRoleInlinePolicy(role_id=role.role_id, name=policy_name, document=document))
            else:
                row.document = document

    def get_role_policy(self, role_name: str, policy_name: str) -> tuple[str, str, str]:
        """(role name, policy name, document) — the names as stored."""
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            row = s.get(IamRoleInlinePolicy, (role.role_id, policy_name))
            if row is None:
                raise NoSuchEntity(f"The role policy with name {policy_name} cannot be found.")
            return role.name, row.name, row.document

    def list_role_policies(
        self, role_name: str, marker: str | None = None, max_items: int = 100
    ) -> Page[str]:
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            q = select(IamRoleInlinePolicy.name).where(IamRoleInlinePolicy.role_id == role.role_id)
            if marker:
                q = q.where(IamRoleInlinePolicy.name >= marker)
            names = s.scalars(q.order_by(IamRoleInlinePolicy.name).limit(max_items + 1)).all()
            return _page(names, max_items, lambda n: n)

    def delete_role_policy(self, role_name: str, policy_name: str) -> None:
        with self.db.session() as s:
            role = self._require_role(s, role_name)
            row = s.get(IamRoleInlinePolicy, (role.role_id, policy_name))
            if row is None:
                raise NoSuchEntity(f"The role policy with name {policy_name} cannot be found.")
            s.delete(row)

    # --- access keys -----------------------------------------------------------------------------

    def create_access_key(self, user_name: str) -> AccessKey:
        with self.db.session() as s:
            user = self._require_user(s, user_name)
            count = s.scalar(
                select(func.count()).select_from(IamAccessKey).where(IamAccessKey.user_id == user.user_id)
            )
            if (count or 0) >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}")
            row = IamAccessKey(
                access_key_id=new_access_key_id("AKIA"),
                secret_access_key=new_secret(),
                account_id=self.account_id,
                kind="user",
                status="Active",
                user_id=user.user_id,
                principal_arn=user.arn,
                principal_id=user.user_id,
                create_date=_now(),
            )
            s.add(row)
            return AccessKey(row.access_key_id, user.name, row.status, row.create_date, row.secret_access_key)

    def list_access_keys(
        self, user_name: str, marker: str | None = None, max_items: int = 100
    ) -> Page[AccessKey]:
        with self.db.session() as s:
            user = self._require_user(s, user_name)
            q = select(IamAccessKey).where(IamAccessKey.user_id == user.user_id)
            if marker:
                q = q.where(IamAccessKey.access_key_id >= marker)
            rows = s.scalars(q.order_by(IamAccessKey.access_key_id).limit(max_items + 1)).all()
            keys = [AccessKey(r.access_key_id, user.name, r.status, _utc(r.create_date)) for r in rows]  # type: ignore[arg-type]
            return _page(keys, max_items, lambda k: k.access_key_id)

    def _require_user_key(self, s: Session, user_name: str, access_key_id: str) -> IamAccessKey:
        user = self._require_user(s, user_name)
        row = s.get(IamAccessKey, access_key_id)
        if row is None or row.user_id != user.user_id:
            raise NoSuchEntity(f"The Access Key with id {access_key_id} cannot be found.")
        return row

    def delete_access_key(self, user_name: str, access_key_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._require_user_key(s, user_name, access_key_id))
        self._forget(access_key_id)

    def update_access_key(self, user_name: str, access_key_id: str, status: str) -> None:
        with self.db.session() as s:
            self._require_user_key(s, user_name, access_key_id).status = status
        self._forget(access_key_id)

    def user_name_of_key(self, access_key_id: str) -> str | None:
        """The user owning a key (how IAM defaults UserName to the caller), or None."""
        with self.db.session() as s:
            row = s.get(IamAccessKey, access_key_id)
            if row is None or row.user_id is None:
                return None
            user = s.get(IamUser, row.user_id)
            return user.name if user is not None else None

    # --- STS sessions ----------------------------------------------------------------------------

    def assume_role(self, role: Role, session_name: str, duration_seconds: int = 3600) -> AssumedSession:
        """Mint temporary credentials that sign later requests as the assumed role."""
        assumed_id = f"{role.role_id}:{session_name}"
        assumed_arn = f"arn:aws:sts::{self.account_id}:assumed-role/{role.name}/{session_name}"
        now = _now()
        row = IamAccessKey(
            access_key_id=new_access_key_id("ASIA"),
            secret_access_key=new_secret(),
            account_id=self.account_id,
            kind="session",
            status="Active",
            role_id=role.role_id,
            principal_arn=assumed_arn,
            principal_id=assumed_id,
            session_token=new_session_token(),
            expiration=now + timedelta(seconds=duration_seconds),
            create_date=now,
        )
        with self.db.session() as s:
            s.add(row)
        return AssumedSession(_credential(row), assumed_id, assumed_arn)

    def purge_expired_sessions(self, now: datetime | None = None) -> int:
        """Delete session keys that expired; returns how many."""
        cutoff = now or datetime.now(UTC)
        with self.db.session() as s:
            keys = s.scalars(
                select(IamAccessKey.access_key_id).where(
                    IamAccessKey.kind == "session", IamAccessKey.expiration <= cutoff
                )
            ).all()
            if keys:
                s.execute(delete(IamAccessKey).where(IamAccessKey.access_key_id.in_(keys)))
        for key in keys:
            self._forget(key)
        return len(keys)

    # --- the per-request lookup ------------------------------------------------------------------

    def lookup_access_key(self, access_key_id: str) -> Credential | None:
        """The credential of an active key, or None when it is unknown or Inactive.

        Expired session credentials are returned (check :meth:`Credential.expired`) so the server can
        answer ``ExpiredToken`` rather than ``InvalidClientTokenId``.
        """
        now = time.monotonic()
        hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.db.session() as s:
            row = s.get(IamAccessKey, access_key_id)
            cred = _credential(row) if row is not None and row.status == "Active" else None
        if cred is not None:
            with self._lock:
                self._cache[access_key_id] = (now + CACHE_TTL, cred)
        return cred

    def _forget(self, access_key_id: str) -> None:
        with self._lock:
            self._cache.pop(access_key_id, None)


def _policy_path(arn: str) -> str:
    """``/service-role/`` of ``arn:aws:iam::aws:policy/service-role/X`` (``/`` when none)."""
    resource = arn.split(":", 5)[-1]  # policy/service-role/X
    parts = resource.split("/")
    return "/" + "/".join(parts[1:-1]) + ("/" if len(parts) > 2 else "")
