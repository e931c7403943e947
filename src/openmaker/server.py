"""The ASGI application: one port for every AWS service openmaker speaks.

Requests stream in and out (no body is held in memory unless its protocol needs it); everything
AWS-specific happens in :mod:`openmaker.aws` and the service handlers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from openmaker import __version__
from openmaker.aws.context import Credential, Principal
from openmaker.aws.dispatch import Gateway
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.serializers import HttpResponse
from openmaker.aws.streams import FileBody, IterBody, RequestBody
from openmaker.config import Settings
from openmaker.credentials import RootCredentials, ensure_root_credentials
from openmaker.storage.db import Database

log = logging.getLogger("openmaker.server")

_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_S3_HOST = re.compile(r"^(?P<bucket>.+?)\.s3([.-][a-z0-9-]+)?\.amazonaws\.com$")


@dataclass
class AppState:
    """Everything handlers reach through ``ctx.app``."""

    settings: Settings
    db: Database
    root: RootCredentials
    objects: Any
    iam: Any
    logs: Any
    jobs: Any = None
    metrics: Any = None
    engine: Any = None


def open_state(settings: Settings) -> AppState:
    """Open (and migrate) the stores under the data directory."""
    from openmaker.engine.engine import Engine
    from openmaker.storage.iam import IamStore
    from openmaker.storage.jobs import JobStore
    from openmaker.storage.logs import LogStore
    from openmaker.storage.metrics import MetricStore
    from openmaker.storage.objects import ObjectStore

    settings.home.mkdir(parents=True, exist_ok=True)
    root = ensure_root_credentials(settings.credentials_file)
    db = Database(settings.db_url)
    db.migrate()
    objects = ObjectStore(db, settings.objects_dir, fsync=settings.fsync)
    objects.sweep()
    iam = IamStore(db, settings.account_id)
    iam.ensure_defaults()
    logs = LogStore(db, settings.region, settings.account_id)
    jobs = JobStore(db, settings.account_id, settings.region)
    metrics = MetricStore(db, settings.account_id, settings.region)
    state = AppState(settings, db, root, objects, iam, logs, jobs, metrics)
    state.engine = Engine(state)
    return state


def credential_lookup(state: AppState):
    """access key id → Credential: the root pair first, then IAM users' keys and STS sessions."""
    account = state.settings.account_id
    root = Credential(
        state.root.secret_access_key,
        Principal(state.root.access_key_id, f"arn:aws:iam::{account}:root", account, account),
    )

    def lookup(access_key_id: str) -> Credential | None:
        if access_key_id == state.root.access_key_id:
            return root
        found = state.iam.lookup_access_key(access_key_id)
        if found is None:
            return None
        return Credential(
            found.secret_access_key,
            Principal(access_key_id, found.arn, found.account_id, found.user_id, found.session_token),
            session_token=found.session_token,
            expiration=found.expiration,
        )

    return lookup


