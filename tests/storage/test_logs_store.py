"""LogStore on a real SQLite file: groups, streams, appends and paging in both directions."""

from __future__ import annotations

import pytest

from openmaker.storage import logs_schema  # noqa: F401  (registers the tables)
from openmaker.storage.db import Base, Database
from openmaker.storage.log_filter import FilterPatternError, compile_pattern
from openmaker.storage.logs import (
    InvalidToken,
    LogGroupExists,
    LogGroupNotFound,
    LogStore,
    LogStreamExists,
    LogStreamNotFound,
)

G = "/aws/sagemaker/TrainingJobs"


@pytest.fixture
def store(tmp_path) -> LogStore:
    db = Database(f"sqlite:///{tmp_path / 'logs.db'}")
    Base.metadata.create_all(db.engine)
    yield LogStore(db, "us-east-1", "123456789012")
    db.dispose()


def test_groups(store: LogStore) -> None:
    info = store.create_group(G)
    assert info.arn == f"arn:aws:logs:us-east-1:123456789012:log-group:{G}:*"
    with pytest.raises(LogGroupExists):
        store.create_group(G)
    assert store.create_group(G, exist_ok=True).name == G
    for i in range(3):
        store.create_group(f"/other/{i}")
    groups, token = store.describe_groups(limit=2)
    assert [g.name for g in groups] == ["/aws/sagemaker/TrainingJobs", "/other/0"] and token
    groups, token = store.describe_groups(limit=2, token=token)
    assert [g.name for g in groups] == ["/other/1", "/other/2"] and token is None
    assert [g.name for g in store.describe_groups(prefix="/aws")[0]] == [G]
    assert [g.name for g in store.describe_groups(pattern="SAGEMAKER")[0]] == [G]
    assert store.for_region("eu-west-1").describe_groups()[0] == []
    store.put_retention(G, 7)
    assert store.get_group(G).retention_days == 7
    store.delete_group("/other/0")
    with pytest.raises(LogGroupNotFound):
        store.get_group("/other/0")


def test_streams_sdk_pattern_terminates(store: LogStore) -> None:
    store.create_group(G)
    for name in ["job-a/algo-1-1", "job-a/algo-2-1", "job-ab/algo-1-1", "job-b/algo-1-1"]:
        store.create_stream(G, name)
    with pytest.raises(LogStreamExists):
        store.create_stream(G, "job-a/algo-1-1")
    # The SDK: prefix "<job>/", orderBy LogStreamName, limit = instance count; it must get no token.
    streams, token = store.describe_streams(G, prefix="job-a/", limit=2)
    assert [s.name for s in streams] == ["job-a/algo-1-1", "job-a/algo-2-1"] and token is None
    streams, token = store.describe_streams(G, limit=3)
    assert token and len(streams) == 3
    rest, token2 = store.describe_streams(G, limit=3, token=token)
    assert [s.name for s in rest] == ["job-b/algo-1-1"] and token2 is None
    streams, _ = store.describe_streams(G, descending=True)
    assert streams[0].name == "job-b/algo-1-1"
    store.append(G, "job-ab/algo-1-1", [(5000, "x")])
    store.append(G, "job-a/algo-1-1", [(4000, "x")])
    streams, _ = store.describe_streams(G, order_by="LastEventTime", descending=True, limit=1)
    assert streams[0].name == "job-ab/algo-1-1"
    _, tok = store.describe_streams(G, order_by="LastEventTime", descending=True, limit=1)
    nxt, _ = store.describe_streams(G, order_by="LastEventTime", descending=True, limit=1, token=tok)
    assert nxt[0].name == "job-a/algo-1-1"
    store.delete_stream(G, "job-b/algo-1-1")
    with pytest.raises(LogStreamNotFound):
        store.get_stream(G, "job-b/algo-1-1")


def test_append_creates_and_updates_stats(store: LogStore) -> None:
    with pytest.raises(LogGroupNotFound):
        store.append(G, "s", [(1, "a")], create=False)
    token1 = store.append(G, "s", [(1000, "a"), (2000, "bb")])
    token2 = store.append(G, "s", [(500, "ccc")])
    assert len(token1) == 56 and token2 > token1
    info = store.get_stream(G, "s")
    assert (info.first_event_timestamp, info.last_event_timestamp, info.stored_bytes) == (500, 2000, 6)
    assert store.get_group(G).stored_bytes == 6
    store.create_group("/empty")
    with pytest.raises(LogStreamNotFound):
        store.append("/empty", "s", [(1, "a")], create=False)


