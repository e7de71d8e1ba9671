"""uvicorn's HTTP protocol, taught to hand ``GET /v1/sse`` straight to the raw SSE stream.

Every other request goes through ASGI as usual. A keep-alive connection that served other
requests before is handed over too, as long as no response is still being written.
"""

from __future__ import annotations

from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tocsin.web.node import Node
from tocsin.web.transports.sse import PATH, SseConnection

_PATH = PATH.encode()


class HttpProtocol(HttpToolsProtocol):
    """HTTP/1.1 for the ASGI app, with the SSE endpoint taken out of ASGI."""

    def __init__(self, node: Node, **uvicorn: Any) -> None:
        super().__init__(**uvicorn)
        self._node = node
        self._sse_target: tuple[dict[str, str], str] | None = None

    def on_headers_complete(self) -> None:
        if self._sse_target is None and self._is_sse_request():
            headers: dict[str, str] = {}
            for name, value in self.headers:
                key = name.decode("latin-1")
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            query = httptools.parse_url(self.url).query or b""
            self._sse_target = (headers, query.decode("latin-1"))
            return
        super().on_headers_complete()

    def _is_sse_request(self) -> bool:
        if self.parser.get_method() != b"GET" or self.parser.should_upgrade():
            return False
        if self.cycle is not None and not self.cycle.response_complete:
            return False  # a pipelined request behind an unfinished response: let ASGI answer
        try:
            return bool(httptools.parse_url(self.url).path == _PATH)
        except httptools.HttpParserInvalidURLError:
            return False

    def on_body(self, body: bytes) -> None:
        if self._sse_target is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._sse_target is None:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        target = self._sse_target
        if target is not None and self.transport is not None and not self.transport.is_closing():
            self._hand_over(*target)

    def _hand_over(self, headers: dict[str, str], query: str) -> None:
        self.connections.discard(self)
        self._unset_keepalive_if_required()
        stream = SseConnection(self._node, self.server_state, headers, query)
        transport = self.transport
        transport.set_protocol(stream)
        stream.connection_made(transport)
        stream.start()
