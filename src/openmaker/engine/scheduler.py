"""Admission by capacity: a job runs when its instances fit in the free slots; the rest wait in
submission order (first in, first out, so a big job is not starved by small ones).

A job's demand is ``instance count * slot_size``, capped at the total so an oversized job still
runs alone. No thread polls: admission is re-checked exactly when a job is submitted or ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Ticket:
    key: tuple[str, str]
    demand: int
    start: Callable[[], None]  # called once admitted (must not block)
    on_wait: Callable[[int, int], None] | None = None  # (slots in use, total) when it must wait
    waited: bool = field(default=False)


class Scheduler:
    def __init__(self, slots: int) -> None:
        self.total = max(1, slots)
        self.used = 0
        self.queue: list[Ticket] = []
        self.running: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def submit(self, ticket: Ticket) -> None:
        ticket.demand = min(max(1, ticket.demand), self.total)
        with self._lock:
            if ticket.key in self.running or any(t.key == ticket.key for t in self.queue):
                return
            self.queue.append(ticket)
        self._admit()

    def cancel(self, key: tuple[str, str]) -> bool:
        """Drop a waiting job; True if it was waiting (so it never started)."""
        with self._lock:
            for ticket in self.queue:
                if ticket.key == key:
                    self.queue.remove(ticket)
                    return True
        return False

    def release(self, key: tuple[str, str]) -> None:
        with self._lock:
            self.used -= self.running.pop(key, 0)
        self._admit()

    def _admit(self) -> None:
        started: list[Ticket] = []
        with self._lock:
            while self.queue and self.used + self.queue[0].demand <= self.total:
                ticket = self.queue.pop(0)
                self.used += ticket.demand
                self.running[ticket.key] = ticket.demand
                started.append(ticket)
            for ticket in self.queue:  # announced under the lock: it cannot race its own start
                if not ticket.waited:
                    ticket.waited = True
                    if ticket.on_wait is not None:
                        ticket.on_wait(self.used, self.total)
        for ticket in started:
            ticket.start()
