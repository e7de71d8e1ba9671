"""Server-Sent Events framing and request rules, without I/O."""

from __future__ import annotations

from tocsin.protocol.envelopes import MAX_SEQ, ProtocolError

RETRY_MS = 3000


def event(data: bytes, event_id: int | None = None) -> bytes:
    """One SSE event: an optional ``id:`` line, ``data:`` lines, a blank line.

    ``data`` is compact JSON (no newlines); any newline would still be framed safely.
    """
    head = b"id: %d\n" % event_id if event_id is not None else b""
    if b"\n" in data or b"\r" in data:
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        return head + b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    return head + b"data: " + data + b"\n\n"


def comment(text: str = "") -> bytes:
    """A comment line, ignored by EventSource (keeps proxies from timing out)."""
    return b": " + text.encode() + b"\n\n"


def retry(milliseconds: int = RETRY_MS) -> bytes:
    """The reconnection delay hint."""
    return b"retry: %d\n\n" % milliseconds


def parse_cursor(value: str | None, name: str) -> int | None:
    """A resume cursor from ``Last-Event-ID``, ``last_event_id`` or ``after``.

    Raises:
        ProtocolError: ``invalid_cursor`` when it is not a non-negative integer.
    """
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_SEQ:
        raise ProtocolError("invalid_cursor", f"{name} must be a non-negative integer seq.")
    return int(value)
