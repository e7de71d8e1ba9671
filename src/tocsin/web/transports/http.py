"""uvicorn's HTTP protocol, taught shortcuts around ASGI for the hot paths:

- ``GET /v1/sse`` hands the socket to the raw SSE stream (``transports.sse``);
- ``POST /v1/notifications`` (and ``/batch``) is answered by ``transports.publish`` once its
  body is in;
- ``POST /v1/tickets`` is answered by ``transports.tickets`` as soon as its head is parsed:
  the route never reads the body either; what comes of it is dropped.

Every other request, and every other method on these paths (a CORS preflight ``OPTIONS``),
goes through ASGI as usual; the FastAPI routes stay for the OpenAPI document and answer
whenever a shortcut is not taken. The shortcuts keep HTTP/1.1 as uvicorn serves the routes
(tests/integration/test_publish_lane.py and test_ticket_lane.py):

- A shortcut is taken only when no response is being written on the connection: a request
  pipelined behind an unfinished response goes to ASGI, which queues it.
- Answers keep their order. While a publish is answered, a stand-in request cycle
  (``_Answering``) makes uvicorn queue any request pipelined behind it; a ticket is answered
  at once, before anything behind it is parsed.
- Answers carry the headers the routes' would (``_frame``): uvicorn's default headers
  (``date``), the answer's, ``content-length`` and ``content-type``, then what Starlette's
  ``CORSMiddleware`` adds for the request's Origin (``_cors``) and ``connection: close``.
- Keep-alive: HTTP/1.0, ``Connection: close``, graceful shutdown or a 500 close the connection
  after the answer; otherwise the keep-alive timeout runs while it is idle.
- ``Expect: 100-continue``: a publish gets ``100 Continue`` before its body is read; a ticket
  is answered without it, like the route, which never asks for the body.
- A declared body over ``max_body_bytes`` gets 413 and the connection closes unread; a
  streamed publish body over it gets 413, the rest is dropped and the connection goes on.
- Every answer has its access log line (``_log``), as uvicorn writes them.
- Graceful shutdown: a publish being answered is answered first, then the connection closes.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_local_addr, get_remote_addr, is_ssl

from tocsin.errors import PayloadTooLarge
from tocsin.web.logs import log_request
from tocsin.web.node import Node
from tocsin.web.transports import publish, tickets
from tocsin.web.transports.answers import Headers
from tocsin.web.transports.publish import PublishCall
from tocsin.web.transports.sse import PATH, SseConnection

_PATH = PATH.encode()
_VARY = b"vary: Origin\r\n"


class _Answering:
    """Stands in for uvicorn's request cycle while a publish is being answered."""

    __slots__ = ("disconnected", "message_event", "response_complete")

    def __init__(self) -> None:
        self.response_complete = False
        self.disconnected = False
        self.message_event = asyncio.Event()


@dataclass(slots=True)
class _Head:
    """What the answer to a shortcut request needs from its head."""

    target: str  # path and query, for the access log
    http_version: str
    keep_alive: bool
    cors: bytes  # header lines
    forwarded_for: str | None  # X-Forwarded-For, for the access log