class OpenmakerApp:
    """ASGI entry point. Starts the stores on lifespan start-up and answers every request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state: AppState | None = None
        self.gateway: Gateway | None = None

    def start(self) -> None:
        import openmaker.services  # noqa: F401  (registers every handler)

        self.state = open_state(self.settings)
        lookup = credential_lookup(self.state)
        root = lookup(self.state.root.access_key_id)
        self.gateway = Gateway(
            self.state,
            lookup,
            default_principal=root.principal if root else None,
            region=self.settings.region,
            account_id=self.settings.account_id,
            insecure=self.settings.insecure,
        )
        self.state.engine.start()

    def stop(self) -> None:
        if self.state is not None:
            self.state.engine.shutdown()
            self.state.db.dispose()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/_openmaker/"):
            await self._internal(scope, send)
            return
        assert self.gateway is not None, "the server has not started"
        body = _Receiver(receive)
        request = self._request(scope, body)
        response = await self.gateway.handle(request)
        if not body.done and not await body.drain(DRAIN_LIMIT):
            # Unread bytes would be parsed as the next request on this keep-alive connection.
            response.headers["connection"] = "close"
        await _send(send, response, head=scope["method"] == "HEAD")

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.start()
                except Exception as error:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _internal(self, scope: dict, send: Any) -> None:
        if scope["path"] == "/_openmaker/health" and self.state is not None:
            body = json.dumps({"status": "ok", "version": __version__}).encode()
            await _send(send, HttpResponse(200, {"content-type": "application/json"}, body))
        else:
            await _send(send, HttpResponse(404, {"content-type": "application/json"}, b'{"status":"not found"}'))

    def _request(self, scope: dict, receiver: _Receiver) -> HttpRequest:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        raw_path = scope.get("raw_path")
        raw_path = raw_path.decode("latin-1") if raw_path else scope["path"]
        raw_path = raw_path.split("?", 1)[0]
        length = headers.get("content-length")
        body = RequestBody(receiver.chunks(), int(length) if length and length.isdigit() else None)
        client = scope.get("client")
        return HttpRequest(
            method=scope["method"],
            raw_path=raw_path,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            scheme=scope.get("scheme", "http"),
            client=client[0] if client else None,
            virtual_bucket=self._virtual_bucket(headers.get("host", "")),
        )

    def _virtual_bucket(self, host: str) -> str | None:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not name or _IP.match(name) or name.startswith("[") or name in ("localhost", self.settings.host):
            return None
        if name.endswith(".localhost"):
            return name[: -len(".localhost")]
        match = _S3_HOST.match(name)
        if match:
            return match.group("bucket")
        if self.settings.host not in ("127.0.0.1", "0.0.0.0", "localhost") and name.endswith("." + self.settings.host):
            return name[: -len(self.settings.host) - 1]
        return None


DRAIN_LIMIT = 1024 * 1024


class _Receiver:
    """The raw request body from ASGI ``receive``; remembers whether it was read to the end."""

    def __init__(self, receive: Any) -> None:
        self._receive = receive
        self.done = False
        self.disconnected = False

    async def _next(self) -> bytes | None:
        if self.done:
            return None
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.done = self.disconnected = True
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
        if not message.get("more_body", False):
            self.done = True
        return message.get("body", b"")

    def chunks(self) -> AsyncIterator[bytes]:
        return _Chunks(self)

    async def drain(self, limit: int) -> bool:
        """Read and drop what is left of the body, up to ``limit`` bytes; True if it all went."""
        seen = 0
        try:
            while not self.done and seen <= limit:
                seen += len(await self._next() or b"")
        except AwsError:
            return False
        return self.done and not self.disconnected


class _Chunks:
    """The non-empty chunks of a :class:`_Receiver` (a plain async iterator: cheaper per request
    than an async generator, which the event loop has to track)."""

    __slots__ = ("_receiver",)

    def __init__(self, receiver: _Receiver) -> None:
        self._receiver = receiver

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        receiver = self._receiver
        while not receiver.done:
            chunk = await receiver._next()
            if chunk:
                return chunk
        raise StopAsyncIteration


async def _send(send: Any, response: HttpResponse, head: bool = False) -> None:
    body = response.body
    headers = dict(response.headers)
    if isinstance(body, bytes | bytearray):
        headers.setdefault("content-length", str(len(body)))
    elif isinstance(body, FileBody) or (isinstance(body, IterBody) and body.size() is not None):
        headers.setdefault("content-length", str(body.size()))
    if head:
        headers.setdefault("content-length", "0")
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.encode("latin-1"), _header_bytes(v)) for k, v in headers.items()],
        }
    )
    if head or isinstance(body, bytes | bytearray):
        if isinstance(body, FileBody) and body.on_close:
            body.on_close()
        await send({"type": "http.response.body", "body": b"" if head else bytes(body)})
        return
    async for chunk in body.chunks():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _header_bytes(value: object) -> bytes:
    text = str(value)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
