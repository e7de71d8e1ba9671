"""What every live transport shares: a hub subscriber that authenticates, replays what was
missed from storage, then streams live frames without gaps or duplicates.

Subclasses (WebSocket, SSE) add their framing and their way of closing.

States::

    HANDSHAKE -> AUTHENTICATING -> STARTING -> LIVE -> CLOSING -> CLOSED
                                      ^          |
                                      +- resume -+

While STARTING (after auth, and during a resume) live frames are held back and released,
without duplicates, once the replay from storage is written.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import logging
import weakref
from typing import Any, cast

from tocsin.auth.tokens import Principal
from tocsin.errors import StorageError
from tocsin.hub import Frame
from tocsin.protocol import envelopes
from tocsin.protocol.envelopes import Close
from tocsin.web.node import Node

logger = logging.getLogger("tocsin.transports")
REPLAY_PAGE = 500
MAX_HELD = 10_000
CLOSE_GRACE_SECONDS = 5.0
INTERNAL_ERROR = 1011


class State(enum.IntEnum):
    HANDSHAKE = 0
    AUTHENTICATING = 1
    STARTING = 2
    LIVE = 3
    CLOSING = 4
    CLOSED = 5


class LiveStream(asyncio.Protocol, abc.ABC):
    """One client connection that receives the user's frames."""

    __slots__ = (
        "_abort_timer",
        "_cursor",
        "_drain",
        "_expires_at",
        "_held",
        "_last_seen",
        "_low",
        "_outbox",
        "_streams",
        "_task",
        "node",
        "state",
        "transport",
        "user",
    )

    heartbeat: bytes  # the framed heartbeat, built once per class

    def __init__(self, node: Node, server_state: Any = None) -> None:
        self.node = node
        self._streams = None if server_state is None else OpenStreams.of(server_state, node)
        self.state = State.HANDSHAKE
        self.user = ""
        self.transport: asyncio.Transport | None = None
        self._expires_at = 0.0  # the session's end (seconds since the epoch), once authenticated
        self._outbox: list[bytes] | None = None  # what this tick queued (none: no list)
        self._held: list[Frame] | None = None  # live frames held back while STARTING
        self._cursor = 0  # everything for the user in (_low, _cursor] was sent here
        self._low = 0
        self._last_seen = 0.0  # set by the first bytes from the client
        self._abort_timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._drain: asyncio.Future[None] | None = None

    # Framing, provided by each transport

    @abc.abstractmethod
    def _framed(self, frame: Frame) -> bytes:
        """The bytes of a shared frame for this transport (cached on the frame)."""

    @abc.abstractmethod
    def _encode(self, payload: bytes, seq: int | None = None) -> bytes:
        """Frame a payload made for this connection only."""

    @abc.abstractmethod
    def _closing_bytes(self, code: int, reason: str) -> bytes:
        """What to write last before closing with ``code``."""

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self._streams is not None:
            self._streams.opened(self)

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = State.CLOSED
        self.node.hub.remove(self)
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._outbox = None
        self._held = None
        if self._streams is not None:
            self._streams.closed(self)

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def shutdown(self) -> None:
        """Server shutdown (called by uvicorn): ask the client to come back later."""
        self._close(1012, "server restarting")

    # Hub subscriber

    def send(self, frame: Frame) -> None:
        if self.state is State.LIVE:
            seq = frame.seq
            if seq is not None:
                if seq <= self._cursor:
                    return  # already sent by a replay
                if frame.parts and frame.first_seq is not None and frame.first_seq <= self._cursor:
                    for part in frame.parts:  # a run that a replay partly sent
                        self.send(part)
                    return
                self._cursor = seq
            self._queue(self._framed(frame))
        elif self.state is State.STARTING:
            held = self._held
            if held is None:
                held = self._held = []
            held.extend(frame.parts or (frame,))
            if len(held) > MAX_HELD:
                self._close(Close.SLOW_CONSUMER, "too many messages while resuming")

    def deliver(self, frame: Frame) -> None:
        seq = frame.seq
        if (
            self.state is not State.LIVE
            or self._outbox
            or seq is None
            or frame.first_seq is None
            or frame.first_seq <= self._cursor
        ):
            self.send(frame)  # queued behind what is pending, or partly a duplicate
            return
        self._cursor = seq
        self._write(self._framed(frame))

    def flush(self) -> None:
        outbox, self._outbox = self._outbox, None
        if not outbox or self.transport is None or self.state >= State.CLOSING:
            return
        self._write(outbox[0] if len(outbox) == 1 else b"".join(outbox))

    def _write(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(data)
        if (
            self.state is State.LIVE
            and transport.get_write_buffer_size() > self.node.settings.ws_max_buffer_bytes
        ):
            self._fail_slow()

    def tick(self, now: float, wall: float) -> None:
        if self.state is not State.LIVE:
            return
        if (
            now - self._last_seen > 2 * self.node.hub.heartbeat_seconds + 5
            and self._expects_input()
        ):
            self._close(Close.HEARTBEAT_TIMEOUT, "no data from the client")
        elif self._expires_at + 30 < wall:
            self._fail(Close.TOKEN_EXPIRED, "token_expired", "The token expired; reconnect.")
        else:
            self._queue(self.heartbeat)

    def _expects_input(self) -> bool:
        """Whether silence from the client means it is gone (true for WebSocket)."""
        return True

    # Session

    def _begin(self, principal: Principal, after: int | None) -> None:
        """Authenticated: subscribe at once (frames are held), then replay and go live."""
        self._expires_at = principal.expires_at  # the rest of the principal is not kept
        self.user = principal.user
        self.state = State.STARTING
        self.node.hub.add(self)
        if self._streams is not None:
            self._streams.authenticated(self)
        self._task = asyncio.get_running_loop().create_task(self._start(after))

    async def _start(self, after: int | None) -> None:
        try:
            upto, counts = await self.node.starts(self.user)
        except StorageError as exc:
            self._fail(INTERNAL_ERROR, exc.code, exc.message)
            return
        except Exception:
            logger.exception("starting a stream for %r failed", self.user)
            self._fail(INTERNAL_ERROR, "internal_error", "The server failed; reconnect later.")
            return
        if self.state is not State.STARTING:
            return  # closed meanwhile (shutdown, or too many frames held)
        ready = envelopes.ready(self.user, upto, counts, self.node.hub.heartbeat_seconds)
        if after is None:
            self._queue(self._encode(ready, upto))
            self._low = self._cursor = upto
            self._go_live()
        else:
            self._queue(self._encode(ready))
            self._low = self._cursor = after
            await self._replay_then_live(after, upto)

    def _resume(self, after: int) -> None:
        if self.state is not State.LIVE:
            self._error("busy", "A replay is already running on this connection.")
            return
        self.state = State.STARTING
        self._task = asyncio.get_running_loop().create_task(self._replay_then_live(after))

    async def _replay_then_live(self, after: int, upto: int | None = None) -> None:
        storage = self.node.storage
        low, high = self._low, self._cursor  # already sent on this connection: skip
        count = 0
        try:
            if upto is None:
                upto = await storage.current_seq()
            cursor = after
            while self.state is State.STARTING:
                items = await storage.replay(self.user, after=cursor, upto=upto, limit=REPLAY_PAGE)
                for item in items:
                    seq = item.event.seq
                    if not low < seq <= high:
                        self._queue(self._encode(envelopes.replayed_notification(item), seq))
                        count += 1
                if items:
                    cursor = items[-1].event.seq
                self.flush()
                if self._drain is not None:
                    await self._drain
                if len(items) < REPLAY_PAGE:
                    break
        except StorageError as exc:
            self._fail(INTERNAL_ERROR, exc.code, exc.message)
            return
        if self.state is not State.STARTING:
            return
        self._low = min(low, after)
        self._cursor = max(high, upto)
        self._queue(self._encode(envelopes.resumed(after, upto, count), upto))
        self._go_live()

    def _go_live(self) -> None:
        self._task = None  # done with it: a live connection keeps no task alive
        self.state = State.LIVE
        held, self._held = self._held, None
        for frame in held or ():
            self.send(frame)

    # Writing and closing

    def _queue(self, data: bytes) -> None:
        if self.state >= State.CLOSING:
            return
        if self._outbox is None:
            self._outbox = [data]
            self.node.hub.schedule(self)
        else:
            self._outbox.append(data)

    def _error(self, code: str, message: str) -> None:
        self._queue(self._encode(envelopes.error(code, message)))

    def _fail(self, close: int, code: str, message: str) -> None:
        """Send an error envelope, then close with ``close``."""
        self._error(code, message)
        self._close(close, code)

    def _fail_slow(self) -> None:
        self._close(Close.SLOW_CONSUMER, "slow consumer: resume from your last seq")

    def _close(self, code: int, reason: str) -> None:
        if self.state >= State.CLOSING:
            return
        if code != Close.SLOW_CONSUMER:
            self.flush()
            if self.state >= State.CLOSING:
                return  # the flush found a slow consumer and closed already
        self.state = State.CLOSING
        self.node.hub.remove(self)
        self._outbox = None
        self._held = None
        transport = self.transport
        if transport is None:
            return
        last = self._closing_bytes(code, reason)
        if last:
            transport.write(last)
        transport.close()
        self._abort_timer = asyncio.get_running_loop().call_later(
            CLOSE_GRACE_SECONDS, transport.abort
        )


class OpenStreams:
    """The streams of one uvicorn server, standing in its set of connections as one entry.

    uvicorn keeps that set to shut connections down and wait for them; an entry per idle
    stream would cost ~55 bytes each. Authenticated streams are found through the hub, so
    only the few still authenticating are held here. On shutdown every stream is asked to
    leave (1012), and the entry leaves the set once the last one has closed.
    """

    __slots__ = ("__weakref__", "_connections", "_hub", "_open", "_shutting_down", "_unknown")
    _by_server: weakref.WeakKeyDictionary[Any, OpenStreams] = weakref.WeakKeyDictionary()

    def __init__(self, connections: set[Any], node: Node) -> None:
        self._connections = connections
        self._hub = node.hub
        self._open = 0
        self._unknown: set[LiveStream] = set()  # not authenticated yet: not in the hub
        self._shutting_down = False

    @classmethod
    def of(cls, server_state: Any, node: Node) -> OpenStreams:
        """The entry of ``server_state`` (uvicorn's ServerState), made on first use."""
        streams = cls._by_server.get(server_state)
        if streams is None:
            streams = cls._by_server[server_state] = cls(server_state.connections, node)
        return streams

    def __len__(self) -> int:
        return self._open

    def opened(self, stream: LiveStream) -> None:
        self._open += 1
        self._unknown.add(stream)
        self._connections.add(self)

    def authenticated(self, stream: LiveStream) -> None:
        self._unknown.discard(stream)

    def closed(self, stream: LiveStream) -> None:
        self._open -= 1
        self._unknown.discard(stream)
        if self._shutting_down and self._open <= 0:
            self._connections.discard(self)

    def shutdown(self) -> None:
        """Server shutdown (called by uvicorn): every stream is asked to come back later."""
        self._shutting_down = True
        streams = [*self._unknown, *self._hub.subscribers()]
        for stream in streams:
            if isinstance(stream, LiveStream):
                stream.shutdown()
        if self._open <= 0:
            self._connections.discard(self)
