"""The load generator's clients: picows WebSockets speaking Tocsin's, Socket.IO's or a bare
protocol, plus idle SSE clients; every delivery is checked complete and in order.

Each message carries `i` (a per-stream counter: one stream per broadcast session, or one per
user for targeted messages) and `t` (the sender's `now_ns()`); a `Board` collects them.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import random
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

_T0 = time.monotonic_ns()
IP_BIND_ADDRESS_NO_PORT = 24  # Linux: pick the port at connect(), per 4-tuple
SOURCE_IPS = [f"127.0.{b}.{c}" for b in range(1, 4) for c in range(2, 250)]


def now_ns() -> int:
    """Monotonic nanoseconds since the generator started (small enough for JSON doubles)."""
    return time.monotonic_ns() - _T0


class Protocol(enum.Enum):
    TOCSIN = "tocsin"
    SOCKETIO = "socketio"
    PLAIN = "plain"


class HandshakeError(RuntimeError):
    """The server refused or did not finish a client's handshake."""


class Board:
    """Where every connection reports deliveries; re-armed for each measurement."""

    def __init__(self) -> None:
        self.expected = 0
        self.received = 0
        self.duplicates = 0
        self.gaps = 0
        self.latencies: list[int] = []
        self.done: asyncio.Future[int] | None = None
        self.last_rx = 0
        self.kicked = 0  # slow-consumer closes (4008)
        self.drops = 0  # connections closed by the server otherwise
        self.frame_bytes = 0  # size of the last notification frame seen

    def arm(self, expected: int) -> asyncio.Future[int]:
        self.expected = expected
        self.received = self.duplicates = self.gaps = self.kicked = self.drops = 0
        self.latencies = []
        self.done = asyncio.get_running_loop().create_future()
        if expected <= 0:
            self.done.set_result(now_ns())
        return self.done

    def expect(self, expected: int) -> None:
        """Change the expected count of an armed board (when it is known only later)."""
        self.expected = expected
        self._check()

    def _check(self) -> None:
        if self.received >= self.expected and self.done is not None and not self.done.done():
            self.done.set_result(self.last_rx)

    def deliver(self, conn: Conn, i: int, t: int) -> None:
        last = conn.last_i
        if i <= last:
            self.duplicates += 1
            return
        if i != last + 1:
            self.gaps += i - last - 1
        conn.last_i = i
        conn.count += 1
        self.received += 1
        rx = now_ns()
        self.last_rx = rx
        if conn.sample:
            self.latencies.append(rx - t)
        if self.received >= self.expected:
            self._check()


class Conn:
    """One client: who it is, where its stream stands, and its transport while connected."""

    __slots__ = (
        "after",
        "board",
        "close_code",
        "count",
        "last_i",
        "offset",
        "on_lost",
        "pid",
        "ready",
        "sample",
        "seq",
        "transport",
        "user",
    )

    def __init__(self, user: str, board: Board, *, sample: bool = False):
        self.user = user
        self.board = board
        self.sample = sample
        self.last_i = -1
        self.count = 0
        self.seq: int | None = None  # Tocsin: last seq received (the resume cursor)
        self.after: int | None = None  # Tocsin: cursor sent with the current auth
        self.pid: str | None = None  # Socket.IO connection state recovery
        self.offset: str | None = None
        self.transport: Any = None
        self.ready: asyncio.Future[None] | None = None
        self.close_code: int | None = None
        self.on_lost: Callable[[Conn], None] | None = None

    def _settle(self, exc: Exception | None = None) -> None:
        if self.ready is not None and not self.ready.done():
            if exc is None:
                self.ready.set_result(None)
            else:
                self.ready.set_exception(exc)

    def lost(self) -> None:
        self._settle(HandshakeError(f"{self.user}: closed during handshake ({self.close_code})"))
        self.transport = None
        if self.on_lost is not None:
            self.on_lost(self)


class _Listener(WSListener):  # type: ignore[misc]
    def __init__(self, conn: Conn, token_for: Callable[[str], str] | None):
        self.conn = conn
        self.token_for = token_for

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            self.on_text(transport, frame.get_payload_as_bytes())
        elif kind == WSMsgType.CLOSE:
            self.conn.close_code = frame.get_close_code()

    def on_text(self, transport: WSTransport, payload: bytes) -> None:
        raise NotImplementedError

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.conn.lost()


class _TocsinListener(_Listener):
    def on_ws_connected(self, transport: WSTransport) -> None:
        assert self.token_for is not None
        auth: dict[str, Any] = {"type": "auth", "token": self.token_for(self.conn.user)}
        if self.conn.after is not None:
            auth["after"] = self.conn.after
        transport.send(WSMsgType.TEXT, orjson.dumps(auth))

    def on_text(self, transport: WSTransport, payload: bytes) -> None:
        conn = self.conn
        msg = orjson.loads(payload)
        kind = msg.get("type")
        if kind == "notification":
            seq = msg["seq"]
            if conn.seq is None or seq > conn.seq:
                conn.seq = seq
            data = msg["notification"]["data"]
            conn.board.frame_bytes = len(payload)
            conn.board.deliver(conn, data["i"], data["t"])
        elif kind == "ready":
            if conn.seq is None:
                conn.seq = msg["seq"]
            if conn.after is None:
                conn._settle()
        elif kind == "resumed":
            conn._settle()
        elif kind == "error":
            conn._settle(HandshakeError(f"{conn.user}: {msg}"))


