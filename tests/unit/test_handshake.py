"""The WebSocket opening handshake: parsing, validation and responses, without sockets."""

from __future__ import annotations

import http.client
import io
import json
import random

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from tocsin.protocol.handshake import (
    HandshakeError,
    UpgradeRequest,
    accept_key,
    accept_response,
    offered_subprotocols,
    parse_request_head,
    reject_response,
    split_head,
    validate_upgrade,
)

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3
KEY = "sec-websocket-key"

VALID_LINES = [
    "GET /v1/ws?token=abc&since=5 HTTP/1.1",
    "host: server.example.com",
    "upgrade: websocket",
    "connection: Upgrade",
    f"sec-websocket-key: {RFC_KEY}",
    "origin: http://example.com",
    "sec-websocket-protocol: chat, superchat",
    "sec-websocket-version: 13",
]


def head(*lines: str) -> bytes:
    """Serialize a request head the way uvicorn hands it over."""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def with_header(name: str, value: str | None) -> bytes:
    """The valid request with one header replaced, or removed when value is None."""
    lines = [line for line in VALID_LINES if not line.startswith(f"{name}:")]
    if value is not None:
        lines.append(f"{name}: {value}")
    return head(*lines)


def handshake_error(data: bytes) -> HandshakeError:
    """Parse and validate bytes that must be refused; return the error."""
    with pytest.raises(HandshakeError) as caught:
        validate_upgrade(parse_request_head(data))
    return caught.value


class ResponseSocket:
    """Just enough of a socket for http.client to read a response from bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        """Return the response bytes as a file."""
        return io.BytesIO(self.data)


def read_response(data: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    """Parse a complete HTTP/1.1 response with the standard library's client."""
    response = http.client.HTTPResponse(ResponseSocket(data))  # type: ignore[arg-type]
    response.begin()
    return response, response.read()


# ---------------------------------------------------------------- valid requests


def test_valid_request_is_parsed() -> None:
    """Method, target, path, query and lower-cased headers are exposed."""
    request = parse_request_head(head(*VALID_LINES))
    assert request.method == "GET"
    assert request.target == "/v1/ws?token=abc&since=5"
    assert (request.path, request.query) == ("/v1/ws", "token=abc&since=5")
    assert request.headers["upgrade"] == "websocket"
    assert request.headers["sec-websocket-key"] == RFC_KEY
    assert "Upgrade" not in request.headers


def test_valid_request_gives_the_rfc_accept_key() -> None:
    """The RFC 6455 §1.3 key validates and hashes to the RFC's accept value."""
    key = validate_upgrade(parse_request_head(head(*VALID_LINES)))
    assert key == RFC_KEY
    assert accept_key(key) == RFC_ACCEPT


def test_header_names_are_case_insensitive_and_values_trimmed() -> None:
    """Mixed-case names and padded values parse like lower-case, trimmed ones."""
    data = head(
        "GET /v1/ws HTTP/1.1",
        "Upgrade:\tWebSocket ",
        "CONNECTION:  keep-alive, Upgrade",
        f"Sec-WebSocket-Key: {RFC_KEY}",
        "Sec-WebSocket-Version: 13",
    )
    request = parse_request_head(data)
    assert request.headers["upgrade"] == "WebSocket"
    assert validate_upgrade(request) == RFC_KEY


def test_repeated_headers_are_joined() -> None:
    """Repeated header lines are joined with a comma and a space."""
    request = parse_request_head(
        head("GET / HTTP/1.1", "sec-websocket-protocol: a", "sec-websocket-protocol: b , c")
    )
    assert request.headers["sec-websocket-protocol"] == "a, b , c"
    assert offered_subprotocols(request) == ["a", "b", "c"]


def test_offered_subprotocols_strip_blanks() -> None:
    """Subprotocols are split on commas, stripped, and empty items dropped."""
    assert offered_subprotocols(parse_request_head(head(*VALID_LINES))) == ["chat", "superchat"]
    request = parse_request_head(head("GET / HTTP/1.1", "sec-websocket-protocol:  x ,, y ,"))
    assert offered_subprotocols(request) == ["x", "y"]
    assert offered_subprotocols(parse_request_head(head("GET / HTTP/1.1"))) == []


