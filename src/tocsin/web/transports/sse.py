"""Server-Sent Events at ``/v1/sse`` as a raw asyncio protocol.

``web.transports.http.HttpProtocol`` hands the socket over once the request head is parsed,
so a live SSE client costs a small object and no ASGI task. Each event's ``id`` is the seq;
a reconnect with ``Last-Event-ID`` (or ``?last_event_id=``) replays what was missed.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from tocsin.errors import TocsinError
from tocsin.hub import Frame
from tocsin.protocol import envelopes, handshake, sse
from tocsin.protocol.envelopes import ProtocolError
from tocsin.web.origins import origin_allowed
from tocsin.web.transports.stream import LiveStream, State

PATH = "/v1/sse"
logger = logging.getLogger("tocsin.access")

HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache, no-store, no-transform\r\n"
    b"x-accel-buffering: no\r\n"
    b"connection: close\r\n"
)


class SseConnection(LiveStream):
    """One EventSource client; input from it is ignored."""

    __slots__ = ()

    heartbeat = sse.event(envelopes.PING)

    def _framed(self, frame: Frame) -> bytes:
        return frame.sse

    def _encode(self, payload: bytes, seq: int | None = None) -> bytes:
        return sse.event(payload, seq)

    def _closing_bytes(self, code: int, reason: str) -> bytes:
        return b""

    def _expects_input(self) -> bool:
        return False

    @staticmethod
    def data_received(data: bytes) -> None:
        """Input from an EventSource client is ignored. A plain function, not a method: the
        event loop keeps the transport's ``data_received`` for the connection's life, and a
        bound method would be one more object (64 bytes) per stream."""

    def start(self, headers: dict[str, str], query_string: str) -> None:
        """Check the request, redeem the ticket, answer, then stream."""
        self.state = State.AUTHENTICATING
        self._task = asyncio.get_running_loop().create_task(self._open(headers, query_string))

    async def _open(self, headers: dict[str, str], query_string: str) -> None:
        query = parse_qs(query_string, keep_blank_values=True)
        origin = headers.get("origin")
        allowed = self.node.settings.allowed_origins
        try:
            if not origin_allowed(origin, headers.get("host"), allowed):
                raise handshake.HandshakeError(
                    403, "origin_not_allowed", "This Origin may not connect."
                )
            header_id = headers.get("last-event-id")
            after = sse.parse_cursor(
                header_id if header_id is not None else _one(query, "last_event_id"),
                "Last-Event-ID",
            )
            principal = await self.node.tickets.redeem(_one(query, "ticket"))
        except handshake.HandshakeError as exc:
            self._answer_error(exc.status, exc.code, exc.message)
            return
        except ProtocolError as exc:
            self._answer_error(400, exc.code, exc.message)
            return
        except TocsinError as exc:
            self._answer_error(exc.status, exc.code, exc.message)
            return
        if self.state is not State.AUTHENTICATING or self.transport is None:
            return
        head = HEAD
        if origin and allowed:
            value = "*" if "*" in allowed else origin.strip().rstrip("/")
            if value == "*" or value in allowed:
                head += (
                    b"access-control-allow-origin: "
                    + value.encode("latin-1")
                    + b"\r\nvary: origin\r\n"
                )
        self.transport.write(head + b"\r\n" + sse.retry())
        logger.debug("GET %s 200 (sse, user %s)", PATH, principal.user)
        self._begin(principal, after)

    def _answer_error(self, status: int, code: str, message: str) -> None:
        logger.info("GET %s %d %s", PATH, status, code)
        if self.transport is None or self.state >= State.CLOSING:
            return
        self.state = State.CLOSING
        extra = [("WWW-Authenticate", "Bearer")] if status == 401 else []
        self.transport.write(handshake.reject_response(status, code, message, extra))
        self.transport.close()


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None
