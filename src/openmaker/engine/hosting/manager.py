"""The hosting manager: endpoints' fleets, their life cycle and what survives a server restart.

The SageMaker handlers write an endpoint's record first (status and the deployment it should run,
snapshotted from the endpoint config and its models into ``state["Deployment"]``, or
``state["Pending"]`` for an update) and then call this manager, which does the slow part in a
background thread and records the outcome:

* create: start every variant's replicas → publish the route → ``InService`` (or ``Failed`` with
  the model server's start-up error as FailureReason; nothing is left running).
* update (blue/green): start the new deployment beside the old one; only when all of it answers
  ``/ping`` is the route swapped; the old fleet then drains (requests in flight finish) and stops.
  A failed update keeps the old fleet serving: ``InService`` with the reason in FailureReason.
* weights and capacities: weights change at once; replicas are added (started before they take
  traffic) or removed (drained first).
* delete: the route goes at once, processes stop in the background.

Every in-memory change is tagged with a per-endpoint generation, so a slow create that finishes
after a delete stops what it started instead of publishing it. At server start-up endpoints found
``InService``/``Creating``/``Updating`` are started again from their records (an empty route is
published at once, so invocations wait briefly instead of failing while the fleet comes up);
``Deleting`` ones are removed. At shutdown every process is stopped; statuses are kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openmaker.engine.hosting.capture import CaptureSettings, CaptureWriter
from openmaker.engine.hosting.fleet import Replica, Variant, start_replicas
from openmaker.engine.hosting.instances import InstanceError
from openmaker.engine.hosting.router import INVOCATION_TIMEOUT, Route, Router
from openmaker.storage.jobs import JobNotFound

log = logging.getLogger("openmaker.hosting")

KIND = "Endpoint"
MAX_REASON = 1024
DRAIN_TIMEOUT = INVOCATION_TIMEOUT + 5
RESUME = ("InService", "Creating", "Updating", "SystemUpdating")


class Hosting:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.capture = CaptureWriter(state.objects)
        self.router = Router(self.capture)
        self._gen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    # --- the API the handlers call ---------------------------------------------------------------

    def start(self) -> None:
        """Bring back the endpoints a previous server process left running (see module docstring)."""
        for record in self.state.jobs.list(KIND):
            if record.status == "Deleting":
                self._forget(record.name)
            elif record.status in RESUME:
                deployment = record.state.get("Pending") or record.state.get("Deployment")
                if deployment:
                    self._background(record.name, lambda n, g, d=deployment: self._recover(n, g, d))

    def create(self, name: str) -> None:
        record = self.state.jobs.get(KIND, name)
        if record is not None:
            deployment = record.state["Deployment"]
            self._background(name, lambda n, g: self._deploy(n, g, deployment, first=True))

    def update(self, name: str) -> None:
        record = self.state.jobs.get(KIND, name)
        if record is not None:
            pending = record.state["Pending"]
            self._background(name, lambda n, g: self._deploy(n, g, pending, first=False), bump=False)

    def update_weights(self, name: str, desired: dict[str, dict[str, Any]]) -> None:
        """``desired``: variant → {"DesiredWeight"?, "DesiredInstanceCount"?} (already recorded)."""
        self._background(name, lambda n, g: self._reweigh(n, g, desired), bump=False)

    def delete(self, name: str) -> None:
        """Unroute now; stop the fleet in the background."""
        with self._lock:
            self._gen[name] = self._gen.get(name, 0) + 1
        old = self.router.publish(name, None)
        if old is not None:
            threading.Thread(target=_stop_all, args=(_replicas(old),), daemon=True).start()

    def live(self, name: str) -> dict[str, dict[str, Any]] | None:
        """Per variant: healthy instance count and current weight, if this process serves it."""
        route = self.router.routes.get(name)
        if route is None:
            return None
        return {
            v.name: {"CurrentInstanceCount": v.healthy_count, "CurrentWeight": v.weight}
            for v in route.variants
        }

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            for name in list(self._gen):
                self._gen[name] += 1
        replicas: list[Replica] = []
        for name in list(self.router.routes):
            old = self.router.publish(name, None)
            if old is not None:
                replicas += _replicas(old)
        _stop_all(replicas, grace=2)
        self.capture.close()

    # --- inside ----------------------------------------------------------------------------------

    def _background(self, name: str, work: Callable[[str, int], None], bump: bool = True) -> None:
        with self._lock:
            if bump:
                self._gen[name] = self._gen.get(name, 0) + 1
            generation = self._gen.setdefault(name, 0)

        def main() -> None:
            try:
                work(name, generation)
            except Exception as exc:
                log.exception("hosting %s failed inside openmaker", name)
                self._record(name, generation, status="Failed", failure_reason=f"InternalServerError: {exc}")

        threading.Thread(target=main, name=f"endpoint-{name}", daemon=True).start()

    def _current(self, name: str, generation: int) -> bool:
        with self._lock:
            return not self._closed and self._gen.get(name) == generation

    def _record(self, name: str, generation: int, **fields: Any) -> None:
        if not self._current(name, generation):
            return
        if fields.get("failure_reason"):
            fields["failure_reason"] = fields["failure_reason"][:MAX_REASON]
        try:
            self.state.jobs.update(KIND, name, **fields)
        except JobNotFound:
            pass

    def _start(self, name: str, deployment: dict[str, Any]) -> list[Variant]:
        """Every variant of ``deployment`` with its replicas running (all or nothing)."""
        variants = [Variant.from_deployment(item) for item in deployment.get("Variants") or []]
        with ThreadPoolExecutor(max_workers=max(1, len(variants))) as pool:
            futures = [
                pool.submit(start_replicas, self.state, name, v, v.desired_count, None) for v in variants
            ]
            errors: list[BaseException] = []
            for variant, future in zip(variants, futures, strict=True):
                try:
                    variant.replicas = future.result()
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            _stop_all([r for v in variants for r in v.replicas], grace=1)
            raise errors[0]
        return variants

    def _deploy(self, name: str, generation: int, deployment: dict[str, Any], first: bool) -> None:
        try:
            variants = self._start(name, deployment)
        except InstanceError as exc:
            if first:
                self._record(name, generation, status="Failed", failure_reason=f"ClientError: {exc}")
            else:
                self._record(
                    name,
                    generation,
                    status="InService",
                    failure_reason=f"ClientError: {exc}",
                    state={"Pending": None},
                )
            return
        route = Route(name, variants, CaptureSettings.from_config(deployment.get("DataCaptureConfig")))
        with self._lock:
            if self._closed or self._gen.get(name) != generation:
                stale = True
            else:
                stale = False
                old = self.router.publish(name, route)
        if stale:
            _stop_all(_replicas(route), grace=1)
            return
        fields: dict[str, Any] = {"status": "InService", "state": {"Deployment": deployment, "Pending": None}}
        if not first:
            fields["failure_reason"] = ""
        self._record(name, generation, **fields)
        if old is not None:
            self._drain(_replicas(old))

    def _recover(self, name: str, generation: int, deployment: dict[str, Any]) -> None:
        placeholder = [Variant.from_deployment(item) for item in deployment.get("Variants") or []]
        capture = CaptureSettings.from_config(deployment.get("DataCaptureConfig"))
        self.router.publish(name, Route(name, placeholder, capture))
        self._deploy(name, generation, deployment, first=True)

    def _reweigh(self, name: str, generation: int, desired: dict[str, dict[str, Any]]) -> None:
        route = self.router.routes.get(name)
        if route is None:
            return
        retired: list[Replica] = []
        for variant in route.variants:
            wanted = desired.get(variant.name) or {}
            if wanted.get("DesiredWeight") is not None:
                variant.weight = float(wanted["DesiredWeight"])
            count = wanted.get("DesiredInstanceCount")
            if count is None or count == len(variant.replicas):
                continue
            if count > len(variant.replicas):
                try:
                    extra = start_replicas(self.state, name, variant, count - len(variant.replicas), None)
                except InstanceError as exc:
                    self._record(name, generation, status="InService", failure_reason=f"ClientError: {exc}")
                    return
                with self.router.lock:
                    variant.replicas = variant.replicas + extra
            else:
                with self.router.lock:
                    keep, drop = variant.replicas[:count], variant.replicas[count:]
                    variant.replicas = keep
                retired += drop
            variant.desired_count = count
        self._record(name, generation, status="InService", failure_reason="")
        if retired:
            self._drain(retired)

    def _drain(self, replicas: list[Replica]) -> None:
        """Let requests that chose these replicas finish, then stop them."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while self.router.inflight(replicas) and time.monotonic() < deadline:
            time.sleep(0.02)
        _stop_all(replicas)

    def _forget(self, name: str) -> None:
        try:
            self.state.jobs.delete(KIND, name)
        except JobNotFound:
            pass


def _replicas(route: Route) -> list[Replica]:
    return [r for v in route.variants for r in v.replicas]


def _stop_all(replicas: list[Replica], grace: float = 5) -> None:
    if not replicas:
        return
    with ThreadPoolExecutor(max_workers=min(16, len(replicas))) as pool:
        list(pool.map(lambda r: r.stop(grace), replicas))
