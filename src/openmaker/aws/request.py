"""The HTTP request as the protocol layer sees it, independent of the ASGI server."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from openmaker.aws.streams import RequestBody


@dataclass
class HttpRequest:
    method: str
    raw_path: str  # exactly as sent, percent-encoded, without the query string
    query_string: str  # raw, percent-encoded
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ","
    body: RequestBody
    scheme: str = "http"
    client: str | None = None
    request_id: str = ""  # set by the gateway; some error messages name it
    virtual_bucket: str | None = None  # S3 virtual-host style: the bucket named by the Host header
    _query: list[tuple[str, str]] | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def route_path(self) -> str:
        """The path operations are matched on (virtual-host S3 requests get their bucket back)."""
        if self.virtual_bucket:
            return f"/{self.virtual_bucket}{self.raw_path}"
        return self.raw_path

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    @property
    def query_list(self) -> list[tuple[str, str]]:
        if self._query is None:
            self._query = parse_qsl(self.query_string, keep_blank_values=True)
        return self._query

    @property
    def query(self) -> dict[str, str]:
        return dict(self.query_list)
