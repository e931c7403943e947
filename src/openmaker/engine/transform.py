"""Batch transform jobs on the shared lifecycle: model servers up, every input record through them,
one ``.out`` per input file, in input order.

How records flow. The job's thread is the only reader and the only writer: for each input file (in
key or manifest order) it streams records (``record_split``), applies InputFilter, packs them into
request payloads (MultiRecord: as many as fit in MaxPayloadInMB; SingleRecord: one each) and hands
each payload to a pool of ``MaxConcurrentTransforms`` worker threads. A worker sends the payload to
one instance (batch ``n`` goes to instance ``n mod InstanceCount``; a pipeline model's containers
are chained, each answer and its content type feeding the next) and turns the answer into the bytes
to write (JoinSource / OutputFilter per record, AssembleWith). The job's thread keeps the futures in
a FIFO and writes results strictly from its head, so output order is input order whatever order the
answers arrive in; it admits a new payload only while fewer than ``2 * concurrency + 2`` are
unwritten, which bounds memory to a few payloads however large the input is.

Concurrency: ``MaxConcurrentTransforms`` is the number of requests in flight for the whole job
(SageMaker counts it per instance; here every instance shares one machine, so the total is what
matters), spread round-robin over the instances, whose model servers spread work over the cores.

Failures. A model error (see ``transform_model`` for what is retried) or a
malformed record fails *that file*: its remaining records are skipped and no ``.out`` is written
for it, while the other files still run (as in SageMaker). The job then ends Failed with a
FailureReason naming the file and the model's message. Stop ends the loop at the next payload;
files already written stay.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from openmaker.engine.data_processing import DataProcessing, DataProcessingError, split_output
from openmaker.engine.executors import HostLaunch
from openmaker.engine.lifecycle import ClientError, HostRun, Outcome, Run
from openmaker.engine.output import JobOutput
from openmaker.engine.record_split import Batch, RecordError, batches, split
from openmaker.engine.s3io import StagingError
from openmaker.engine.transform_io import (
    InputFile,
    OutputObject,
    close_input,
    list_inputs,
    open_input,
    output_uri,
)
from openmaker.engine.transform_model import EXECUTION_PARAMETERS, Group, ModelClient, ModelError

log = logging.getLogger("openmaker.engine")

MB = 1024 * 1024
DEFAULT_PAYLOAD_MB = 6
DEFAULT_TIMEOUT = 600.0
DEFAULT_RETRIES = 3


@dataclass
class Settings:
    """The effective execution parameters (given, else the container's, else SageMaker's defaults)."""

    concurrency: int
    payload_bytes: int | None
    strategy: str


@dataclass
class FileState:
    item: InputFile
    output: OutputObject | None = None
    failure: str | None = None
    records: int = 0
    requests: int = 0


@dataclass
class Pending:
    file: FileState
    future: Future[bytes] | None = None  # None: the file's end marker
    records: int = 0


class TransformRun(Run):
    kind = "TransformJob"
    log_group = "/aws/sagemaker/TransformJobs"

    def __init__(self, engine: Any, record: Any, executor: Any) -> None:
        super().__init__(engine, record, executor)
        self.groups: list[Group] = []
        self.failures: list[str] = []
        self.input_spec: dict[str, Any] = self.spec.get("TransformInput") or {}
        self.output_spec: dict[str, Any] = self.spec.get("TransformOutput") or {}
        self.client: ModelClient | None = None

    @property
    def instance_count(self) -> int:
        return max(1, int((self.spec.get("TransformResources") or {}).get("InstanceCount") or 1))

    def max_runtime(self) -> float | None:
        return None

    # --- start: the model servers ----------------------------------------------------------------

    def prepare(self) -> list[HostLaunch]:
        from openmaker.engine.hosting.instances import ContainerSpec, InstanceError, start_instance

        model_name = self.spec.get("ModelName", "")
        model = self.jobs.get("Model", model_name)
        if model is None:
            raise ClientError(f'Could not find model "{model_name}"')
        containers = model.spec.get("Containers") or [model.spec.get("PrimaryContainer") or {}]
        specs = [ContainerSpec.from_api(c, i) for i, c in enumerate(containers)]
        extra = {k: str(v) for k, v in (self.spec.get("Environment") or {}).items()}
        extra.setdefault("SAGEMAKER_BATCH", "true")
        for key, env_name in (
            ("MaxConcurrentTransforms", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"),
            ("MaxPayloadInMB", "SAGEMAKER_MAX_PAYLOAD_IN_MB"),
            ("BatchStrategy", "SAGEMAKER_BATCH_STRATEGY"),
        ):
            if self.spec.get(key) is not None:
                extra.setdefault(env_name, str(self.spec[key]))
        for spec in specs:
            spec.environment = {**spec.environment, **extra}
        isolation = bool(model.spec.get("EnableNetworkIsolation"))
        self.output = JobOutput(self.state.logs, self.state.metrics, self.log_group, self.name)
        self.groups = [
            Group(instance_id := f"i-{uuid.uuid4().hex[:17]}", f"{self.name}/{instance_id}-{self.epoch}")
            for _ in range(self.instance_count)
        ]
        for group in self.groups:
            self.state.logs.append(self.log_group, group.stream, [])
        self.update(state={"LogStreams": [g.stream for g in self.groups]})

        def start(group: Group, spec: Any) -> Any:
            return start_instance(
                self.state,
                f"{self.kind}/{self.name}",
                spec,
                log_group=self.log_group,
                log_stream=group.stream,
                network_isolation=isolation,
            )

        # Started one by one from this thread on purpose: the sandbox ties each server's life to
        # the thread that launched it (bwrap --die-with-parent), and this one lives as long as the job.
        errors: list[str] = []
        for group in self.groups:
            for spec in specs:
                if self.stop_reason or errors:
                    break
                try:
                    group.servers.append(start(group, spec))
                except InstanceError as exc:
                    errors.append(str(exc))
        self.hosts = [
            HostRun(None, g.stream, s.handle)  # type: ignore[arg-type]  # so shutdown can kill them
            for g in self.groups
            for s in g.servers
        ]
        self.update(state={"EngineHosts": [h.handle.ident for h in self.hosts if h.handle is not None]})
        if errors:
            self.stop_servers()
            raise ClientError(f"the model server for {model_name} did not start: {errors[0]}")
        config = self.spec.get("ModelClientConfig") or {}
        retries = config.get("InvocationsMaxRetries")
        self.client = ModelClient(
            self.groups,
            self.input_spec.get("ContentType"),
            self.output_spec.get("Accept"),
            float(config.get("InvocationsTimeoutInSeconds") or DEFAULT_TIMEOUT),
            int(DEFAULT_RETRIES if retries is None else retries),
        )
        return []

    def stop(self, reason: str = "Stopped") -> None:
        """Stop now: the model servers go at once, so requests in flight end instead of being
        waited for (their answers would be thrown away anyway)."""
        super().stop(reason)
        threading.Thread(target=self.stop_servers, name=f"stop-{self.name}", daemon=True).start()

    def stop_servers(self) -> None:
        for group in self.groups:
            for server in group.servers:
                try:
                    server.stop(grace=float(self.state.settings.stop_grace))
                except Exception:
                    log.exception("could not stop a model server of %s", self.name)
            group.servers = []

    def settings(self) -> Settings:
        """Given parameters win; missing ones come from ``GET /execution-parameters`` when the
        container answers it (as SageMaker asks built-in containers), else SageMaker's defaults."""
        assert self.client is not None
        given = {k: self.spec.get(k) for k in EXECUTION_PARAMETERS}
        if any(value is None for value in given.values()):
            for key, value in self.client.execution_parameters().items():
                if given.get(key) is None:
                    given[key] = value
        split_type = self.input_spec.get("SplitType") or "None"
        strategy = given.get("BatchStrategy") or ("MultiRecord" if split_type != "None" else "SingleRecord")
        payload = given.get("MaxPayloadInMB")
        payload = DEFAULT_PAYLOAD_MB if payload is None else int(payload)
        return Settings(
            concurrency=max(1, int(given.get("MaxConcurrentTransforms") or 1)),
            payload_bytes=payload * MB if payload > 0 else None,
            strategy=strategy,
        )

    # --- the transform -----------------------------------------------------------------------------

    def note(self, text: str, group: int = 0) -> None:
        if self.output is not None and self.groups:
            self.output.note(self.groups[group].stream, f"[sagemaker logs]: {text}")

    def run_hosts(self, launches: list[HostLaunch]) -> Outcome:
        started = time.monotonic()
        try:
            self._transform()
        finally:
            self.stop_servers()
        failed = HostRun(None, "", None, 1) if self.failures else None  # type: ignore[arg-type]
        return Outcome(self.stop_reason, failed, time.monotonic() - started)

    def describe_failure(self, host: HostRun) -> str:
        reason = self.failures[0]
        more = len(self.failures) - 1
        if more:
            reason += f" ({more} more input file{'s' if more > 1 else ''} failed; see the job's logs)"
        return reason

    def _transform(self) -> None:
        processing = self._data_processing()
        settings = self.settings()
        self.update(
            state={
                "ExecutionParameters": {
                    "MaxConcurrentTransforms": settings.concurrency,
                    "MaxPayloadInMB": (settings.payload_bytes or 0) // MB,
                    "BatchStrategy": settings.strategy,
                }
            }
        )
        self.note(
            f"MaxConcurrentTransforms={settings.concurrency}, MaxPayloadInMB="
            f"{(settings.payload_bytes or 0) // MB}, BatchStrategy={settings.strategy}"
        )
        files = list_inputs(self.state.objects, self.input_spec)
        window: deque[Pending] = deque()
        limit = 2 * settings.concurrency + 2
        sequence = 0
        pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix=f"transform-{self.name}")
        try:
            for item in files:
                if self.stop_reason:
                    break
                state = FileState(item)
                try:
                    state.output = OutputObject(
                        self.state.objects,
                        output_uri(self.output_spec.get("S3OutputPath", ""), item),
                        self.output_spec.get("Accept"),
                    )
                    for batch in self._batches(item, settings, processing):
                        if self.stop_reason or state.failure:
                            break
                        future = pool.submit(self._process, batch, sequence, processing)
                        sequence += 1
                        window.append(Pending(state, future, batch.count))
                        while len(window) >= limit:
                            self._drain(window.popleft())
                except (RecordError, DataProcessingError, StagingError, OSError, EOFError) as exc:
                    state.failure = state.failure or f"ClientError: {item.name}: {exc}"
                window.append(Pending(state))
            while window and not self.stop_reason:
                self._drain(window.popleft())
        finally:
            for pending in window:  # left on a stop or an exception: nothing more is written
                if pending.future is not None:
                    pending.future.cancel()
                elif pending.file.output is not None:
                    pending.file.output.abort()
            # Running requests are not waited for: a stop has already ended their servers.
            pool.shutdown(wait=False, cancel_futures=True)

    def _data_processing(self) -> DataProcessing:
        try:
            return DataProcessing(self.spec.get("DataProcessing"), self.input_spec.get("ContentType"))
        except (DataProcessingError, ValueError) as exc:
            raise ClientError(str(exc)) from exc

    def _batches(self, item: InputFile, settings: Settings, processing: DataProcessing) -> Iterator[Batch]:
        split_type = self.input_spec.get("SplitType") or "None"
        compression = self.input_spec.get("CompressionType") or "None"
        stream = open_input(self.state.objects, item, compression)
        try:
            records = split(stream, split_type, settings.payload_bytes)
            pairs = ((record, processing.filter_input(record)) for record in records)
            yield from batches(pairs, split_type, settings.strategy, settings.payload_bytes, processing.join)
        finally:
            close_input(stream)

    def _drain(self, pending: Pending) -> None:
        """Write one finished payload (waiting for it), or close its file at the end marker."""
        state = pending.file
        if pending.future is None:
            self._close_file(state)
            return
        try:
            data = pending.future.result()
        except ModelError as exc:
            state.failure = state.failure or exc.reason(state.item.name)
            return
        except (DataProcessingError, ValueError) as exc:
            state.failure = state.failure or f"ClientError: {state.item.name}: {exc}"
            return
        if state.failure or self.stop_reason or state.output is None:
            return
        state.output.write(data)
        state.records += pending.records
        state.requests += 1

    def _close_file(self, state: FileState) -> None:
        output = state.output
        if state.failure or self.stop_reason or output is None:
            if output is not None:
                output.abort()
            if state.failure and not self.stop_reason:
                self.failures.append(state.failure)
                self.note(f"{state.item.name}: {state.failure}")
            return
        output.commit()
        self.note(f"{state.item.name}: {state.records} records in {state.requests} requests -> {output.uri}")

    # --- one payload (worker threads) ------------------------------------------------------------

    def _process(self, batch: Batch, sequence: int, processing: DataProcessing) -> bytes:
        if self.stop_reason:
            return b""
        assert self.client is not None
        body, content_type = self.client.call(batch.body, sequence)
        if processing.touches_output:
            outputs = split_output(body, batch.count, content_type)
            records = processing.assemble(batch.inputs, outputs, content_type)
            line = (self.output_spec.get("AssembleWith") or "None") == "Line"
            return b"\n".join(records) + b"\n" if line else b"".join(records)
        if (self.output_spec.get("AssembleWith") or "None") == "Line" and body and not body.endswith(b"\n"):
            body += b"\n"
        return body

    # --- the end -----------------------------------------------------------------------------------

    def collect(self, outcome: Outcome) -> None:
        """Outputs were committed file by file as they completed; nothing is left to upload."""

    def finish(self, outcome: Outcome | None, failure: str | None) -> None:
        fields: dict[str, Any] = {"end_time": datetime.now(UTC)}
        if failure is not None:
            status = "Failed"
            fields["failure_reason"] = failure
        elif (outcome is not None and outcome.stop) or self.stop_reason:
            status = "Stopped"
        else:
            status = "Completed"
        self.update(status=status, **fields)

    def cleanup(self, failed: bool) -> None:
        self.stop_servers()
        super().cleanup(failed)
