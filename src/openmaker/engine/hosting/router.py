"""The router: InvokeEndpoint's path from a request to a model server and back.

Per endpoint the router holds a :class:`Route` (its variants and their replicas), published by the
hosting manager and swapped whole on UpdateEndpoint. A request picks a variant by weight (or the
``TargetVariant``), then the least busy healthy replica of it (ties broken round-robin), under one
short lock that also counts the request in flight, so a drain that starts after a swap sees every
request that chose the old fleet. The hop is an async HTTP/1.1 POST over a keep-alive pool (one pool
per event loop and instance address; :class:`_Connection` is a bare asyncio protocol with the
``httptools`` response parser, which costs a fraction of a general-purpose client per request): no
per-request connection set-up and no thread hop. For an inference pipeline the containers are called in order, each output and its
content type becoming the next input. No database is read on this path.

Errors are engine exceptions (:class:`RouteError` subclasses); the runtime service words them as
the real service does.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httptools
from aiohttp.http import SERVER_SOFTWARE

from openmaker.engine.hosting.fleet import Replica, Variant

INVOCATION_TIMEOUT = float(os.environ.get("OPENMAKER_INVOCATION_TIMEOUT") or 60)
WAIT_FOR_HEALTHY = float(os.environ.get("OPENMAKER_HOSTING_UNAVAILABLE_WAIT") or 10)
KEEPALIVE_TIMEOUT = 30.0  # an idle pooled connection older than this is closed, not reused


class RouteError(Exception):
    pass


class NoRoute(RouteError):
    """The endpoint has no serving fleet in this process (unknown, or not InService)."""


class NoVariant(RouteError):
    """``TargetVariant`` names no variant of the endpoint."""


class BadTarget(RouteError):
    """``TargetContainerHostname`` is missing (Direct mode), unknown, or not allowed (Serial)."""


class Unavailable(RouteError):
    """No healthy replica answered in time (all restarting)."""


class ModelFailure(RouteError):
    """A container answered non-2xx, closed the connection, or timed out."""

    def __init__(
        self, message: str, *, status: int | None, original: str | None, container: str, stream: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.original = original
        self.container = container
        self.stream = stream


@dataclass
class Route:
    endpoint: str
    variants: list[Variant]
    capture: Any = None  # capture.CaptureSettings or None

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


@dataclass
class Invocation:
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None
    target_hostname: str | None = None
    inference_id: str | None = None


@dataclass
class Answer:
    body: bytes
    content_type: str | None
    variant: str
    custom_attributes: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Router:
    def __init__(self, capture: Any = None) -> None:
        self.capture = capture
        self.routes: dict[str, Route] = {}
        self.lock = threading.Lock()
        self._rr = itertools.count()
        self._pools: dict[tuple[int, str], _Pool] = {}

    # --- fleet side ------------------------------------------------------------------------------

    def publish(self, endpoint: str, route: Route | None) -> Route | None:
        """Make ``route`` the endpoint's route (None removes it); returns the previous one."""
        with self.lock:
            old = self.routes.pop(endpoint, None)
            if route is not None:
                self.routes[endpoint] = route
        return old

    def inflight(self, replicas: list[Replica]) -> int:
        with self.lock:
            return sum(r.inflight for r in replicas)

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    # --- request side ----------------------------------------------------------------------------

    def _acquire(self, endpoint: str, target: str | None) -> tuple[Route, Variant, Replica | None]:
        with self.lock:
            route = self.routes.get(endpoint)
            if route is None:
                raise NoRoute(endpoint)
            if target:
                variant = route.variant(target)
                if variant is None:
                    raise NoVariant(target)
            else:
                variant = _weighted(route.variants)
            healthy = [r for r in variant.replicas if r.healthy]
            if not healthy:
                return route, variant, None
            low = min(r.inflight for r in healthy)
            least = [r for r in healthy if r.inflight == low]
            replica = least[next(self._rr) % len(least)]
            replica.inflight += 1
            return route, variant, replica

    def _release(self, replica: Replica) -> None:
        with self.lock:
            replica.inflight -= 1

    async def invoke(self, endpoint: str, call: Invocation) -> Answer:
        deadline = time.monotonic() + WAIT_FOR_HEALTHY
        retried = False
        while True:
            route, variant, replica = self._acquire(endpoint, call.target_variant)
            if replica is None:
                if time.monotonic() >= deadline:
                    raise Unavailable(variant.name)
                await asyncio.sleep(0.05)
                continue
            try:
                answer = await self._through(variant, replica, call)
            except _NotSent:
                # The replica died before it got the request: safe to send it elsewhere, once.
                if retried:
                    raise Unavailable(variant.name) from None
                retried = True
                continue
            finally:
                self._release(replica)
            if route.capture is not None and self.capture is not None:
                self.capture.offer(route.capture, endpoint, variant.name, call, answer)
            return answer

    async def _through(self, variant: Variant, replica: Replica, call: Invocation) -> Answer:
        instances = replica.instances
        names = variant.hostnames
        if variant.mode == "Direct":
            if not call.target_hostname:
                raise BadTarget(
                    "The endpoint's model uses Direct inference: give TargetContainerHostname (one of "
                    f"{', '.join(names)})."
                )
            if call.target_hostname not in names:
                raise BadTarget(
                    f"TargetContainerHostname {call.target_hostname!r} is not a container of variant "
                    f"{variant.name} (its containers: {', '.join(names)})."
                )
            index = names.index(call.target_hostname)
            steps = [(instances[index], names[index], replica.streams()[index])]
        else:
            if call.target_hostname:
                raise BadTarget(
                    "TargetContainerHostname can only be given for a model with Direct inference "
                    "(InferenceExecutionConfig Mode Direct)."
                )
            label = ["primary"] if len(instances) == 1 else names
            steps = list(zip(instances, label, replica.streams(), strict=True))
        body, content_type = call.body, call.content_type
        attributes: str | None = None
        headers: dict[str, str] = {}
        for position, (instance, name, stream) in enumerate(steps):
            last = position == len(steps) - 1
            status, headers, body = await self._post(
                instance,
                name,
                stream,
                body,
                content_type,
                call.accept if last else None,
                call,
                first=position == 0,
            )
            content_type = headers.get("content-type", content_type)
            attributes = headers.get("x-amzn-sagemaker-custom-attributes", attributes)
            if not 200 <= status < 300:
                text = body.decode("utf-8", "replace")
                kind = "client" if status < 500 else "server"
                raise ModelFailure(
                    f'Received {kind} error ({status}) from {name} with message "{text[:1024]}".',
                    status=status,
                    original=text,
                    container=name,
                    stream=stream,
                )
        return Answer(body, content_type, variant.name, attributes, headers)

    async def _post(
        self,
        instance: Any,
        name: str,
        stream: str,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        call: Invocation,
        first: bool,
    ) -> tuple[int, dict[str, str], bytes]:
        # The same request line and headers (and order) as the aiohttp client this replaced sent.
        lines = [
            f"POST /invocations HTTP/1.1\r\nHost: {instance.url[7:]}",
            f"Content-Type: {content_type or 'application/octet-stream'}",
        ]
        if accept:
            lines.append(f"Accept: {accept}")
        if call.custom_attributes:
            lines.append(f"X-Amzn-SageMaker-Custom-Attributes: {call.custom_attributes}")
        if call.inference_id:
            lines.append(f"X-Amzn-SageMaker-Inference-Id: {call.inference_id}")
        if not accept:
            lines.append("Accept: */*")
        lines.append(_DEFAULT_HEADERS)
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        head = "\r\n".join(lines)
        for value in (content_type, accept, call.custom_attributes, call.inference_id):
            if value and ("\r" in value or "\n" in value or "\x00" in value):
                raise ValueError("Newline, carriage return or NUL character detected in a request header")
        pool = self._pool(instance.url)
        for attempt in range(2):
            try:
                async with asyncio.timeout(INVOCATION_TIMEOUT):
                    return await pool.request(head.encode("utf-8", "surrogateescape"), body)
            except _ConnectFailed:
                if first:
                    raise _NotSent() from None
                raise ModelFailure(
                    f"Could not reach container {name}: its model server is not running.",
                    status=None,
                    original=None,
                    container=name,
                    stream=stream,
                ) from None
            except _Disconnected:
                # A kept-alive connection the server had closed looks the same as a crash; only
                # a model server that is still alive gets the request again.
                if attempt == 0 and await _still_alive(instance):
                    continue
                how = (
                    f"it exited with code {instance.exit_code}; openmaker restarts it"
                    if instance.exit_code is not None
                    else "it is still running"
                )
                raise ModelFailure(
                    f"The model server of container {name} closed the connection without answering ({how}).",
                    status=None,
                    original=None,
                    container=name,
                    stream=stream,
                ) from None
            except TimeoutError:
                raise ModelFailure(
                    f"Your invocation timed out while waiting for a response from container {name} "
                    f"(after {INVOCATION_TIMEOUT:.0f} seconds).",
                    status=None,
                    original=None,
                    container=name,
                    stream=stream,
                ) from None
        raise AssertionError("unreachable")

    def _pool(self, url: str) -> _Pool:
        key = (id(asyncio.get_running_loop()), url)
        pool = self._pools.get(key)
        if pool is None:
            host, _, port = url.removeprefix("http://").rpartition(":")
            pool = self._pools[key] = _Pool(host, int(port))
        return pool


