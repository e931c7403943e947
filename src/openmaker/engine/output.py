"""A job's output: lines → CloudWatch log events (batched) and MetricDefinitions → metric points.

Reader threads call :meth:`JobOutput.line` as lines arrive; one flusher thread writes a batch when
0.2 s passed since the first unwritten line (or 500 lines piled up), so ``fit(logs=True)`` sees
lines live while the database gets one transaction per batch, not per line. :meth:`close` writes
the rest. Metric regexes are applied on arrival; the last value of each is the final metric.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("openmaker.engine")

FLUSH_SECONDS = 0.2
MAX_BATCH = 500
TAIL_LINES = 20
METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"


def _searchable(regex: str) -> str:
    """The regex without a leading ``.*``: the same matches under ``search`` (lines have no newline),
    but without trying every start position: the service's built-in algorithm regexes
    (``.*\\[[0-9]+\\].*#011…``) cost 500 times less per line this way."""
    while regex.startswith(".*") and regex[2:3] not in ("?", "*", "+", "{"):
        regex = regex[2:]
    return regex


class MetricMatcher:
    """Compiled MetricDefinitions ([{"Name", "Regex"}]); the first group of a match is the value."""

    def __init__(self, definitions: list[dict[str, str]] | None) -> None:
        self.rules: list[tuple[str, re.Pattern[str]]] = []
        for item in definitions or []:
            try:
                self.rules.append((item["Name"], re.compile(_searchable(item["Regex"]))))
            except (KeyError, re.error) as exc:
                log.warning("ignoring metric definition %r: %s", item, exc)

    def match(self, line: str) -> list[tuple[str, float]]:
        found = []
        for name, pattern in self.rules:
            m = pattern.search(line)
            if m is None:
                continue
            text = m.group(1) if m.groups() else m.group(0)
            try:
                found.append((name, float(text)))
            except (TypeError, ValueError):
                continue
        return found


class JobOutput:
    """Collects every host's lines for one job; see the module docstring."""

    def __init__(
        self,
        logs: Any,
        metrics: Any,
        group: str,
        job_name: str,
        matcher: MetricMatcher | None = None,
        on_metric: Callable[[str, float], None] | None = None,
    ) -> None:
        """``on_metric(name, value)`` hears each metric point as its line is read (the tuner's
        early stopping listens there); it must only queue the point."""
        self.logs = logs
        self.metrics = metrics
        self.group = group
        self.job_name = job_name
        self.matcher = matcher or MetricMatcher(None)
        self.on_metric = on_metric
        self.final: dict[str, tuple[float, datetime]] = {}
        self.stderr_tail: dict[str, deque[str]] = {}
        self._queue: queue.Queue[tuple[str, int, str] | None] = queue.Queue()
        self._metric_points: list[tuple[str, datetime, float]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"output-{job_name}", daemon=True)
        self._thread.start()

    def stream_for(self, stream: str) -> Any:
        """A callback for one host's executor: ``on_line(text, is_stderr)``."""
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.stderr_tail[stream] = tail

        def on_line(text: str, is_stderr: bool) -> None:
            ts = int(time.time() * 1000)
            if is_stderr:
                tail.append(text)
            if self.matcher.rules:
                hits = self.matcher.match(text)
                if hits:
                    when = datetime.fromtimestamp(ts / 1000, UTC)
                    with self._lock:
                        for name, value in hits:
                            self.final[name] = (value, when)
                            self._metric_points.append((name, when, value))
                    if self.on_metric is not None:
                        for name, value in hits:
                            self.on_metric(name, value)
            self._queue.put((stream, ts, text))

        return on_line

    def note(self, stream: str, text: str) -> None:
        """A line from openmaker itself (e.g. why the job is being stopped) in the job's stream."""
        self._queue.put((stream, int(time.time() * 1000), text))

    def tail(self, limit: int = 10) -> str:
        lines: list[str] = []
        for tail in self.stderr_tail.values():
            lines.extend(tail)
        return "\n".join(lines[-limit:])

    def final_metrics(self) -> list[dict[str, Any]]:
        return [
            {"MetricName": name, "Value": value, "Timestamp": when.isoformat()}
            for name, (value, when) in sorted(self.final.items())
        ]

    def close(self) -> None:
        """Write everything still pending (returns when it is stored)."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: dict[str, list[tuple[int, str]]] = {}
        first: float | None = None
        count = 0
        done = False
        while not done:
            timeout = None if first is None else max(0.0, first + FLUSH_SECONDS - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ()  # the flush deadline passed
            if item is None:
                done = True
            elif item:
                stream, ts, text = item
                pending.setdefault(stream, []).append((ts, text))
                count += 1
                if first is None:
                    first = time.monotonic()
                if count < MAX_BATCH and time.monotonic() < first + FLUSH_SECONDS:
                    continue
            self._flush(pending)
            pending, first, count = {}, None, 0

    def _flush(self, pending: dict[str, list[tuple[int, str]]]) -> None:
        for stream, events in pending.items():
            try:
                self.logs.append(self.group, stream, events)
            except Exception:  # logs must never kill the job
                log.exception("could not store log events of %s", self.job_name)
        with self._lock:
            points, self._metric_points = self._metric_points, []
        by_name: dict[str, list[tuple[datetime, float]]] = {}
        for name, when, value in points:
            by_name.setdefault(name, []).append((when, value))
        for name, series in by_name.items():
            try:
                self.metrics.put(METRICS_NAMESPACE, name, {"TrainingJobName": self.job_name}, series)
            except Exception:
                log.exception("could not store metrics of %s", self.job_name)
