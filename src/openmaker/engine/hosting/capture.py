"""Data capture: sampled requests and responses written to S3 in SageMaker's capture format.

The router calls :meth:`CaptureWriter.offer` after a successful invocation; it samples, copies
what it needs into a queue and returns — it never blocks, never raises, never waits on storage
(a full queue drops the record and counts it). One writer thread groups records per endpoint and
variant and writes one JSON Lines object per group every ``FLUSH_SECONDS`` (or ``MAX_BATCH``
records) through the object store (no HTTP), at

    <DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl

(the time is the first record's, UTC), each line being::

    {"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
                     "endpointOutput": {... "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId", "inferenceTime", "inferenceId"?}, "eventVersion": "0"}

``encoding`` is CSV or JSON when the content type is listed in CaptureContentTypeHeader's
CsvContentTypes / JsonContentTypes (data kept as text), else BASE64.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from openmaker.engine.s3io import S3Uri, StagingError

log = logging.getLogger("openmaker.hosting")

FLUSH_SECONDS = float(os.environ.get("OPENMAKER_CAPTURE_FLUSH_SECONDS") or 1.0)
MAX_BATCH = 1000
MAX_QUEUE = 100_000


@dataclass(frozen=True)
class CaptureSettings:
    destination: str
    percentage: float
    capture_input: bool
    capture_output: bool
    csv_types: frozenset[str]
    json_types: frozenset[str]

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> CaptureSettings | None:
        """From an endpoint config's DataCaptureConfig (None when capture is off)."""
        if not config or config.get("EnableCapture") is False:
            return None
        modes = {item.get("CaptureMode") for item in config.get("CaptureOptions") or []}
        header = config.get("CaptureContentTypeHeader") or {}
        return cls(
            destination=config["DestinationS3Uri"],
            percentage=float(config.get("InitialSamplingPercentage", 100)),
            capture_input=bool(modes & {"Input", "InputAndOutput"}),
            capture_output=bool(modes & {"Output", "InputAndOutput"}),
            csv_types=frozenset(t.lower() for t in header.get("CsvContentTypes") or []),
            json_types=frozenset(t.lower() for t in header.get("JsonContentTypes") or []),
        )

    def encode(self, data: bytes, content_type: str | None) -> tuple[str, str]:
        base = (content_type or "").split(";", 1)[0].strip().lower()
        if base and (base in self.csv_types or base in self.json_types):
            try:
                return data.decode("utf-8"), "CSV" if base in self.csv_types else "JSON"
            except UnicodeDecodeError:
                pass
        return base64.b64encode(data).decode(), "BASE64"


def decode(entry: dict[str, Any]) -> bytes:
    """The original bytes of one captured ``endpointInput``/``endpointOutput``."""
    data = entry.get("data", "")
    return base64.b64decode(data) if entry.get("encoding") == "BASE64" else data.encode("utf-8")


class CaptureWriter:
    def __init__(self, objects: Any) -> None:
        self.objects = objects
        self.dropped = 0
        self.written = 0
        self._queue: queue.Queue[tuple[str, str, str, datetime, dict] | None] = queue.Queue(MAX_QUEUE)
        self._thread = threading.Thread(target=self._run, name="data-capture", daemon=True)
        self._thread.start()

    def offer(self, settings: CaptureSettings, endpoint: str, variant: str, call: Any, answer: Any) -> None:
        """Maybe capture one invocation (called on the request path: cheap and never raising)."""
        try:
            if settings.percentage < 100 and random.random() * 100 >= settings.percentage:
                return
            moment = datetime.now(UTC)
            data: dict[str, Any] = {}
            if settings.capture_input:
                text, encoding = settings.encode(call.body, call.content_type)
                data["endpointInput"] = {
                    "observedContentType": call.content_type or "",
                    "mode": "INPUT",
                    "data": text,
                    "encoding": encoding,
                }
            if settings.capture_output:
                text, encoding = settings.encode(answer.body, answer.content_type)
                data["endpointOutput"] = {
                    "observedContentType": answer.content_type or "",
                    "mode": "OUTPUT",
                    "data": text,
                    "encoding": encoding,
                }
            metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
            if call.inference_id:
                metadata["inferenceId"] = call.inference_id
            record = {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}
            self._queue.put_nowait((settings.destination, endpoint, variant, moment, record))
        except queue.Full:
            self.dropped += 1
        except Exception:
            self.dropped += 1
            log.exception("data capture of %s dropped a record", endpoint)

    def flush(self, timeout: float = 10) -> None:
        """Write what is queued now (tests and shutdown)."""
        done = threading.Event()
        self._queue.put(("", "", "", datetime.now(UTC), {"_flush": done}))
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        pending: dict[tuple[str, str, str], list[tuple[datetime, dict]]] = {}
        first: float | None = None
        while True:
            timeout = None if first is None else max(0.0, first + FLUSH_SECONDS - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ()
            if item is None:
                self._write(pending)
                return
            if item and "_flush" in item[4]:
                self._write(pending)
                pending, first = {}, None
                item[4]["_flush"].set()
                continue
            if item:
                destination, endpoint, variant, moment, record = item
                pending.setdefault((destination, endpoint, variant), []).append((moment, record))
                first = first or time.monotonic()
            if first is not None and (
                time.monotonic() >= first + FLUSH_SECONDS or sum(map(len, pending.values())) >= MAX_BATCH
            ):
                self._write(pending)
                pending, first = {}, None

    def _write(self, pending: dict[tuple[str, str, str], list[tuple[datetime, dict]]]) -> None:
        for (destination, endpoint, variant), records in pending.items():
            if not records:
                continue
            moment = records[0][0]
            key = (
                f"{endpoint}/{variant}/{moment:%Y/%m/%d/%H}/"
                f"{moment:%M-%S}-{moment.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            )
            body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for _, r in records).encode()
            try:
                uri = S3Uri.parse(destination).join(key)
                writer = self.objects.new_writer()
                writer.write(body)
                self.objects.commit_object(uri.bucket, uri.key, writer, content_type="application/jsonlines")
                self.written += len(records)
            except (StagingError, Exception) as exc:
                self.dropped += len(records)
                log.warning(
                    "data capture for %s/%s could not be written to %s: %s",
                    endpoint,
                    variant,
                    destination,
                    exc,
                )