# --- the hop: a keep-alive HTTP/1.1 client for one instance address --------------------------------

_DEFAULT_HEADERS = f"Accept-Encoding: gzip, deflate\r\nUser-Agent: {SERVER_SOFTWARE}"
_BIG_BODY = 64 * 1024  # smaller bodies go out with the head in one write (one syscall)


class _ConnectFailed(Exception):
    """No connection could be opened: nothing was sent."""


class _Disconnected(Exception):
    """The connection closed (or reset) before the whole answer arrived."""


class _Pool:
    """Idle keep-alive connections to one model server, most recently used first."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[_Connection] = []

    async def request(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        loop = asyncio.get_running_loop()
        connection = None
        while self.idle:
            candidate = self.idle.pop()
            if candidate.usable(loop.time()):
                connection = candidate
                break
            candidate.close()
        if connection is None:
            try:
                _, connection = await loop.create_connection(_Connection, self.host, self.port)
            except OSError as error:
                raise _ConnectFailed(str(error)) from error
        try:
            answer = await connection.exchange(head, body)
        except BaseException:
            connection.close()  # a timeout or cancel leaves the answer unread: never reuse it
            raise
        if connection.keep_alive:
            connection.idle_since = loop.time()
            self.idle.append(connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()


class _Connection(asyncio.Protocol):
    """One connection: send a request, parse the answer with httptools (chunked or sized bodies,
    or a body that ends with the connection)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.keep_alive = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._status = 0
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._started = False
        self._framed = False  # Content-Length or chunked: the end of the body is known

    def usable(self, now: float) -> bool:
        return not self.closed and now - self.idle_since < KEEPALIVE_TIMEOUT

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            raise _Disconnected()
        self._status, self._headers, self._chunks = 0, {}, []
        self._started = self._framed = False
        self.keep_alive = False
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        if len(body) < _BIG_BODY:
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        try:
            await waiter
        finally:
            self._waiter = None
        return self._status, self._headers, b"".join(self._chunks)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._finish(RuntimeError(f"The model server's answer is not valid HTTP: {error}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost settles the waiter

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._started and not self._framed:
            self._finish(None)  # the body was delimited by the end of the connection
        else:
            self._finish(_Disconnected(str(exc) if exc else "closed"))

    def _finish(self, error: BaseException | None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("utf-8", "surrogateescape").lower()
        self._headers[key] = value.decode("utf-8", "surrogateescape")
        if key in ("content-length", "transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._started = True

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        self._framed = True
        self._finish(None)


class _NotSent(Exception):
    pass


async def _still_alive(instance: Any) -> bool:
    for _ in range(5):
        if not instance.running:
            return False
        await asyncio.sleep(0.05)
    return instance.running


def _weighted(variants: list[Variant]) -> Variant:
    """A variant chosen with probability weight/total; variants with no healthy replica are skipped
    while another one can serve (weights all zero: the first variant that can)."""
    live = [v for v in variants if v.healthy_count] or variants
    total = sum(max(0.0, v.weight) for v in live)
    if total <= 0:
        return live[0]
    point = random.random() * total
    for variant in live:
        point -= max(0.0, variant.weight)
        if point < 0:
            return variant
    return live[-1]
