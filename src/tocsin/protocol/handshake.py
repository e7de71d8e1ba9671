"""The HTTP/1.1 WebSocket opening handshake (RFC 6455 §4.2), sans-I/O.

The transport hands over the raw request bytes; this module splits off the request head,
parses and validates it, and builds the ``101`` response or a JSON error response. Values
that came from the client are never written into response headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

__all__ = [
    "HandshakeError",
    "UpgradeRequest",
    "accept_key",
    "accept_response",
    "offered_subprotocols",
    "parse_request_head",
    "reject_response",
    "split_head",
    "validate_upgrade",
]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_HEAD_END = b"\r\n\r\n"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/1\.[1-9]")
# RFC 9110 field-value: visible ASCII, obs-text, SP and HTAB; any other control is refused.
_BAD_VALUE_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A request-target is printable ASCII without spaces (RFC 9112 §3.2 and RFC 3986).
_TARGET = re.compile(r"[\x21-\x7e]+")


class HandshakeError(Exception):
    """The upgrade request is refused; answer with :func:`reject_response`.

    Attributes:
        status: HTTP status of the response.
        code: Stable machine-readable error code for the JSON body.
        message: Human explanation for the JSON body.
        headers: Headers the response must carry, e.g. ``Sec-WebSocket-Version`` on 426.
    """

    def __init__(
        self, status: int, code: str, message: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = tuple(headers)


def _bad_request(message: str) -> HandshakeError:
    return HandshakeError(400, "bad_request", message)


def _bad_handshake(message: str) -> HandshakeError:
    return HandshakeError(400, "bad_handshake", message)


@dataclass(frozen=True, slots=True)
class UpgradeRequest:
    """A parsed HTTP request head.

    Attributes:
        method: Request method, as sent (case-sensitive).
        target: Request target, as sent.
        path: Path part of the target, still percent-encoded.
        query: Query string without the ``?``, still percent-encoded; ``""`` if none.
        headers: Lower-case names to values; repeated headers joined with ``", "``.
    """

    method: str
    target: str
    path: str
    query: str
    headers: Mapping[str, str]


def split_head(data: bytes) -> tuple[bytes, bytes] | None:
    """Split the request head from what follows it.

    Returns:
        ``(head, rest)`` where ``head`` ends with the blank line and ``rest`` holds any
        bytes sent after it (such as a first WebSocket frame); ``None`` if the head is
        not complete yet.
    """
    end = data.find(_HEAD_END)
    if end < 0:
        return None
    end += len(_HEAD_END)
    return data[:end], data[end:]


def parse_request_head(head: bytes) -> UpgradeRequest:
    """Parse an HTTP/1.1 request head (request line, header lines, blank line).

    Raises:
        HandshakeError: 400 ``bad_request`` for anything malformed, including control
            characters in the target or in a header value.
    """
    text = head.decode("latin-1")  # never fails; non-ASCII is refused below where it matters
    if not text.endswith("\r\n\r\n"):
        raise _bad_request("incomplete request head")
    request_line, *header_lines = text[:-4].split("\r\n")

    parts = request_line.split(" ")
    if len(parts) != 3:
        raise _bad_request("malformed request line")
    method, target, version = parts
    if not _TOKEN.fullmatch(method):
        raise _bad_request("malformed request method")
    if not _TARGET.fullmatch(target):
        raise _bad_request("malformed request target")
    if not _VERSION.fullmatch(version):
        raise _bad_request("unsupported HTTP version")
    path, query = _split_target(target)

    headers: dict[str, str] = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise _bad_request("malformed header line")
        value = value.strip(" \t")
        if _BAD_VALUE_CHAR.search(value):
            raise _bad_request("control character in a header value")
        name = name.lower()
        previous = headers.get(name)
        headers[name] = value if previous is None else f"{previous}, {value}"

    return UpgradeRequest(
        method=method,
        target=target,
        path=path,
        query=query,
        headers=MappingProxyType(headers),
    )


def _split_target(target: str) -> tuple[str, str]:
    if target.startswith("/"):
        path, _, query = target.partition("?")
    else:
        # absolute-form, which HTTP/1.1 servers must accept (RFC 9112 §3.2.2)
        try:
            parts = urlsplit(target)
        except ValueError:
            raise _bad_request("malformed request target") from None
        if parts.scheme.lower() not in {"http", "https", "ws", "wss"} or not parts.netloc:
            raise _bad_request("malformed request target")
        path, query = parts.path or "/", parts.query
    if "#" in target:
        raise _bad_request("malformed request target")
    return path, query


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",")}


def validate_upgrade(request: UpgradeRequest) -> str:
    """Check that the request is a WebSocket version 13 opening handshake.

    Returns:
        The ``Sec-WebSocket-Key``, for :func:`accept_response`.

    Raises:
        HandshakeError: 405 ``method_not_allowed`` unless GET; 400 ``bad_handshake``
            without ``Upgrade: websocket`` and ``Connection: upgrade`` or with a key that
            is not base64 of 16 bytes; 426 ``unsupported_version`` unless version 13.
            ``headers`` holds what the error response must carry.
    """
    if request.method != "GET":
        raise HandshakeError(
            405, "method_not_allowed", "use GET to open a WebSocket", [("Allow", "GET")]
        )
    headers = request.headers
    if "websocket" not in _tokens(headers.get("upgrade", "")):
        raise _bad_handshake("missing or invalid Upgrade header")
    if "upgrade" not in _tokens(headers.get("connection", "")):
        raise _bad_handshake("missing or invalid Connection header")
    if headers.get("sec-websocket-version", "").strip() != "13":
        raise HandshakeError(
            426,
            "unsupported_version",
            "only WebSocket version 13 is supported",
            [("Sec-WebSocket-Version", "13")],
        )
    key = headers.get("sec-websocket-key", "").strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise _bad_handshake("missing or invalid Sec-WebSocket-Key header")
    return key


def offered_subprotocols(request: UpgradeRequest) -> list[str]:
    """The subprotocols the client offers, in its order of preference."""
    value = request.headers.get("sec-websocket-protocol", "")
    return [name for name in (part.strip() for part in value.split(",")) if name]


def accept_key(key: str) -> str:
    """Compute ``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    digest = hashlib.sha1((key + _GUID).encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def _check_header(name: str, value: str) -> None:
    # Guards against header injection from a caller passing untrusted strings.
    if not _TOKEN.fullmatch(name) or _BAD_VALUE_CHAR.search(value) or value != value.strip():
        raise ValueError(f"unsafe response header {name!r}")


def _head(status_line: str, headers: Sequence[tuple[str, str]]) -> bytes:
    for name, value in headers:
        _check_header(name, value)
    lines = [status_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def accept_response(
    key: str, subprotocol: str | None = None, extra_headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """Build the ``101 Switching Protocols`` response head.

    Args:
        key: The validated ``Sec-WebSocket-Key``.
        subprotocol: The subprotocol chosen among those offered, if any.
        extra_headers: More ``(name, value)`` headers to send.

    Raises:
        ValueError: If ``subprotocol`` is not a token, or a header would be unsafe.
    """
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        if not _TOKEN.fullmatch(subprotocol):
            raise ValueError(f"invalid subprotocol {subprotocol!r}")
        headers.append(("Sec-WebSocket-Protocol", subprotocol))
    headers.extend(extra_headers)
    return _head("HTTP/1.1 101 Switching Protocols", headers)


def reject_response(
    status: int, code: str, message: str, extra_headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """Build a complete error response with a ``{"code", "message"}`` JSON body.

    The connection is to be closed after it (``Connection: close``).

    Raises:
        ValueError: If ``status`` is not a known HTTP status, or a header would be unsafe.
    """
    phrase = http.HTTPStatus(status).phrase
    body = json.dumps({"code": code, "message": message}).encode("ascii")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        *extra_headers,
    ]
    return _head(f"HTTP/1.1 {status} {phrase}", headers) + body