def test_get_events_paging_both_directions(store: LogStore) -> None:
    n = 10_000
    store.append(G, "s", [(1_000_000 + i, f"line {i}") for i in range(n)])

    # forward from the head
    seen: list[str] = []
    page = store.get_events(G, "s", start_from_head=True, limit=3000)
    while page.events:
        seen += [e.message for e in page.events]
        prev = page.forward_token
        page = store.get_events(G, "s", start_from_head=True, limit=3000, token=prev)
    assert seen == [f"line {i}" for i in range(n)]
    assert page.forward_token == prev  # an exhausted forward read answers the same token

    # backward from the tail
    seen = []
    page = store.get_events(G, "s", limit=3000)
    while page.events:
        seen = [e.message for e in page.events] + seen
        page = store.get_events(G, "s", limit=3000, token=page.backward_token)
    assert seen == [f"line {i}" for i in range(n)]

    # window: start inclusive, end exclusive
    page = store.get_events(G, "s", start_time=1_000_010, end_time=1_000_020, start_from_head=True)
    assert [e.timestamp for e in page.events] == list(range(1_000_010, 1_000_020))
    # polling a growing stream with the forward token
    tail = store.get_events(G, "s", start_from_head=True, start_time=1_000_000 + n - 1)
    assert len(tail.events) == 1
    store.append(G, "s", [(1_000_000 + n, "new")])
    more = store.get_events(G, "s", start_from_head=True, token=tail.forward_token)
    assert [e.message for e in more.events] == ["new"]
    with pytest.raises(InvalidToken):
        store.get_events(G, "s", token="garbage")


def test_empty_stream_tokens_poll_forward(store: LogStore) -> None:
    store.append(G, "s", [])
    page = store.get_events(G, "s")
    assert page.events == [] and page.forward_token and page.backward_token
    store.append(G, "s", [(10, "a")])
    assert [e.message for e in store.get_events(G, "s", token=page.forward_token).events] == ["a"]


def test_filter_events(store: LogStore) -> None:
    store.append(
        G, "job/a", [(t, f"a {t} {'ERROR disk full' if t % 3 == 0 else 'ok'}") for t in range(0, 30)]
    )
    store.append(G, "job/b", [(t, f"b {t} ok") for t in range(0, 30)])
    store.append(G, "zzz", [(t, "ERROR elsewhere") for t in range(0, 30)])
    page = store.filter_events(G, stream_prefix="job/", pattern='"disk full"')
    assert len(page.events) == 10 and page.next_token is None
    assert page.searched_streams == ["job/a", "job/b"]
    assert all(e.stream_name == "job/a" for e in page.events)
    everything = []
    page = store.filter_events(G, stream_names=["job/a", "job/b"], limit=7)
    while True:
        everything += page.events
        if not page.next_token:
            break
        page = store.filter_events(G, stream_names=["job/a", "job/b"], limit=7, token=page.next_token)
    assert len(everything) == 60
    assert [e.timestamp for e in everything] == sorted(e.timestamp for e in everything)
    assert len({e.event_id for e in everything}) == 60
    page = store.filter_events(G, start_time=10, end_time=12, pattern="ERROR")
    assert {(e.stream_name, e.timestamp) for e in page.events} == {("zzz", 10), ("zzz", 11)}


def test_patterns() -> None:
    assert compile_pattern("")("x")
    assert compile_pattern("ERROR disk")("ERROR: the disk")
    assert not compile_pattern("ERROR disk")("ERROR")
    assert compile_pattern('"disk full"')("the disk full now")
    assert not compile_pattern('"disk full"')("full disk")
    assert compile_pattern("?ERROR ?WARN")("WARN x")
    assert not compile_pattern("ERROR -ignore")("ERROR ignore me")
    assert not compile_pattern("error")("ERROR")  # case-sensitive as in CloudWatch
    with pytest.raises(FilterPatternError):
        compile_pattern("{ $.level = 1 }")