def test_target_without_query_and_absolute_form() -> None:
    """A bare path has an empty query; an absolute-form target yields its path and query."""
    assert parse_request_head(head("GET /v1/ws HTTP/1.1")).query == ""
    request = parse_request_head(head("GET http://example.com/v1/ws?x=1 HTTP/1.1"))
    assert (request.path, request.query) == ("/v1/ws", "x=1")


def test_headers_mapping_is_read_only() -> None:
    """The parsed headers cannot be modified."""
    request = parse_request_head(head(*VALID_LINES))
    with pytest.raises(TypeError):
        request.headers["upgrade"] = "h2c"  # type: ignore[index]


def test_websockets_client_handshake_round_trip() -> None:
    """A websockets client's request validates and our 101 response opens it."""
    client = ClientProtocol(
        parse_uri("ws://example.com/v1/ws?token=t"),
        subprotocols=["tocsin.v1"],  # type: ignore[list-item]
    )
    client.send_request(client.connect())
    (raw,) = client.data_to_send()
    found = split_head(raw)
    assert found is not None
    request = parse_request_head(found[0])
    assert (request.path, request.query) == ("/v1/ws", "token=t")
    key = validate_upgrade(request)
    assert offered_subprotocols(request) == ["tocsin.v1"]
    client.receive_data(accept_response(key, "tocsin.v1"))
    assert client.handshake_exc is None
    assert client.state is State.OPEN
    assert client.subprotocol == "tocsin.v1"


def test_websockets_client_refuses_a_wrong_accept_key() -> None:
    """The cross-check is real: a response for another key fails the client's handshake."""
    client = ClientProtocol(parse_uri("ws://example.com/"))
    client.send_request(client.connect())
    client.receive_data(accept_response(RFC_KEY))
    assert client.handshake_exc is not None


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        pytest.param(head("POST /v1/ws HTTP/1.1", *VALID_LINES[1:]), 405, "method_not_allowed"),
        pytest.param(head("get /v1/ws HTTP/1.1", *VALID_LINES[1:]), 405, "method_not_allowed"),
        pytest.param(with_header("upgrade", None), 400, "bad_handshake", id="no-upgrade"),
        pytest.param(with_header("upgrade", "h2c"), 400, "bad_handshake", id="upgrade-h2c"),
        pytest.param(with_header("upgrade", "websockets"), 400, "bad_handshake", id="upgrade-typo"),
        pytest.param(with_header("connection", None), 400, "bad_handshake", id="no-connection"),
        pytest.param(with_header("connection", "keep-alive"), 400, "bad_handshake"),
        pytest.param(with_header("sec-websocket-version", None), 426, "unsupported_version"),
        pytest.param(with_header("sec-websocket-version", "8"), 426, "unsupported_version"),
        pytest.param(with_header("sec-websocket-version", "13, 8"), 426, "unsupported_version"),
        pytest.param(with_header(KEY, None), 400, "bad_handshake", id="no-key"),
        pytest.param(with_header(KEY, "not base64!"), 400, "bad_handshake", id="not-base64"),
        pytest.param(with_header(KEY, RFC_KEY[:-2]), 400, "bad_handshake", id="no-padding"),
        pytest.param(with_header(KEY, "A" * 20), 400, "bad_handshake", id="15-bytes"),
        pytest.param(with_header(KEY, "A" * 23 + "="), 400, "bad_handshake", id="17-bytes"),
        pytest.param(with_header(KEY, f"{RFC_KEY}, {RFC_KEY}"), 400, "bad_handshake", id="two"),
        pytest.param(with_header(KEY, "ÿ" * 24), 400, "bad_handshake", id="non-ascii-key"),
    ],
)
def test_invalid_upgrades_are_refused(data: bytes, status: int, code: str) -> None:
    """Each handshake violation maps to its HTTP status and error code."""
    error = handshake_error(data)
    assert (error.status, error.code) == (status, code)
    assert error.message


def test_version_error_asks_for_version_13() -> None:
    """A 426 carries Sec-WebSocket-Version: 13 into the response."""
    error = handshake_error(with_header("sec-websocket-version", "8"))
    response, _ = read_response(
        reject_response(error.status, error.code, error.message, error.headers)
    )
    assert response.status == 426
    assert response.getheader("Sec-WebSocket-Version") == "13"


