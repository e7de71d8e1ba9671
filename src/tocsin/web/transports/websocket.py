"""The WebSocket endpoint ``/v1/ws`` as a raw asyncio protocol.

uvicorn parses the HTTP request and hands the upgraded socket to this class, so the
real-time path never goes through ASGI: frames are built once (see ``hub.Frame``) and
written with one ``transport.write`` per connection per loop tick.

Lifecycle (``State``)::

    HANDSHAKE -> AUTHENTICATING -> STARTING -> LIVE -> CLOSING -> CLOSED
                                      ^          |
                                      +- resume -+

While STARTING (after auth, and during a resume) live frames are held back and released,
without duplicates, once the replay from storage is written.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from typing import Any, cast

from tocsin.auth.tokens import Principal
from tocsin.errors import StorageError, TocsinError
from tocsin.hub import Frame
from tocsin.protocol import envelopes, handshake, websocket
from tocsin.protocol.envelopes import Auth, Close, Ping, Pong, ProtocolError, Resume
from tocsin.web.node import Node
from tocsin.web.origins import origin_allowed

logger = logging.getLogger("tocsin.ws")

PATH = "/v1/ws"
SUBPROTOCOL = "tocsin.v1"
TOKEN_SUBPROTOCOL = "tocsin.token."
MAX_HEAD = 16_384
REPLAY_PAGE = 500
MAX_HELD = 10_000
MAX_BAD_MESSAGES = 10
CLOSE_GRACE_SECONDS = 5.0
HEARTBEAT = websocket.ping_frame() + websocket.text_frame(envelopes.PING)
PONG = websocket.text_frame(envelopes.PONG)


class State(enum.IntEnum):
    HANDSHAKE = 0
    AUTHENTICATING = 1
    STARTING = 2
    LIVE = 3
    CLOSING = 4
    CLOSED = 5


class WebSocketConnection(asyncio.Protocol):
    """One client connection. Created by uvicorn (``config.ws``) for every upgrade."""

    __slots__ = (
        "_abort_timer",
        "_allowance",
        "_allowance_at",
        "_bad_messages",
        "_cursor",
        "_drain",
        "_head",
        "_held",
        "_last_seen",
        "_low",
        "_outbox",
        "_parser",
        "_principal",
        "_server_state",
        "_task",
        "_timer",
        "node",
        "state",
        "transport",
        "user",
    )

    def __init__(self, node: Node, **uvicorn: Any) -> None:
        self.node = node
        self._server_state = uvicorn.get("server_state")
        self.state = State.HANDSHAKE
        self.user = ""
        self.transport: asyncio.Transport | None = None
        self._head = b""
        self._parser: websocket.FrameParser | None = None
        self._principal: Principal | None = None
        self._outbox: list[bytes] = []
        self._held: list[Frame] = []
        self._cursor = 0  # everything for the user in (_low, _cursor] was sent here
        self._low = 0
        self._last_seen = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._abort_timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._allowance = 0.0
        self._allowance_at = 0.0
        self._bad_messages = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self._server_state is not None:
            self._server_state.connections.add(self)
        self._timer = asyncio.get_running_loop().call_later(
            self.node.settings.auth_timeout_seconds, self._auth_timed_out
        )

    def data_received(self, data: bytes) -> None:
        self._last_seen = time.monotonic()
        if self.state is State.HANDSHAKE:
            self._handshake(data)
            return
        parser = self._parser
        if parser is None or self.state >= State.CLOSING:
            return
        try:
            messages = parser.feed(data)
        except websocket.FrameError as exc:
            self._close(exc.code, exc.reason)
            return
        for message in messages:
            self._on_message(message)
            if self.state >= State.CLOSING:
                return

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = State.CLOSED
        self.node.hub.remove(self)
        for handle in (self._timer, self._abort_timer):
            if handle is not None:
                handle.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._outbox.clear()
        self._held.clear()
        if self._server_state is not None:
            self._server_state.connections.discard(self)

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # uvicorn

    def shutdown(self) -> None:
        """Server shutdown: ask the client to come back later."""
        self._close(websocket.CloseCode.SERVICE_RESTART, "server restarting")

    # Hub subscriber

    def send(self, frame: Frame) -> None:
        if self.state is State.LIVE:
            seq = frame.seq
            if seq is not None:
                if seq <= self._cursor:
                    return  # already sent by a replay
                self._cursor = seq
            self._queue(frame.ws)
        elif self.state is State.STARTING:
            if len(self._held) >= MAX_HELD:
                self._close(Close.SLOW_CONSUMER, "too many messages while resuming")
                return
            self._held.append(frame)

    def flush(self) -> None:
        transport = self.transport
        outbox = self._outbox
        if not outbox or transport is None or self.state >= State.CLOSING:
            outbox.clear()
            return
        transport.write(outbox[0] if len(outbox) == 1 else b"".join(outbox))
        outbox.clear()
        if (
            self.state is State.LIVE
            and transport.get_write_buffer_size() > self.node.settings.ws_max_buffer_bytes
        ):
            self._close(Close.SLOW_CONSUMER, "slow consumer: resume from your last seq")

    def tick(self, now: float, wall: float) -> None:
        if self.state is not State.LIVE:
            return
        if now - self._last_seen > 2 * self.node.hub.heartbeat_seconds + 5:
            self._close(Close.HEARTBEAT_TIMEOUT, "no data from the client")
        elif self._principal is not None and self._principal.expires_at + 30 < wall:
            self._fail(Close.TOKEN_EXPIRED, "token_expired", "The token expired; reconnect.")
        else:
            self._queue(HEARTBEAT)

    # Handshake

    def _handshake(self, data: bytes) -> None:
        self._head += data
        split = handshake.split_head(self._head)
        if split is None:
            if len(self._head) > MAX_HEAD:
                self._reject(handshake.HandshakeError(431, "bad_request", "Headers too large."))
            return
        head, rest = split
        self._head = b""
        try:
            request = handshake.parse_request_head(head)
            if request.path != PATH:
                raise handshake.HandshakeError(404, "not_found", "No WebSocket endpoint here.")
            key = handshake.validate_upgrade(request)
            settings = self.node.settings
            if not origin_allowed(
                request.headers.get("origin"), request.headers.get("host"), settings.allowed_origins
            ):
                raise handshake.HandshakeError(
                    403, "origin_not_allowed", "This Origin may not connect."
                )
        except handshake.HandshakeError as exc:
            self._reject(exc)
            return
        offered = handshake.offered_subprotocols(request)
        token = next(
            (p[len(TOKEN_SUBPROTOCOL) :] for p in offered if p.startswith(TOKEN_SUBPROTOCOL)), None
        )
        assert self.transport is not None
        self.transport.write(
            handshake.accept_response(key, SUBPROTOCOL if SUBPROTOCOL in offered else None)
        )
        self.state = State.AUTHENTICATING
        self._parser = websocket.FrameParser(settings.ws_max_message_bytes)
        if token:
            self._authenticate(Auth(token=token))
        if rest and self.state < State.CLOSING:
            self.data_received(rest)

    def _reject(self, exc: handshake.HandshakeError) -> None:
        assert self.transport is not None
        self.state = State.CLOSING
        self.transport.write(
            handshake.reject_response(exc.status, exc.code, exc.message, exc.headers)
        )
        self.transport.close()

    # Messages

    def _on_message(self, message: websocket.Message) -> None:
        opcode = message.opcode
        if opcode is websocket.Opcode.TEXT:
            self._on_text(message.data)
        elif opcode is websocket.Opcode.PING:
            self._queue(websocket.pong_frame(message.data))
        elif opcode is websocket.Opcode.CLOSE:
            try:
                code, _ = websocket.parse_close_payload(message.data)
            except websocket.FrameError as exc:
                self._close(exc.code, exc.reason)
                return
            self._close(code if code is not None else websocket.CloseCode.NORMAL, "")
        elif opcode is websocket.Opcode.BINARY:
            self._close(websocket.CloseCode.UNSUPPORTED_DATA, "binary frames are not supported")

    def _on_text(self, data: bytes) -> None:
        if not self._allow_message():
            self._close(Close.RATE_LIMITED, "too many messages")
            return
        try:
            message = envelopes.parse_client_message(data)
        except ProtocolError as exc:
            if self.state is State.AUTHENTICATING:
                self._fail(Close.UNAUTHORIZED, exc.code, exc.message)
                return
            self._bad_messages += 1
            if self._bad_messages > MAX_BAD_MESSAGES:
                self._fail(Close.INVALID_MESSAGE, exc.code, exc.message)
            else:
                self._queue(websocket.text_frame(envelopes.error(exc.code, exc.message)))
            return
        if self.state is State.AUTHENTICATING:
            if isinstance(message, Auth):
                self._authenticate(message)
            else:
                self._fail(Close.UNAUTHORIZED, "auth_required", "Send auth first.")
        elif isinstance(message, Ping):
            self._queue(PONG)
        elif isinstance(message, Pong):
            pass
        elif isinstance(message, Resume):
            self._resume(message.after)
        else:
            self._error("already_authenticated", "This connection is already authenticated.")

    def _allow_message(self) -> bool:
        rate = self.node.settings.ws_messages_per_second
        now = time.monotonic()
        self._allowance = min(2 * rate, self._allowance + (now - self._allowance_at) * rate)
        if self._allowance_at == 0.0:
            self._allowance = 2 * rate
        self._allowance_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    def _authenticate(self, auth: Auth) -> None:
        try:
            principal = self.node.tokens.verify(auth.token)
        except TocsinError as exc:
            self._fail(Close.UNAUTHORIZED, exc.code, exc.message)
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._principal = principal
        self.user = principal.user
        self.state = State.STARTING
        self.node.hub.add(self)
        self._task = asyncio.get_running_loop().create_task(self._start(auth.after))

    def _resume(self, after: int) -> None:
        if self.state is not State.LIVE:
            self._error("busy", "A replay is already running on this connection.")
            return
        self.state = State.STARTING
        self._task = asyncio.get_running_loop().create_task(self._replay_then_live(after))

    async def _start(self, after: int | None) -> None:
        storage = self.node.storage
        try:
            upto = await storage.current_seq()
            counts = await storage.counts(self.user, now=int(time.time() * 1000))
        except StorageError as exc:
            self._fail(websocket.CloseCode.INTERNAL_ERROR, exc.code, exc.message)
            return
        self._queue(
            websocket.text_frame(
                envelopes.ready(self.user, upto, counts, self.node.hub.heartbeat_seconds)
            )
        )
        if after is None:
            self._low = self._cursor = upto
            self._go_live()
        else:
            self._low = self._cursor = after
            await self._replay_then_live(after, upto)

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
                        self._queue(websocket.text_frame(envelopes.replayed_notification(item)))
                        count += 1
                if items:
                    cursor = items[-1].event.seq
                self.flush()
                if self._drain is not None:
                    await self._drain
                if len(items) < REPLAY_PAGE:
                    break
        except StorageError as exc:
            self._fail(websocket.CloseCode.INTERNAL_ERROR, exc.code, exc.message)
            return
        if self.state is not State.STARTING:
            return
        self._low = min(low, after)
        self._cursor = max(high, upto)
        self._queue(websocket.text_frame(envelopes.resumed(after, upto, count)))
        self._go_live()

    def _go_live(self) -> None:
        self.state = State.LIVE
        held, self._held = self._held, []
        for frame in held:
            self.send(frame)

    # Writing and closing

    def _queue(self, data: bytes) -> None:
        if self.state >= State.CLOSING:
            return
        if not self._outbox:
            self.node.hub.schedule(self)
        self._outbox.append(data)

    def _error(self, code: str, message: str) -> None:
        self._queue(websocket.text_frame(envelopes.error(code, message)))

    def _fail(self, close: int, code: str, message: str) -> None:
        """Send an error frame, then close with ``close``."""
        self._error(code, message)
        self._close(close, code)

    def _close(self, code: int, reason: str) -> None:
        if self.state >= State.CLOSING:
            return
        transport = self.transport
        slow = code == Close.SLOW_CONSUMER
        if not slow:
            self.flush()
            if self.state >= State.CLOSING:
                return  # the flush found a slow consumer and closed already
        self.state = State.CLOSING
        self.node.hub.remove(self)
        self._outbox.clear()
        self._held.clear()
        if transport is None:
            return
        try:
            frame = websocket.close_frame(code, reason)
        except ValueError:
            frame = websocket.close_frame(websocket.CloseCode.PROTOCOL_ERROR)
        transport.write(frame)
        transport.close()
        self._abort_timer = asyncio.get_running_loop().call_later(
            CLOSE_GRACE_SECONDS, transport.abort
        )

    def _auth_timed_out(self) -> None:
        self._timer = None
        if self.state is State.HANDSHAKE:
            assert self.transport is not None
            self.transport.abort()
        elif self.state is State.AUTHENTICATING:
            self._fail(Close.AUTH_TIMEOUT, "auth_timeout", "No auth message in time.")
