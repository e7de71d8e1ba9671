"""RFC 6455 WebSocket framing for the server side, sans-I/O.

Builders turn payloads into unmasked server frames; :class:`FrameParser` turns the bytes a
client sent into complete :class:`Message` objects. Nothing here touches a socket: the
transport feeds bytes in and writes bytes out. No extension is negotiated, so the RSV bits
must be zero and payloads are never compressed.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

__all__ = [
    "CloseCode",
    "FrameError",
    "FrameParser",
    "Message",
    "Opcode",
    "binary_frame",
    "close_frame",
    "parse_close_payload",
    "ping_frame",
    "pong_frame",
    "text_frame",
]


class Opcode(enum.IntEnum):
    """Frame opcodes defined by RFC 6455 §5.2."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """The close codes (RFC 6455 §7.4.1) Tocsin sends."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012


# Codes a peer may put on the wire: 1004-1006 and 1015 are reserved for local use only.
_WIRE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})
_MAX_CONTROL_PAYLOAD = 125
_OPCODES = {int(op): op for op in Opcode}


def _is_wire_close_code(code: int) -> bool:
    return code in _WIRE_CLOSE_CODES or 3000 <= code <= 4999


@dataclass(frozen=True, slots=True)
class Message:
    """A complete data message (fragments joined) or a single control frame.

    Attributes:
        opcode: ``TEXT`` or ``BINARY`` for data messages, ``CLOSE``/``PING``/``PONG`` for
            control frames; never ``CONTINUATION``.
        data: The unmasked payload. ``TEXT`` data is guaranteed to be valid UTF-8.
    """

    opcode: Opcode
    data: bytes