class _SocketIOListener(_Listener):
    """Engine.IO 4 / Socket.IO 5 over a bare WebSocket, default namespace."""

    def on_text(self, transport: WSTransport, payload: bytes) -> None:
        conn = self.conn
        head = payload[:2]
        if head == b"42":
            event = orjson.loads(payload[2:])
            if len(event) > 2:
                conn.offset = event[2]
            data = event[1]
            conn.board.frame_bytes = len(payload)
            conn.board.deliver(conn, data["i"], data["t"])
        elif payload == b"2":
            transport.send(WSMsgType.TEXT, b"3")
        elif head[:1] == b"0":
            auth: dict[str, Any] = {"user": conn.user}
            if conn.pid and conn.offset:
                auth.update(pid=conn.pid, offset=conn.offset)
            transport.send(WSMsgType.TEXT, b"40" + orjson.dumps(auth))
        elif head == b"40":
            conn.pid = orjson.loads(payload[2:]).get("pid") or conn.pid
            conn._settle()
        elif head == b"44":
            conn._settle(HandshakeError(f"{conn.user}: {payload[:200]!r}"))


class _PlainListener(_Listener):
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.conn._settle()

    def on_text(self, transport: WSTransport, payload: bytes) -> None:
        msg = orjson.loads(payload)
        self.conn.board.frame_bytes = len(payload)
        self.conn.board.deliver(self.conn, msg["i"], msg["t"])


_LISTENERS: dict[Protocol, type[_Listener]] = {
    Protocol.TOCSIN: _TocsinListener,
    Protocol.SOCKETIO: _SocketIOListener,
    Protocol.PLAIN: _PlainListener,
}


def _socket_factory(source_ip: str) -> Callable[[Any], socket.socket]:
    def make(_url: Any) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source_ip, 0))
        sock.setblocking(False)
        return sock

    return make


class Dialer:
    """Opens connections for one stack, spreading them over many loopback source addresses."""

    def __init__(
        self,
        protocol: Protocol,
        url_for: Callable[[str], str],
        token_for: Callable[[str], str] | None = None,
    ):
        self.listener = _LISTENERS[protocol]
        self.url_for = url_for
        self.token_for = token_for
        self._ips = itertools.cycle(random.sample(SOURCE_IPS, len(SOURCE_IPS)))

    async def open(self, conn: Conn, *, after: int | None = None, timeout: float = 30.0) -> None:
        """Connect and finish the handshake (auth/ready, Socket.IO connect, or resume)."""
        conn.after = after
        conn.close_code = None
        conn.ready = asyncio.get_running_loop().create_future()
        transport, _ = await ws_connect(
            lambda: self.listener(conn, self.token_for),
            self.url_for(conn.user),
            socket_factory=_socket_factory(next(self._ips)),
            websocket_handshake_timeout=timeout,
            read_buffer_init_size=2048,
            enable_auto_pong=True,
        )
        conn.transport = transport
        try:
            await asyncio.wait_for(conn.ready, timeout)
        except BaseException:
            transport.disconnect(graceful=False)
            raise

    async def open_all(
        self,
        conns: Iterable[Conn],
        *,
        concurrency: int = 256,
        after: bool = False,
        retries: int = 0,
        timeout: float = 30.0,
    ) -> int:
        """Open many connections, `concurrency` handshakes at a time; returns failures."""
        gate = asyncio.Semaphore(concurrency)
        failures = 0

        async def one(conn: Conn) -> None:
            nonlocal failures
            for attempt in range(retries + 1):
                async with gate:
                    try:
                        await self.open(conn, after=conn.seq if after else None, timeout=timeout)
                        return
                    except (TimeoutError, OSError, HandshakeError) as exc:
                        error = exc
                # full-jitter backoff, as a real client does
                await asyncio.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
            failures += 1
            if not retries:
                raise error

        await asyncio.gather(*(one(c) for c in conns))
        return failures


def close_all(conns: Iterable[Conn]) -> None:
    """Drop every open connection at once (TCP close, no WebSocket close handshake)."""
    for conn in conns:
        if conn.transport is not None:
            conn.on_lost = None
            conn.transport.disconnect(graceful=False)
            conn.transport = None


class _SseProtocol(asyncio.Protocol):
    """An idle SSE client: ready once the response headers say 200."""

    def __init__(self, request: bytes, ready: asyncio.Future[None]):
        self.request = request
        self.ready = ready
        self.head = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.ready.done():
            return  # idle clients do not parse events
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end >= 0:
            status = int(bytes(self.head[:end]).split(b" ", 2)[1])
            if status == 200:
                self.ready.set_result(None)
            else:
                self.ready.set_exception(SseUnavailable(status, bytes(self.head[:300])))
            self.head = bytearray()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("SSE connection closed before headers"))


class SseUnavailable(RuntimeError):
    """The server answered the SSE request with something other than 200."""

    def __init__(self, status: int, head: bytes):
        super().__init__(f"the SSE request answered HTTP {status}")
        self.status = status


async def open_sse(
    host: str, port: int, path: str, headers: dict[str, str], source_ip: str, timeout: float = 30
) -> asyncio.Transport:
    """Open one SSE stream and wait for its 200; returns the transport to close later."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n{extra}\r\n"
    ).encode()
    sock = _socket_factory(source_ip)(None)
    await loop.sock_connect(sock, (host, port))
    transport, _ = await loop.create_connection(lambda: _SseProtocol(request, ready), sock=sock)
    try:
        await asyncio.wait_for(ready, timeout)
    except BaseException:
        transport.close()
        raise
    return transport