class HttpProtocol(HttpToolsProtocol):
    """HTTP/1.1 for the ASGI app, with the hot endpoints taken out of ASGI."""

    def __init__(self, node: Node, **uvicorn: Any) -> None:
        super().__init__(**uvicorn)
        self._node = node
        self._sse_target: tuple[dict[str, str], str] | None = None
        self._receiving: tuple[_Head, PublishCall] | None = None
        self._discarding = False  # answered before its body ended: the rest is dropped
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
            return  # a request pipelined behind an event stream or a closing answer
        path = self._shortcut_path()
        method = self.parser.get_method()
        if path == _PATH and method == b"GET":
            query = httptools.parse_url(self.url).query or b""
            self._sse_target = (self._header_dict(), query.decode("latin-1"))
            self._finished = True
            return
        if method == b"POST" and (path == tickets.PATH or path in publish.PATHS):
            self._take(path)
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

    def _take(self, path: bytes) -> None:
        """Start answering a POST shortcut request whose head is parsed."""
        version = self.parser.get_http_version()
        forwarded = [value for name, value in self.headers if name == b"x-forwarded-for"]
        head = _Head(
            target=self.url.decode("latin-1"),
            http_version=version,
            keep_alive=version != "1.0" and self.parser.should_keep_alive(),
            cors=self._cors(),
            forwarded_for=b", ".join(forwarded).decode("latin-1") if forwarded else None,
        )
        length = self._header(b"content-length")
        if length is not None and (
            not length.isdigit() or int(length) > self._node.settings.max_body_bytes
        ):
            self._refuse_too_large(head, close=True)  # do not read a body that large
        elif path == tickets.PATH:
            authorization = self._header(b"authorization")
            credentials = None if authorization is None else authorization.decode("latin-1")
            self._reply(head, *tickets.answer(self._node, credentials))
            self._discarding = not self._finished
        else:
            call = PublishCall(headers=self._header_dict(), batch=publish.PATHS[path])
            self._receiving = (head, call)
            if self.expect_100_continue:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _header(self, name: bytes) -> bytes | None:
        """The first value of a header, as Starlette's ``Headers.get`` reads it."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def _header_dict(self) -> dict[str, str]:
        """Header names to their first value, as Starlette's ``Headers`` reads them."""
        headers: dict[str, str] = {}
        for name, value in self.headers:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        return headers

    def _cors(self) -> bytes:
        """The headers Starlette's ``CORSMiddleware``, as ``web/app.py`` configures it, adds
        to a response that is not a preflight's: none when no origin is allowed (there is no
        middleware); ``access-control-allow-origin`` with ``*`` when every origin is, or the
        request's Origin when it is listed; and ``vary: Origin``, even without an Origin."""
        allowed = self._node.settings.allowed_origins
        if not allowed:
            return b""
        origin = self._header(b"origin")
        if origin is not None:
            if "*" in allowed:
                return b"access-control-allow-origin: *\r\n" + _VARY
            if origin.decode("latin-1") in allowed:
                return b"access-control-allow-origin: " + origin + b"\r\n" + _VARY
        return _VARY

    def on_body(self, body: bytes) -> None:
        receiving = self._receiving
        if receiving is not None:
            head, call = receiving
            call.body += body
            if len(call.body) > self._node.settings.max_body_bytes:
                self._refuse_too_large(head, close=not head.keep_alive)
        elif not self._finished and not self._discarding:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._finished:
            return
        if self._discarding:  # answered already, and now idle: wait for the next request
            self._discarding = False
            if self.timeout_keep_alive_task is None and not self.transport.is_closing():
                # The body came after the answer and stopped the keep-alive timeout.
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )
            return
        receiving, self._receiving = self._receiving, None
        if receiving is not None:
            answering = self._answering = _Answering()
            self.cycle = answering  # type: ignore[assignment]
            self.flow.pause_reading()
            task = self.loop.create_task(self._answer(*receiving, answering))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            super().on_message_complete()

    def _refuse_too_large(self, head: _Head, *, close: bool) -> None:
        """Answer 413 at once; the rest of a streamed body is read and dropped."""
        self._receiving = None
        head.keep_alive = head.keep_alive and not close
        error = PayloadTooLarge(
            f"The body is larger than {self._node.settings.max_body_bytes} bytes."
        )
        self._reply(head, 413, [], orjson.dumps(error.to_dict()))
        self._discarding = not self._finished

    async def _answer(self, head: _Head, call: PublishCall, answering: _Answering) -> None:
        # self.cycle may already be a request pipelined behind this one.
        status, headers, body = await publish.answer(self._node, call)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        answering.response_complete = True
        self._answering = None
        self._reply(head, status, headers, body)

    def _reply(self, head: _Head, status: int, headers: Headers, body: bytes) -> None:
        """Write, and log, the answer to a shortcut request; then go on to the next request
        (one pipelined behind it, or the keep-alive timeout), or close the connection: after
        a 500, as uvicorn does when the app raised."""
        keep_alive = head.keep_alive and status != 500 and not self._closing_after_answer
        self._log(status, head)
        self.transport.write(self._frame(status, headers, body, head.cors, keep_alive))
        if not keep_alive:
            self._finished = True
            self.transport.close()
        self.on_response_complete()  # counts the request; returns at once when closing

    def _frame(
        self, status: int, headers: Headers, body: bytes, cors: bytes, keep_alive: bool
    ) -> bytes:
        """The response as uvicorn writes the route's: the same headers, in the same order
        (header names in lower case, as Starlette's ``Response`` writes them)."""
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += (name, b": ", value, b"\r\n")
        for key, text in headers:
            parts.append(f"{key.lower()}: {text}\r\n".encode("latin-1"))
        parts.append(b"content-length: %d\r\ncontent-type: application/json\r\n" % len(body))
        parts.append(cors)
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", body)
        return b"".join(parts)

    def shutdown(self) -> None:
        """Server shutdown: a publish being answered is answered first, then closed."""
        if self._answering is not None:
            self._closing_after_answer = True
        else:
            super().shutdown()

    def _log(self, status: int, head: _Head) -> None:
        if self.access_log:
            log_request(self._log_client(head), "POST", head.target, status, head.http_version)

    def _log_client(self, head: _Head) -> str:
        """The client as uvicorn's access log shows it: behind a trusted proxy, the address
        X-Forwarded-For gives (what uvicorn's ProxyHeadersMiddleware puts in the scope)."""
        self._look_up_addresses()
        client = self.client
        if client and head.forwarded_for and self.config.proxy_headers:
            trusted = _trusted_hosts(self.config)
            if client[0] in trusted:
                host, port = trusted.get_trusted_client_address(head.forwarded_for)
                if host:
                    client = (host, port)
        return f"{client[0]}:{client[1]}" if client else "-"

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


@functools.cache
def _trusted_hosts(config: Config) -> Any:
    """uvicorn's own reading of ``forwarded_allow_ips`` (``--forwarded-allow-ips``)."""
    no_app: Any = None
    return ProxyHeadersMiddleware(no_app, trusted_hosts=config.forwarded_allow_ips).trusted_hosts