class FrameError(Exception):
    """The client broke the protocol; fail the connection with this close code and reason.

    Attributes:
        code: The close code to send (1002, 1007 or 1009).
        reason: A short explanation, safe to put in the close frame.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


# --------------------------------------------------------------------------- builders


def _frame(opcode: Opcode, payload: bytes) -> bytes:
    first = 0x80 | opcode  # FIN, no RSV bits
    length = len(payload)
    if length < 126:
        header = bytes((first, length))
    elif length < 0x10000:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def text_frame(payload: bytes) -> bytes:
    """Build an unmasked, unfragmented TEXT frame.

    Args:
        payload: UTF-8 encoded text (not re-validated: it is our own JSON).
    """
    return _frame(Opcode.TEXT, payload)


def binary_frame(payload: bytes) -> bytes:
    """Build an unmasked, unfragmented BINARY frame."""
    return _frame(Opcode.BINARY, payload)


def _control_frame(opcode: Opcode, payload: bytes) -> bytes:
    if len(payload) > _MAX_CONTROL_PAYLOAD:
        raise ValueError(f"control frame payload is {len(payload)} bytes, the maximum is 125")
    return bytes((0x80 | opcode, len(payload))) + payload


def ping_frame(payload: bytes = b"") -> bytes:
    """Build a PING frame.

    Raises:
        ValueError: If ``payload`` is longer than 125 bytes.
    """
    return _control_frame(Opcode.PING, payload)


def pong_frame(payload: bytes = b"") -> bytes:
    """Build a PONG frame (echo the ping's payload).

    Raises:
        ValueError: If ``payload`` is longer than 125 bytes.
    """
    return _control_frame(Opcode.PONG, payload)


def close_frame(code: int | None = None, reason: str = "") -> bytes:
    """Build a CLOSE frame.

    Args:
        code: The close code, or ``None`` for an empty payload (no status).
        reason: Explanation; cut at a UTF-8 character boundary so the payload fits in
            125 bytes. Must be empty when ``code`` is ``None``.

    Raises:
        ValueError: If ``code`` may not be sent on the wire, or a reason is given without
            a code.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return _control_frame(Opcode.CLOSE, b"")
    if not _is_wire_close_code(code):
        raise ValueError(f"close code {code} may not be sent")
    encoded = reason.encode("utf-8", "replace")
    limit = _MAX_CONTROL_PAYLOAD - 2
    if len(encoded) > limit:
        # Dropping the bytes of a character cut in half leaves valid UTF-8.
        encoded = encoded[:limit].decode("utf-8", "ignore").encode("utf-8")
    return _control_frame(Opcode.CLOSE, code.to_bytes(2, "big") + encoded)


def parse_close_payload(data: bytes) -> tuple[int | None, str]:
    """Decode the payload of a CLOSE frame sent by the client.

    Returns:
        ``(code, reason)``; ``(None, "")`` for an empty payload.

    Raises:
        FrameError: 1002 for a 1-byte payload or a code not allowed on the wire,
            1007 when the reason is not valid UTF-8.
    """
    if not data:
        return None, ""
    if len(data) == 1:
        raise FrameError(CloseCode.PROTOCOL_ERROR, "close payload of 1 byte")
    code = int.from_bytes(data[:2], "big")
    if not _is_wire_close_code(code):
        raise FrameError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(CloseCode.INVALID_PAYLOAD, "close reason is not UTF-8") from None
    return code, reason


# --------------------------------------------------------------------------- parser


def _unmask(payload: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    # One big-integer XOR instead of a per-byte loop: ~100x faster in pure Python.
    length = len(payload)
    if not length:
        return b""
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        length, "little"
    )


class FrameParser:
    """Incremental parser for client-to-server frames.

    Feed it bytes as they arrive, split anywhere; it returns the messages completed so far.
    Fragmented messages are joined; control frames interleaved between fragments come out
    as their own :class:`Message`. CLOSE payloads are returned as-is: decode them with
    :func:`parse_close_payload`.

    After a :class:`FrameError` the parser is dead: every later :meth:`feed` raises the
    same error. Messages decoded earlier in the chunk that raised are dropped, since the
    connection is being failed anyway.
    """

    __slots__ = ("_buffer", "_error", "_fragments", "_max_message_size", "_message_opcode")

    def __init__(self, max_message_size: int) -> None:
        """Create a parser.

        Args:
            max_message_size: Largest data message accepted, in payload bytes, after
                joining fragments. Larger ones raise :class:`FrameError` 1009.

        Raises:
            ValueError: If ``max_message_size`` is negative.
        """
        if max_message_size < 0:
            raise ValueError("max_message_size must be >= 0")
        self._max_message_size = max_message_size
        self._buffer: bytearray | None = None  # unparsed bytes; None when idle
        self._fragments: bytearray | None = None  # payload of an open fragmented message
        self._message_opcode = Opcode.TEXT  # opcode of the open fragmented message
        self._error: FrameError | None = None

    def feed(self, data: bytes) -> list[Message]:
        """Consume bytes received from the client.

        Returns:
            The messages completed by these bytes, in order (often empty).

        Raises:
            FrameError: The client broke the protocol; close with ``code`` and ``reason``.
        """
        if self._error is not None:
            raise FrameError(self._error.code, self._error.reason)
        pending = self._buffer
        buf: bytes | bytearray
        if pending is not None:
            pending += data
            buf = pending
        else:
            buf = data
        messages: list[Message] = []
        try:
            consumed = self._parse(buf, messages)
        except FrameError as exc:
            self._error = exc
            self._buffer = None
            self._fragments = None
            raise
        if consumed == len(buf):
            self._buffer = None
        elif pending is not None:
            del pending[:consumed]
        else:
            self._buffer = bytearray(memoryview(data)[consumed:])
        return messages

    def _parse(self, buf: bytes | bytearray, messages: list[Message]) -> int:
        """Parse whole frames from ``buf``; return how many bytes were consumed."""
        size = len(buf)
        pos = 0
        while size - pos >= 2:
            first, second = buf[pos], buf[pos + 1]
            if first & 0x70:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "reserved bits must be 0")
            opcode = _OPCODES.get(first & 0x0F)
            if opcode is None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {first & 0x0F}")
            if not second & 0x80:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
            fin = bool(first & 0x80)
            length = second & 0x7F
            fragments = self._fragments
            if opcode >= Opcode.CLOSE:
                if not fin:
                    raise FrameError(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
                if length > _MAX_CONTROL_PAYLOAD:
                    raise FrameError(CloseCode.PROTOCOL_ERROR, "control frame too long")
            elif opcode is Opcode.CONTINUATION:
                if fragments is None:
                    raise FrameError(CloseCode.PROTOCOL_ERROR, "unexpected continuation frame")
            elif fragments is not None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "expected a continuation frame")

            header = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[header : header + 2], "big")
                header += 2
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[header : header + 8], "big")
                header += 8
                if length >> 63:
                    raise FrameError(CloseCode.PROTOCOL_ERROR, "invalid payload length")
            if opcode < Opcode.CLOSE:
                # Checked on the declared length, before waiting for the payload.
                so_far = len(fragments) if fragments is not None else 0
                if so_far + length > self._max_message_size:
                    raise FrameError(CloseCode.MESSAGE_TOO_BIG, "message too big")

            end = header + 4 + length
            if end > size:
                break
            payload = _unmask(buf[header + 4 : end], buf[header : header + 4])
            pos = end

            if opcode >= Opcode.CLOSE:
                messages.append(Message(opcode, payload))
            elif fragments is not None:  # a continuation: other data frames were refused
                fragments += payload
                if fin:
                    data = bytes(fragments)
                    self._fragments = None
                    messages.append(_data_message(self._message_opcode, data))
            elif fin:
                messages.append(_data_message(opcode, payload))
            else:
                self._fragments = bytearray(payload)
                self._message_opcode = opcode
        return pos


def _data_message(opcode: Opcode, data: bytes) -> Message:
    if opcode is Opcode.TEXT:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError(CloseCode.INVALID_PAYLOAD, "text message is not UTF-8") from None
    return Message(opcode, data)
