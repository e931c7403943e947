"""Notifications about running jobs for whoever waits on them inside the server (the tuner).

A job's metric points and its end are announced here the moment the engine knows them (a metric as
its log line is read, the end once the final status is recorded), so a waiter reacts to events
instead of polling the database. Announcing is cheap when nobody watches the job: a dict lookup.
Listeners are called on the engine's threads and must only hand the event over (queue it), never
block or call back into the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("openmaker.engine")


@dataclass(frozen=True)
class MetricEvent:
    kind: str
    name: str
    metric: str
    value: float


@dataclass(frozen=True)
class EndEvent:
    kind: str
    name: str


Event = MetricEvent | EndEvent
Listener = Callable[[Event], None]


class JobEvents:
    """Watchers per job: ``watch`` before the job can run so no event is missed."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], Listener] = {}
        self._lock = threading.Lock()

    def watch(self, kind: str, name: str, listener: Listener) -> None:
        with self._lock:
            self._listeners[(kind, name)] = listener

    def unwatch(self, kind: str, name: str) -> None:
        with self._lock:
            self._listeners.pop((kind, name), None)

    def metric(self, kind: str, name: str, metric: str, value: float) -> None:
        self._tell((kind, name), MetricEvent(kind, name, metric, value))

    def ended(self, kind: str, name: str) -> None:
        self._tell((kind, name), EndEvent(kind, name))

    def _tell(self, key: tuple[str, str], event: Event) -> None:
        with self._lock:
            listener = self._listeners.get(key)
        if listener is None:
            return
        try:
            listener(event)
        except Exception:  # a listener's bug must not break the job that announced
            log.exception("job event listener failed for %s %s", *key)