def test_method_error_lists_get_as_allowed() -> None:
    """A 405 carries Allow: GET."""
    error = handshake_error(head("PUT /v1/ws HTTP/1.1", *VALID_LINES[1:]))
    assert ("Allow", "GET") in error.headers


# ---------------------------------------------------------------- malformed input

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\r\n\r\n", id="blank"),
    pytest.param(b"GET / HTTP/1.1\r\n", id="unterminated"),
    pytest.param(head("GET"), id="method-only"),
    pytest.param(head("GET /"), id="no-version"),
    pytest.param(head("GET / HTTP/1.1 extra"), id="four-parts"),
    pytest.param(head("GET  / HTTP/1.1"), id="double-space"),
    pytest.param(head("GET / HTTP/1.0"), id="http-1.0"),
    pytest.param(head("GET / HTTP/2.0"), id="http-2"),
    pytest.param(head("GET / http/1.1"), id="lower-case-version"),
    pytest.param(head("G(T / HTTP/1.1"), id="bad-method"),
    pytest.param(head("GET * HTTP/1.1"), id="asterisk-form"),
    pytest.param(head("GET /a\x00b HTTP/1.1"), id="nul-in-target"),
    pytest.param(head("GET /a\rb HTTP/1.1"), id="cr-in-target"),
    pytest.param(head("GET /a#b HTTP/1.1"), id="fragment-in-target"),
    pytest.param(head("GET ftp://x/ HTTP/1.1"), id="bad-scheme"),
    pytest.param(head("GET http://[::1/ HTTP/1.1"), id="bad-absolute-url"),
    pytest.param(b"GET /\xe9 HTTP/1.1\r\n\r\n", id="non-ascii-target"),
    pytest.param(head("GET / HTTP/1.1", "no colon here"), id="no-colon"),
    pytest.param(head("GET / HTTP/1.1", "name : value"), id="space-before-colon"),
    pytest.param(head("GET / HTTP/1.1", ": value"), id="empty-name"),
    pytest.param(head("GET / HTTP/1.1", "na(me: value"), id="bad-name"),
    pytest.param(head("GET / HTTP/1.1", "a: b", " folded"), id="obs-fold"),
    pytest.param(head("GET / HTTP/1.1", "a: b\x00c"), id="nul-in-value"),
    pytest.param(head("GET / HTTP/1.1", "a: b\rc"), id="cr-in-value"),
    pytest.param(head("GET / HTTP/1.1", "a: b\nc: d"), id="lf-in-value"),
    pytest.param(head("GET / HTTP/1.1", "a: b\x1bc"), id="escape-in-value"),
    pytest.param(head("GET / HTTP/1.1", "", "a: b"), id="blank-line-inside"),
    pytest.param(b"\xff\xfe\x00\x80\r\n\r\n", id="binary-garbage"),
    pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", id="tls-hello"),
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_heads_are_bad_requests(data: bytes) -> None:
    """Malformed or hostile heads raise HandshakeError 400 bad_request."""
    with pytest.raises(HandshakeError) as caught:
        parse_request_head(data)
    assert (caught.value.status, caught.value.code) == (400, "bad_request")


def test_non_utf8_header_value_is_kept_as_latin1() -> None:
    """Non-UTF-8 bytes in a header value are decoded as latin-1 rather than crashing."""
    request = parse_request_head(b"GET / HTTP/1.1\r\nuser-agent: caf\xe9\xff\r\n\r\n")
    assert request.headers["user-agent"] == "café\xff"


