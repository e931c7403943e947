"""IamStore on a real SQLite file: entities, errors, keys, sessions and the lookup cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openmaker.storage import iam_schema  # noqa: F401  (registers the tables)
from openmaker.storage.db import Base, Database
from openmaker.storage.iam import (
    DeleteConflict,
    EntityAlreadyExists,
    IamStore,
    LimitExceeded,
    NoSuchEntity,
)

ACCOUNT = "123456789012"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}'


@pytest.fixture
def store(tmp_path) -> IamStore:
    db = Database(f"sqlite:///{tmp_path / 'iam.db'}")
    Base.metadata.create_all(db.engine)
    s = IamStore(db, ACCOUNT)
    s.ensure_defaults("AKIAROOTROOTROOTROOT", "r" * 40)
    yield s
    db.dispose()


def test_defaults_idempotent(store: IamStore) -> None:
    store.ensure_defaults("AKIAROOTROOTROOTROOT", "s" * 40)
    role = store.get_role("SageMakerRole")
    assert role.arn == f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
    assert role.role_id.startswith("AROA") and len(role.role_id) == 21
    assert store.list_attached_role_policies("SageMakerRole").items == [
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    ]
    cred = store.lookup_access_key("AKIAROOTROOTROOTROOT")
    assert cred is not None and cred.secret_access_key == "s" * 40
    assert cred.principal_arn == f"arn:aws:iam::{ACCOUNT}:root" and cred.user_id == ACCOUNT
    assert len(store.list_roles().items) == 1


def test_roles(store: IamStore) -> None:
    role = store.create_role("Worker", POLICY, path="/svc/", description="d", max_session_duration=7200)
    assert role.arn == f"arn:aws:iam::{ACCOUNT}:role/svc/Worker"
    assert store.get_role("worker").assume_role_policy == POLICY  # case-insensitive names, verbatim doc
    with pytest.raises(EntityAlreadyExists, match=r"Role with name WORKER already exists\."):
        store.create_role("WORKER", POLICY)
    with pytest.raises(NoSuchEntity, match=r"The role with name Nope cannot be found\."):
        store.get_role("Nope")
    assert [r.name for r in store.list_roles(path_prefix="/svc/").items] == ["Worker"]
    assert store.find_role_by_arn(role.arn) == role
    assert store.find_role_by_arn(f"arn:aws:iam::{ACCOUNT}:role/Worker") is None

    store.attach_role_policy("Worker", "arn:aws:iam::aws:policy/service-role/X")
    store.attach_role_policy("Worker", "arn:aws:iam::aws:policy/Y")
    assert store.list_attached_role_policies("Worker", path_prefix="/service-role/").items == [
        "arn:aws:iam::aws:policy/service-role/X"
    ]
    store.put_role_policy("Worker", "inline", '{"Statement": []}')
    assert store.get_role_policy("Worker", "inline") == ("Worker", "inline", '{"Statement": []}')
    assert store.list_role_policies("Worker").items == ["inline"]
    with pytest.raises(DeleteConflict):
        store.delete_role("Worker")
    store.detach_role_policy("Worker", "arn:aws:iam::aws:policy/service-role/X")
    store.detach_role_policy("Worker", "arn:aws:iam::aws:policy/Y")
    with pytest.raises(NoSuchEntity):
        store.detach_role_policy("Worker", "arn:aws:iam::aws:policy/Y")
    with pytest.raises(DeleteConflict):
        store.delete_role("Worker")
    store.delete_role_policy("Worker", "inline")
    store.delete_role("Worker")
    with pytest.raises(NoSuchEntity):
        store.get_role("Worker")


def test_role_paging(store: IamStore) -> None:
    for i in range(5):
        store.create_role(f"r{i}", POLICY)
    seen, marker = [], None
    while True:
        page = store.list_roles(marker=marker, max_items=2)
        seen += [r.name for r in page.items]
        if not page.is_truncated:
            break
        marker = page.marker
    assert seen == ["r0", "r1", "r2", "r3", "r4", "SageMakerRole"]


def test_users_and_keys(store: IamStore) -> None:
    user = store.create_user("alice")
    assert user.user_id.startswith("AIDA") and user.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    k1 = store.create_access_key("alice")
    k2 = store.create_access_key("alice")
    assert k1.access_key_id.startswith("AKIA") and len(k1.access_key_id) == 20
    assert len(k1.secret_access_key or "") == 40
    with pytest.raises(LimitExceeded, match="AccessKeysPerUser: 2"):
        store.create_access_key("alice")
    assert {k.access_key_id for k in store.list_access_keys("alice").items} == {
        k1.access_key_id,
        k2.access_key_id,
    }
    cred = store.lookup_access_key(k1.access_key_id)
    assert cred is not None and cred.user_id == user.user_id and cred.principal_arn == user.arn
    assert store.user_name_of_key(k1.access_key_id) == "alice"

    store.update_access_key("alice", k1.access_key_id, "Inactive")
    assert store.lookup_access_key(k1.access_key_id) is None
    store.update_access_key("alice", k1.access_key_id, "Active")
    assert store.lookup_access_key(k1.access_key_id) is not None
    store.delete_access_key("alice", k1.access_key_id)
    assert store.lookup_access_key(k1.access_key_id) is None  # cache dropped on delete
    with pytest.raises(NoSuchEntity):
        store.delete_access_key("alice", k1.access_key_id)
    with pytest.raises(DeleteConflict):
        store.delete_user("alice")
    store.delete_access_key("alice", k2.access_key_id)
    store.delete_user("alice")
    with pytest.raises(NoSuchEntity, match=r"The user with name alice cannot be found\."):
        store.get_user("alice")


def test_assume_role(store: IamStore) -> None:
    role = store.get_role("SageMakerRole")
    session = store.assume_role(role, "job-1", 900)
    cred = session.credential
    assert cred.access_key_id.startswith("ASIA") and len(cred.access_key_id) == 20
    assert session.assumed_role_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/SageMakerRole/job-1"
    assert session.assumed_role_id == f"{role.role_id}:job-1"
    looked = store.lookup_access_key(cred.access_key_id)
    assert looked == cred and looked.session_token and not looked.expired()
    assert looked.expired(datetime.now(UTC) + timedelta(seconds=901))
    assert store.purge_expired_sessions(datetime.now(UTC) + timedelta(seconds=901)) == 1
    assert store.lookup_access_key(cred.access_key_id) is None
