"""Raw, hand-built HTTP requests to the server — signed with botocore's signers or not at all — for
tests that must send what a well-behaved client never would."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def send(
    endpoint: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    sign: tuple[str, str] | None = None,
    service: str = "s3",
    timeout: float = 30,
) -> Reply:
    """Send one request; ``sign=(key, secret)`` signs it with SigV4 for ``service`` first."""
    url = endpoint + path
    headers = dict(headers or {})
    if sign is not None:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(Credentials(*sign), service, REGION).add_auth(request)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
