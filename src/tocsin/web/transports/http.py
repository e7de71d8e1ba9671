"""uvicorn's HTTP protocol, taught two shortcuts around ASGI for the hot paths:

- ``GET /v1/sse`` hands the socket to the raw SSE stream;
- ``POST /v1/notifications`` (and ``/batch``) is answered by ``transports.publish``.

Every other request goes through ASGI as usual. A shortcut is taken only when no response
is being written on the connection; while a publish is answered, a stand-in request cycle
makes uvicorn queue any pipelined request behind it, so answers keep their order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import get_local_addr, get_remote_addr, is_ssl

from tocsin.web.logs import log_request
from tocsin.web.node import Node
from tocsin.web.transports import publish
from tocsin.web.transports.publish import PublishCall
from tocsin.web.transports.sse import PATH, SseConnection

_PATH = PATH.encode()


class _Answering:
    """Stands in for uvicorn's request cycle while a publish is being answered."""

    __slots__ = ("disconnected", "message_event", "response_complete")

    def __init__(self) -> None:
        self.response_complete = False
        self.disconnected = False
        self.message_event = asyncio.Event()


class HttpProtocol(HttpToolsProtocol):
    """HTTP/1.1 for the ASGI app, with the SSE endpoint taken out of ASGI."""

    def __init__(self, node: Node, **uvicorn: Any) -> None:
        super().__init__(**uvicorn)
        self._node = node
        self._sse_target: tuple[dict[str, str], str] | None = None
        self._call: PublishCall | None = None
        self._discarding = False  # after a 413: the rest of the body is ignored
        self._finished = False  # handed over or closing: pipelined requests are ignored
        self._closing_after_answer = False
        self._answering: _Answering | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """uvicorn's, without looking up the addresses yet: on uvloop that pins a socket
        object holding both to the transport for its whole life (~370 bytes), which an event
        stream or a WebSocket never needs. Requests for ASGI and access logs look them up."""
        self.connections.add(self)
        self.transport = transport
        self.flow = FlowControl(transport)
        self.scheme = "https" if is_ssl(transport) else "http"

    def _look_up_addresses(self) -> None:
        if self.client is None and self.transport is not None:
            self.server = get_local_addr(self.transport)
            self.client = get_remote_addr(self.transport)

    def on_message_begin(self) -> None:
        if not self._finished:
            self._discarding = False
            super().on_message_begin()

    def on_headers_complete(self) -> None:
        if self._finished:
            return  # a request pipelined behind an event stream or a closing 413
        path = self._shortcut_path()
        if path == _PATH and self.parser.get_method() == b"GET":
            query = httptools.parse_url(self.url).query or b""
            self._sse_target = (self._header_dict(), query.decode("latin-1"))
            self._finished = True
            return
        if path in publish.PATHS and self.parser.get_method() == b"POST":
            headers = self._header_dict()
            length = headers.get("content-length")
            limit = self._node.settings.max_body_bytes
            if length is not None and (not length.isdigit() or int(length) > limit):
                self._refuse_too_large(close=True)  # do not read a body that large
                return
            self._call = PublishCall(
                headers=headers,
                batch=publish.PATHS[path],
                keep_alive=self.parser.should_keep_alive(),
                path=self.url.decode("latin-1"),
            )
            if headers.get("expect", "").lower() == "100-continue":
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if not (self.parser.should_upgrade() and self._should_upgrade()):  # for ASGI
            self._look_up_addresses()
            self.scope["server"] = self.server
            self.scope["client"] = self.client
        super().on_headers_complete()

    def _shortcut_path(self) -> bytes | None:
        if self.parser.should_upgrade():
            return None
        if self.cycle is not None and not self.cycle.response_complete:
            return None  # a pipelined request behind an unfinished response: let ASGI answer
        try:
            path: bytes = httptools.parse_url(self.url).path
        except httptools.HttpParserInvalidURLError:
            return None
        return path

    def _header_dict(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers:
            key = name.decode("latin-1")
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return headers

    def on_body(self, body: bytes) -> None:
        call = self._call
        if call is not None:
            call.body += body
            if len(call.body) > self._node.settings.max_body_bytes:
                self._refuse_too_large(close=not call.keep_alive)
        elif not self._finished and not self._discarding:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._finished:
            return
        if self._discarding:  # a 413 was sent, the connection stays: wait for the next request
            self._discarding = False
            self.on_response_complete()
            return
        call, self._call = self._call, None
        if call is not None:
            answering = self._answering = _Answering()
            self.cycle = answering  # type: ignore[assignment]
            self.flow.pause_reading()
            task = self.loop.create_task(self._answer(call, answering))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            super().on_message_complete()

    def _refuse_too_large(self, *, close: bool) -> None:
        """Answer 413 at once; the rest of a streamed body is read and dropped."""
        self._call = None
        self._discarding = True
        self._finished = close
        self._log(413, self.url.decode("latin-1"))
        limit = self._node.settings.max_body_bytes
        self.transport.write(publish.too_large(limit, close=close))
        if close:
            self.transport.close()

    async def _answer(self, call: PublishCall, answering: _Answering) -> None:
        # self.cycle may already be a request pipelined behind this one.
        status, response = await publish.answer(self._node, call)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        self._log(status, call.path)
        self.transport.write(response)
        answering.response_complete = True
        self._answering = None
        if call.keep_alive and not self._closing_after_answer:
            self.on_response_complete()  # resume reading; next pipelined request or keep-alive
        else:
            self.transport.close()

    def shutdown(self) -> None:
        """Server shutdown: a publish being answered is answered first, then closed."""
        if self._answering is not None:
            self._closing_after_answer = True
        else:
            super().shutdown()

    def _log(self, status: int, path: str) -> None:
        if self.access_log:
            self._look_up_addresses()
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
            log_request(client, "POST", path, status)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        target = self._sse_target
        if target is not None and self.transport is not None and not self.transport.is_closing():
            self._hand_over(*target)

    def _hand_over(self, headers: dict[str, str], query: str) -> None:
        self.connections.discard(self)
        self._unset_keepalive_if_required()
        stream = SseConnection(self._node, self.server_state)
        transport = self.transport
        transport.set_protocol(stream)
        stream.connection_made(transport)
        stream.start(headers, query)
        # This protocol is done; break its cycle with the parser so it is freed at once.
        self.parser = None  # type: ignore[assignment]
        self.headers = []
        self.scope = None  # type: ignore[assignment]
