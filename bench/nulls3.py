"""A "null" S3 endpoint: the fastest server a boto3 client could talk to, for the client's own ceiling.

PUT bodies are read and thrown away (no hashing, no disk); GET answers ranges of one file with
``socket.sendfile`` (zero copy). Only what ``upload_file``/``download_file`` send is understood: PUT object,
the three multipart calls, HEAD and ranged GET. No signature is checked. ``bench/s3.py`` runs the same
tuned transfers against it, so "openmaker vs local copy" can be read next to "best possible vs local copy".
Loopback only; one thread per connection.
"""

from __future__ import annotations

import os
import re
import socket
import socketserver
import threading
from pathlib import Path

BUFFER = 4 * 1024 * 1024
ETAG = '"0123456789abcdef0123456789abcdef"'


class _Handler(socketserver.BaseRequestHandler):
    server: NullS3

    def handle(self) -> None:
        sock: socket.socket = self.request
        reader = sock.makefile("rb", buffering=BUFFER)
        while True:
            line = reader.readline()
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("expect", "").lower() == "100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._drain(reader, int(headers.get("content-length", "0")))
            self._answer(sock, method, target, headers)

    @staticmethod
    def _drain(reader, length: int) -> None:
        view = memoryview(bytearray(min(length, BUFFER) or 1))
        while length > 0:
            got = reader.readinto(view[: min(length, len(view))])
            if not got:
                raise ConnectionError("client closed mid-body")
            length -= got

    def _answer(self, sock: socket.socket, method: str, target: str, headers: dict[str, str]) -> None:
        size = self.server.path.stat().st_size
        if method == "POST" and "uploads" in target:
            body = (b"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>"
                    b"</InitiateMultipartUploadResult>")
            self._send(sock, 200, {"Content-Type": "application/xml"}, body)
        elif method == "POST":
            body = (b"<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>" + ETAG.encode()
                    + b"</ETag></CompleteMultipartUploadResult>")
            self._send(sock, 200, {"Content-Type": "application/xml"}, body)
        elif method == "PUT":
            self._send(sock, 200, {"ETag": ETAG}, b"")
        elif method == "HEAD":
            self._send(sock, 200, {"ETag": ETAG, "Content-Length-Override": str(size)}, b"")
        else:
            match = re.match(r"bytes=(\d+)-(\d*)", headers.get("range", ""))
            start, end = (int(match[1]), int(match[2] or size - 1)) if match else (0, size - 1)
            end = min(end, size - 1)
            length = end - start + 1
            status = 206 if match else 200
            extra = {"ETag": ETAG, "Content-Range": f"bytes {start}-{end}/{size}"} if match else {"ETag": ETAG}
            self._send(sock, status, {**extra, "Content-Length-Override": str(length)}, b"")
            with open(self.server.path, "rb") as f:
                sock.sendfile(f, start, length)

    @staticmethod
    def _send(sock: socket.socket, status: int, headers: dict[str, str], body: bytes) -> None:
        length = headers.pop("Content-Length-Override", str(len(body)))
        lines = [f"HTTP/1.1 {status} OK", f"Content-Length: {length}", "Last-Modified: Sat, 21 Nov 2026 00:00:00 GMT",
                 "Content-Type: application/octet-stream", *(f"{k}: {v}" for k, v in headers.items())]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


class NullS3(socketserver.ThreadingTCPServer):
    """Serves ``path`` for every GET; swallows every PUT. ``endpoint`` is its URL."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.path = Path(path)
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> NullS3:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
        self.server_close()


if __name__ == "__main__":  # a quick manual check: python bench/nulls3.py <file>
    import sys

    with NullS3(Path(sys.argv[1])) as null:
        print(null.endpoint, os.path.getsize(sys.argv[1]))
        threading.Event().wait()
