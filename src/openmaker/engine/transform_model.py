"""A transform job's side of the model servers: which instance gets a payload, the container chain of
a pipeline model, retries, and the errors that fail an input file.

The servers themselves are started by ``engine.hosting.instances`` (one process per container per
instance); this module only talks to them, through each server's blocking keep-alive client (one
connection per worker thread). A payload goes to instance ``n mod InstanceCount``, skipping
instances whose server has exited. A pipeline model's containers are called in order, each answer
and its content type feeding the next; only the last is sent the job's Accept.

Retries (``ModelClientConfig.InvocationsMaxRetries``, default 3) cover what a retry can fix: a
connection that failed while the server is alive, and 502/503/504. A model's own answer of 4xx or
500 is final: it fails the input file.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any

EXECUTION_PARAMETERS = ("MaxConcurrentTransforms", "MaxPayloadInMB", "BatchStrategy")
RETRY_STATUSES = (502, 503, 504)
MAX_MESSAGE = 500


class ModelError(Exception):
    """The model failed a request; ``status`` is its HTTP status (0: it could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def reason(self, file: str) -> str:
        """``ClientError`` for the model's 4xx (the data was refused), ``AlgorithmError`` otherwise."""
        kind = "ClientError" if 400 <= self.status < 500 else "AlgorithmError"
        how = f"the model answered HTTP {self.status}" if self.status else "the model server failed"
        return f"{kind}: {file}: {how}: {self}"


@dataclass
class Group:
    """One transform instance: a model server per container of the model (one, or a pipeline)."""

    instance_id: str
    stream: str
    servers: list[Any] = field(default_factory=list)


def _message(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text[:MAX_MESSAGE] + ("…" if len(text) > MAX_MESSAGE else "")


class ModelClient:
    """Sends payloads to a job's instances (see the module docstring)."""

    def __init__(
        self,
        groups: list[Group],
        content_type: str | None,
        accept: str | None,
        timeout: float,
        retries: int,
    ) -> None:
        self.groups = groups
        self.content_type = content_type
        self.accept = accept
        self.timeout = timeout
        self.retries = retries

    def call(self, body: bytes, sequence: int) -> tuple[bytes, str | None]:
        """The final answer and its content type for one payload."""
        group = self._pick(sequence)
        content_type = self.content_type
        for index, server in enumerate(group.servers):
            last = index == len(group.servers) - 1
            accept = self.accept if last else None
            body, answered = self._invoke(server, body, content_type, accept)
            content_type = answered or (accept if last else content_type)
        return body, content_type

    def execution_parameters(self) -> dict[str, Any]:
        """What the first container answers on ``GET /execution-parameters`` (``{}`` if nothing)."""
        server = self.groups[0].servers[0]
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            connection.request("GET", "/execution-parameters")
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                return {}
            value = json.loads(body)
            return {k: value[k] for k in EXECUTION_PARAMETERS if k in value}
        except (OSError, ValueError, http.client.HTTPException, TypeError):
            return {}
        finally:
            connection.close()

    def _pick(self, sequence: int) -> Group:
        count = len(self.groups)
        for offset in range(count):
            group = self.groups[(sequence + offset) % count]
            if group.servers and all(s.healthy() for s in group.servers):
                return group
        tail = next((s.stderr_tail() for g in self.groups for s in g.servers if s.stderr_tail()), "")
        raise ModelError(0, "every model server of the job has exited" + (f": {tail}" if tail else ""))

    def _invoke(
        self, server: Any, body: bytes, content_type: str | None, accept: str | None
    ) -> tuple[bytes, str | None]:
        attempt = 0
        while True:
            try:
                result = server.invoke(body, content_type, accept, timeout=self.timeout)
            except (OSError, http.client.HTTPException) as exc:
                if attempt >= self.retries or not server.healthy():
                    raise ModelError(0, f"the request failed: {exc}") from exc
            else:
                if result.status < 400:
                    return result.body, result.content_type
                if result.status not in RETRY_STATUSES or attempt >= self.retries:
                    raise ModelError(result.status, _message(result.body) or "(no message)")
            attempt += 1
            time.sleep(min(0.1 * 2**attempt, 2.0))
