"""The WebSocket endpoint ``/v1/ws`` as a raw asyncio protocol.

uvicorn parses the HTTP request and hands the upgraded socket to this class, so the
real-time path never goes through ASGI: frames are built once (see ``hub.Frame``) and
written with one ``transport.write`` per connection per loop tick.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tocsin.errors import TocsinError
from tocsin.hub import Frame
from tocsin.protocol import envelopes, handshake, websocket
from tocsin.protocol.envelopes import Auth, Close, Ping, Pong, ProtocolError, Resume
from tocsin.web.node import Node
from tocsin.web.origins import origin_allowed
from tocsin.web.transports.stream import LiveStream, State

PATH = "/v1/ws"
SUBPROTOCOL = "tocsin.v1"
TOKEN_SUBPROTOCOL = "tocsin.token."
MAX_HEAD = 16_384
MAX_BAD_MESSAGES = 10
PONG = websocket.text_frame(envelopes.PONG)


class WebSocketConnection(LiveStream):
    """One WebSocket client. Created by uvicorn (``config.ws``) for every upgrade."""

    __slots__ = ("_allowance", "_allowance_at", "_auth_timer", "_bad_messages", "_head", "_parser")

    heartbeat = websocket.ping_frame() + websocket.text_frame(envelopes.PING)

    def __init__(self, node: Node, **uvicorn: Any) -> None:
        super().__init__(node, uvicorn.get("server_state"))
        self._head = b""
        self._parser: websocket.FrameParser | None = None
        self._auth_timer: asyncio.TimerHandle | None = None
        self._allowance = 0.0
        self._allowance_at = 0.0
        self._bad_messages = 0

    def _framed(self, frame: Frame) -> bytes:
        return frame.ws

    def _encode(self, payload: bytes, seq: int | None = None) -> bytes:
        return websocket.text_frame(payload)

    def _closing_bytes(self, code: int, reason: str) -> bytes:
        try:
            return websocket.close_frame(code, reason)
        except ValueError:
            return websocket.close_frame(websocket.CloseCode.PROTOCOL_ERROR)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._auth_timer = asyncio.get_running_loop().call_later(
            self.node.settings.auth_timeout_seconds, self._auth_timed_out
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        super().connection_lost(exc)

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
        settings = self.node.settings
        try:
            request = handshake.parse_request_head(head)
            if request.path != PATH:
                raise handshake.HandshakeError(404, "not_found", "No WebSocket endpoint here.")
            key = handshake.validate_upgrade(request)
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
                self._error(exc.code, exc.message)
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
        """A token bucket: ``ws_messages_per_second``, bursts of twice that."""
        rate = self.node.settings.ws_messages_per_second
        now = time.monotonic()
        if self._allowance_at == 0.0:
            self._allowance = 2 * rate
        else:
            self._allowance = min(2 * rate, self._allowance + (now - self._allowance_at) * rate)
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
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self._begin(principal, auth.after)

    def _auth_timed_out(self) -> None:
        self._auth_timer = None
        if self.state is State.HANDSHAKE:
            assert self.transport is not None
            self.transport.abort()
        elif self.state is State.AUTHENTICATING:
            self._fail(Close.AUTH_TIMEOUT, "auth_timeout", "No auth message in time.")
