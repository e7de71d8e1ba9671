"""A small keep-alive HTTP/1.1 client for publishing: one request in flight per connection.

Cheaper than a general-purpose client, so the generator's core is spent on deliveries.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson


class HttpError(RuntimeError):
    """A request answered with a status outside 2xx, or a broken response."""

    def __init__(self, status: int, body: bytes):
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed before the response"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        parsed = _parse(self.buf)
        if parsed is not None and self.waiter and not self.waiter.done():
            status, body, used = parsed
            del self.buf[:used]
            self.waiter.set_result((status, body))


def _parse(buf: bytearray) -> tuple[int, bytes, int] | None:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    start = end + 4
    if "content-length" in headers:
        length = int(headers["content-length"])
        if len(buf) < start + length:
            return None
        return status, bytes(buf[start : start + length]), start + length
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        pos = start
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
            pos = line_end + 2
            if len(buf) < pos + size + 2:
                return None
            if size == 0:
                return status, bytes(body), pos + 2
            body += buf[pos : pos + size]
            pos += size + 2
    return status, b"", start  # no body (204, or a status without one)


class HttpConnection:
    """One keep-alive connection to `host:port`, reconnecting if the server closed it."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None):
        self.host = host
        self.port = port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {host}:{port}\r\n{extra}"
        self._proto: _Protocol | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(_Protocol, self.host, self.port)
        return proto

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request; returns (status, body); raises HttpError unless 2xx."""
        payload = b"" if body is None else orjson.dumps(body)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        data = (
            f"{method} {path} HTTP/1.1\r\n{self._head}{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        for attempt in range(2):
            if self._proto is None or self._proto.closed:
                self._proto = await self._connect()
            proto = self._proto
            proto.waiter = asyncio.get_running_loop().create_future()
            assert proto.transport is not None
            proto.transport.write(data)
            try:
                status, answer = await proto.waiter
                break
            except ConnectionError:
                self._proto = None
                if attempt:
                    raise
        if not 200 <= status < 300:
            raise HttpError(status, answer)
        return status, answer

    async def post(self, path: str, body: Any) -> Any:
        """POST JSON, return the decoded JSON answer (None if empty)."""
        _, answer = await self.request("POST", path, body)
        return orjson.loads(answer) if answer else None

    def close(self) -> None:
        if self._proto and self._proto.transport:
            self._proto.transport.close()
        self._proto = None