def test_random_garbage_only_ever_raises_handshake_error() -> None:
    """Random bytes and mutated requests either parse or raise HandshakeError, nothing else."""
    rng = random.Random(1455)
    valid = head(*VALID_LINES)
    samples = [rng.randbytes(rng.randint(0, 200)) + b"\r\n\r\n" for _ in range(300)]
    for _ in range(300):
        mutated = bytearray(valid)
        for _ in range(rng.randint(1, 5)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        samples.append(bytes(mutated))
    statuses = set()
    for data in samples:
        try:
            request = parse_request_head(data)
            validate_upgrade(request)
            offered_subprotocols(request)
        except HandshakeError as error:
            statuses.add(error.status)
    assert statuses <= {400, 405, 426}
    assert 400 in statuses


# ---------------------------------------------------------------- split_head


def test_split_head_waits_for_the_blank_line() -> None:
    """Without the final CRLFCRLF the head is incomplete."""
    assert split_head(b"") is None
    assert split_head(b"GET / HTTP/1.1\r\nhost: x\r\n") is None
    assert split_head(b"GET / HTTP/1.1\r\nhost: x\r\n\r") is None


def test_split_head_returns_head_and_empty_rest() -> None:
    """A complete head is returned whole, including its blank line."""
    data = head(*VALID_LINES)
    assert split_head(data) == (data, b"")


def test_split_head_keeps_trailing_frame_bytes() -> None:
    """Bytes after the head, such as a first WebSocket frame, are returned as the rest."""
    frame = Frame(Opcode.TEXT, b"\r\n\r\nhi").serialize(mask=True, extensions=[])
    data = head(*VALID_LINES)
    assert split_head(data + frame) == (data, frame)


# ---------------------------------------------------------------- responses


def test_accept_response_is_a_101_with_the_accept_key() -> None:
    """The 101 response carries Upgrade, Connection and the RFC accept key, then ends."""
    response = accept_response(RFC_KEY)
    assert response == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + RFC_ACCEPT.encode() + b"\r\n"
        b"\r\n"
    )


def test_accept_response_adds_subprotocol_and_extra_headers() -> None:
    """A chosen subprotocol and extra headers are appended before the blank line."""
    response = accept_response(RFC_KEY, "chat", [("X-Tocsin-Node", "n1")])
    assert response.endswith(b"Sec-WebSocket-Protocol: chat\r\nX-Tocsin-Node: n1\r\n\r\n")


@pytest.mark.parametrize("subprotocol", ["", "a b", "chat\r\nSet-Cookie: x=1", "a,b", "é"])
def test_accept_response_refuses_unsafe_subprotocols(subprotocol: str) -> None:
    """A subprotocol that is not an HTTP token raises ValueError instead of being sent."""
    with pytest.raises(ValueError, match="subprotocol"):
        accept_response(RFC_KEY, subprotocol)


@pytest.mark.parametrize(
    "header",
    [("X-A", "1\r\nSet-Cookie: x=1"), ("X-A", "a\x00"), ("X A", "1"), ("X-A\r\n", "1"), ("", "1")],
)
def test_responses_refuse_unsafe_extra_headers(header: tuple[str, str]) -> None:
    """Extra headers with CR, LF, NUL or a bad name raise ValueError."""
    with pytest.raises(ValueError, match="unsafe"):
        accept_response(RFC_KEY, extra_headers=[header])
    with pytest.raises(ValueError, match="unsafe"):
        reject_response(400, "bad_request", "no", [header])


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (400, "Bad Request"),
        (403, "Forbidden"),
        (405, "Method Not Allowed"),
        (426, "Upgrade Required"),
    ],
)
def test_reject_response_is_a_parseable_json_response(status: int, phrase: str) -> None:
    """The error response parses as HTTP/1.1 with a JSON body, its length and close."""
    data = reject_response(status, "some_code", 'quote " and ünïcode\r\n', [("Allow", "GET")])
    assert data.startswith(f"HTTP/1.1 {status} {phrase}\r\n".encode())
    response, body = read_response(data)
    assert (response.status, response.reason) == (status, phrase)
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Content-Length") == str(len(body))
    assert response.getheader("Connection") == "close"
    assert response.getheader("Allow") == "GET"
    assert json.loads(body) == {"code": "some_code", "message": 'quote " and ünïcode\r\n'}


def test_reject_response_refuses_unknown_status() -> None:
    """A status http.HTTPStatus does not know raises ValueError."""
    with pytest.raises(ValueError, match="599"):
        reject_response(599, "x", "y")


def test_upgrade_request_can_be_built_directly() -> None:
    """UpgradeRequest is a plain frozen value other code can construct in tests."""
    request = UpgradeRequest("GET", "/", "/", "", {"upgrade": "websocket"})
    with pytest.raises(HandshakeError) as caught:
        validate_upgrade(request)
    assert caught.value.code == "bad_handshake"
