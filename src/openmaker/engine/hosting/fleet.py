"""Replicas and variants: what one endpoint deployment is made of.

A :class:`Replica` is one "instance" of a production variant in SageMaker's sense: one model server
per container of the model (one for a plain model, a chain for an inference pipeline). It watches
its processes; when one exits by itself the replica turns unhealthy at once (the router stops
sending it work, requests in flight on it fail with a clear error) and a restart thread brings the
whole chain back with exponential backoff, for as long as the replica is wanted.

A :class:`Variant` is a production variant of a deployment: its weight, the model's containers and
its replicas. The router reads ``weight`` and ``replicas`` without locks: both are replaced, never
mutated in place, so a reader always sees a consistent list.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from openmaker.engine.hosting.instances import ContainerSpec, Instance, InstanceError, start_instance

log = logging.getLogger("openmaker.hosting")

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0


class Replica:
    """One variant instance: a chain of model servers (see the module docstring)."""

    def __init__(
        self,
        state: Any,
        owner: str,
        containers: list[ContainerSpec],
        *,
        log_group: str,
        stream: str,
        network_isolation: bool,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self.owner = owner
        self.containers = containers
        self.log_group = log_group
        self.stream = stream
        self.network_isolation = network_isolation
        self.on_change = on_change
        self.instances: list[Instance] = []
        self.inflight = 0  # changed under the router's lock only
        self.restarts = 0
        self.last_error: str | None = None
        self._broken = False
        self._closed = False
        self._lock = threading.Lock()

    @property
    def healthy(self) -> bool:
        instances = self.instances
        return (
            bool(instances) and not self._broken and not self._closed and all(i.healthy() for i in instances)
        )

    def streams(self) -> list[str]:
        if len(self.containers) == 1:
            return [self.stream]
        return [f"{self.stream}/{c.hostname or f'container-{n + 1}'}" for n, c in enumerate(self.containers)]

    def start(self) -> None:
        """Start every container of the chain in order; raises InstanceError (nothing left running)."""
        started: list[Instance] = []
        try:
            for container, stream in zip(self.containers, self.streams(), strict=True):
                started.append(
                    start_instance(
                        self.state,
                        self.owner,
                        container,
                        log_group=self.log_group,
                        log_stream=stream,
                        network_isolation=self.network_isolation,
                        on_exit=self._crashed,
                    )
                )
        except BaseException:
            for instance in started:
                instance.stop(grace=1)
            raise
        with self._lock:
            self.instances = started
            self._broken = False

    def stop(self, grace: float = 5) -> None:
        with self._lock:
            self._closed = True
            instances, self.instances = self.instances, []
        for instance in instances:
            instance.stop(grace)

    def _crashed(self, instance: Instance) -> None:
        with self._lock:
            if self._closed or self._broken:
                return
            self._broken = True
        log.warning("%s: a model server exited with code %s; restarting", self.owner, instance.exit_code)
        self._changed()
        threading.Thread(target=self._restart, name=f"restart-{self.owner}", daemon=True).start()

    def _restart(self) -> None:
        delay = BACKOFF_START
        while not self._closed:
            old, self.instances = self.instances, []
            for item in old:
                item.stop(grace=1)
            try:
                self.start()
            except InstanceError as exc:
                self.last_error = str(exc)
                log.warning("%s: restart failed: %s", self.owner, exc)
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            except Exception:
                log.exception("%s: restart failed", self.owner)
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.restarts += 1
            if self._closed:  # stopped while we were starting: do not leak the new processes
                self.stop(grace=1)
            self._changed()
            return

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("on_change of %s", self.owner)


@dataclass
class Variant:
    """A production variant as deployed (see the module docstring)."""

    name: str
    model_name: str
    containers: list[ContainerSpec]
    mode: str  # Serial | Direct
    network_isolation: bool
    weight: float
    desired_count: int
    instance_type: str | None = None
    replicas: list[Replica] = field(default_factory=list)

    @property
    def healthy_count(self) -> int:
        return sum(1 for r in self.replicas if r.healthy)

    @property
    def hostnames(self) -> list[str]:
        return [c.hostname or f"container-{n + 1}" for n, c in enumerate(self.containers)]

    def new_replica(self, state: Any, endpoint: str, on_change: Callable[[], None] | None) -> Replica:
        return Replica(
            state,
            f"Endpoint/{endpoint}/{self.name}",
            self.containers,
            log_group=f"/aws/sagemaker/Endpoints/{endpoint}",
            stream=f"{self.name}/i-{uuid.uuid4().hex[:17]}",
            network_isolation=self.network_isolation,
            on_change=on_change,
        )

    @classmethod
    def from_deployment(cls, item: dict[str, Any]) -> Variant:
        """From one entry of an endpoint's recorded deployment (see services' endpoints module)."""
        containers = [ContainerSpec.from_api(c, n) for n, c in enumerate(item.get("Containers") or [])]
        return cls(
            name=item["VariantName"],
            model_name=item.get("ModelName") or "",
            containers=containers,
            mode=item.get("Mode") or "Serial",
            network_isolation=bool(item.get("EnableNetworkIsolation")),
            weight=float(item.get("DesiredWeight", item.get("InitialVariantWeight", 1.0))),
            desired_count=int(item.get("DesiredInstanceCount") or item.get("InitialInstanceCount") or 1),
            instance_type=item.get("InstanceType"),
        )


def start_replicas(
    state: Any, endpoint: str, variant: Variant, count: int, on_change: Callable[[], None] | None
) -> list[Replica]:
    """Start ``count`` replicas of ``variant`` in parallel; all or nothing (InstanceError)."""
    replicas = [variant.new_replica(state, endpoint, on_change) for _ in range(count)]
    if not replicas:
        return []
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=min(8, len(replicas))) as pool:
        for future in [pool.submit(r.start) for r in replicas]:
            try:
                future.result()
            except BaseException as exc:
                errors.append(exc)
    if errors:
        for replica in replicas:
            replica.stop(grace=1)
        error = errors[0]
        if isinstance(error, InstanceError):
            raise error
        raise InstanceError(f"openmaker could not start the model server: {error}") from error
    return replicas
