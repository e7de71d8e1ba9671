"""RFC 6455 framing: our builders and FrameParser, cross-checked against `websockets`."""

from __future__ import annotations

import random
import struct

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame
from websockets.frames import Opcode as WsOpcode
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from tocsin.protocol.websocket import (
    CloseCode,
    FrameError,
    FrameParser,
    Message,
    Opcode,
    binary_frame,
    close_frame,
    parse_close_payload,
    ping_frame,
    pong_frame,
    text_frame,
)

MASK = b"\x37\xfa\x21\x3d"  # the masking key of the RFC 6455 §5.7 examples
LENGTHS = [0, 1, 125, 126, 65535, 65536, 100000]


def masked(first: int, payload: bytes, *, mask: bytes = MASK, length: int | None = None) -> bytes:
    """Build a client frame by hand, so invalid headers can be expressed too."""
    declared = len(payload) if length is None else length
    if declared < 126:
        header = bytes((first, 0x80 | declared))
    elif declared < 0x10000:
        header = struct.pack("!BBH", first, 0x80 | 126, declared)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, declared)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body


def client_frame(opcode: WsOpcode, data: bytes, *, fin: bool = True) -> bytes:
    """Serialize a masked client frame with the websockets library."""
    return Frame(opcode, data, fin=fin).serialize(mask=True, extensions=[])


def ws_parse_server_frame(data: bytes) -> Frame:
    """Parse one unmasked server frame with websockets, requiring every byte be used."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False, max_size=None, extensions=[])
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        assert not reader.buffer, "trailing bytes after the frame"
        return frame
    raise AssertionError("websockets wanted more bytes")


def open_client() -> ClientProtocol:
    """A websockets sans-I/O client whose handshake is taken as done."""
    return ClientProtocol(parse_uri("ws://example.com/v1/ws"), state=State.OPEN, max_size=None)


def feed_bytewise(parser: FrameParser, data: bytes) -> list[Message]:
    """Feed bytes one at a time and collect every message returned."""
    return [message for i in range(len(data)) for message in parser.feed(data[i : i + 1])]


def feed_error(parser: FrameParser, data: bytes) -> FrameError:
    """Feed bytes that must be refused and return the error."""
    with pytest.raises(FrameError) as caught:
        parser.feed(data)
    return caught.value


# ---------------------------------------------------------------- RFC 6455 §5.7 examples


def test_rfc_masked_text_example_decodes() -> None:
    """The RFC's masked "Hello" text frame decodes to one TEXT message."""
    frame = bytes.fromhex("818537fa213d7f9f4d5158")
    assert FrameParser(1024).feed(frame) == [Message(Opcode.TEXT, b"Hello")]


def test_rfc_masked_pong_example_decodes() -> None:
    """The RFC's masked "Hello" pong decodes to a PONG message."""
    frame = bytes.fromhex("8a8537fa213d7f9f4d5158")
    assert FrameParser(1024).feed(frame) == [Message(Opcode.PONG, b"Hello")]


def test_rfc_unmasked_examples_are_built_byte_exact() -> None:
    """Text, ping and both extended-length headers match the RFC's literal bytes."""
    assert text_frame(b"Hello") == bytes.fromhex("810548656c6c6f")
    assert ping_frame(b"Hello") == bytes.fromhex("890548656c6c6f")
    assert binary_frame(bytes(256))[:4] == bytes.fromhex("827e0100")
    assert binary_frame(bytes(65536))[:10] == bytes.fromhex("827f0000000000010000")


# ---------------------------------------------------------------- builders vs websockets


@pytest.mark.parametrize("length", LENGTHS)
def test_text_frame_parses_with_websockets(length: int) -> None:
    """websockets reads our TEXT frame back for every length form."""
    payload = b"x" * length
    frame = ws_parse_server_frame(text_frame(payload))
    assert (frame.opcode, frame.fin, bytes(frame.data)) == (WsOpcode.TEXT, True, payload)


@pytest.mark.parametrize("length", LENGTHS)
def test_binary_frame_parses_with_websockets(length: int) -> None:
    """websockets reads our BINARY frame back for every length form."""
    payload = bytes(i % 251 for i in range(length))
    frame = ws_parse_server_frame(binary_frame(payload))
    assert (frame.opcode, frame.fin, bytes(frame.data)) == (WsOpcode.BINARY, True, payload)


def test_header_uses_the_shortest_length_form() -> None:
    """Lengths pick the 7-bit, 16-bit or 64-bit form at 126 and 65536."""
    sizes = {n: len(text_frame(bytes(n))) - n for n in LENGTHS}
    assert sizes == {0: 2, 1: 2, 125: 2, 126: 4, 65535: 4, 65536: 10, 100000: 10}


def test_server_frames_are_accepted_by_a_websockets_client() -> None:
    """A websockets client receives our text, binary, ping and close frames."""
    client = open_client()
    client.receive_data(text_frame(b'{"a":1}') + binary_frame(b"\x00\xff") + ping_frame(b"p"))
    client.receive_data(close_frame(CloseCode.GOING_AWAY, "bye"))
    frames = [event for event in client.events_received() if isinstance(event, Frame)]
    assert [(f.opcode, bytes(f.data)) for f in frames] == [
        (WsOpcode.TEXT, b'{"a":1}'),
        (WsOpcode.BINARY, b"\x00\xff"),
        (WsOpcode.PING, b"p"),
        (WsOpcode.CLOSE, b"\x03\xe9bye"),
    ]
    assert client.close_rcvd == Close(1001, "bye")


def test_control_frames_parse_with_websockets() -> None:
    """Ping, pong and close frames are valid control frames for websockets."""
    assert ws_parse_server_frame(ping_frame()).opcode == WsOpcode.PING
    pong = ws_parse_server_frame(pong_frame(b"x" * 125))
    assert (pong.opcode, bytes(pong.data)) == (WsOpcode.PONG, b"x" * 125)
    close = ws_parse_server_frame(close_frame(1000, "done"))
    assert Close.parse(bytes(close.data)) == Close(1000, "done")


def test_ping_and_pong_refuse_payloads_over_125_bytes() -> None:
    """Control payloads longer than 125 bytes raise ValueError."""
    with pytest.raises(ValueError, match="125"):
        ping_frame(bytes(126))
    with pytest.raises(ValueError, match="125"):
        pong_frame(bytes(126))


def test_close_frame_without_code_has_an_empty_payload() -> None:
    """close_frame() with no code sends an empty CLOSE payload."""
    assert close_frame() == b"\x88\x00"


def test_close_frame_truncates_reason_at_a_character_boundary() -> None:
    """A long multi-byte reason is cut to fit 125 bytes without splitting a character."""
    frame = close_frame(CloseCode.POLICY_VIOLATION, "é" * 100)
    payload = bytes(ws_parse_server_frame(frame).data)
    assert len(payload) == 124  # 2-byte code + 61 two-byte characters; 123 would split one
    assert Close.parse(payload) == Close(1008, "é" * 61)


def test_close_frame_refuses_reserved_codes_and_orphan_reasons() -> None:
    """Codes that may not go on the wire, or a reason without a code, raise ValueError."""
    for code in (999, 1004, 1005, 1006, 1015, 2999, 5000):
        with pytest.raises(ValueError, match="may not be sent"):
            close_frame(code)
    with pytest.raises(ValueError, match="needs a close code"):
        close_frame(None, "why")


# ---------------------------------------------------------------- parser vs websockets


@pytest.mark.parametrize("length", LENGTHS)
def test_websockets_client_frames_decode(length: int) -> None:
    """Masked frames serialized by websockets decode for every length form."""
    payload = b"y" * length
    data = client_frame(WsOpcode.TEXT, payload) + client_frame(WsOpcode.BINARY, payload)
    assert FrameParser(100000).feed(data) == [
        Message(Opcode.TEXT, payload),
        Message(Opcode.BINARY, payload),
    ]


def test_websockets_client_protocol_output_decodes() -> None:
    """A websockets client's fragmented text, pings and close come out as messages."""
    client = open_client()
    client.send_text("héllo ".encode(), fin=False)
    client.send_ping(b"1")
    client.send_continuation("wörld".encode(), fin=True)
    client.send_binary(b"\x00\x01")
    client.send_close(1000, "done")
    parser = FrameParser(1 << 20)
    messages = [m for chunk in client.data_to_send() for m in parser.feed(chunk)]
    assert messages == [
        Message(Opcode.PING, b"1"),
        Message(Opcode.TEXT, "héllo wörld".encode()),
        Message(Opcode.BINARY, b"\x00\x01"),
        Message(Opcode.CLOSE, b"\x03\xe8done"),
    ]
    assert parse_close_payload(messages[-1].data) == (1000, "done")


# ---------------------------------------------------------------- incremental feeding


def test_byte_by_byte_feeding_yields_each_message_once_complete() -> None:
    """Fed one byte at a time, a message appears exactly when its last byte arrives."""
    parser = FrameParser(1 << 20)
    data = client_frame(WsOpcode.TEXT, b"a" * 300) + client_frame(WsOpcode.PING, b"hi")
    results = [parser.feed(data[i : i + 1]) for i in range(len(data))]
    first_end = len(data) - 8
    assert results[first_end - 1] == [Message(Opcode.TEXT, b"a" * 300)]
    assert results[-1] == [Message(Opcode.PING, b"hi")]
    assert sum(len(r) for r in results) == 2


def test_many_frames_in_one_feed() -> None:
    """One chunk holding many frames and half of the next returns the whole ones."""
    frames = [client_frame(WsOpcode.TEXT, f"m{i}".encode()) for i in range(50)]
    tail = client_frame(WsOpcode.BINARY, b"last")
    parser = FrameParser(1024)
    got = parser.feed(b"".join(frames) + tail[:3])
    assert got == [Message(Opcode.TEXT, f"m{i}".encode()) for i in range(50)]
    assert parser.feed(tail[3:]) == [Message(Opcode.BINARY, b"last")]


def test_random_splits_give_the_same_messages() -> None:
    """However a stream is cut into chunks, the decoded messages are the same."""
    rng = random.Random(6455)
    stream = b"".join(
        client_frame(WsOpcode.BINARY, rng.randbytes(rng.choice([0, 5, 125, 126, 70000])))
        for _ in range(30)
    )
    expected = FrameParser(1 << 20).feed(stream)
    assert len(expected) == 30
    for _ in range(20):
        parser = FrameParser(1 << 20)
        got: list[Message] = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 9000)
            got += parser.feed(stream[pos : pos + step])
            pos += step
        assert got == expected


def test_empty_feed_returns_nothing() -> None:
    """Feeding no bytes returns no messages."""
    assert FrameParser(10).feed(b"") == []


def test_fragmented_message_with_interleaved_ping() -> None:
    """Fragments are joined, and a ping between them comes out first on its own."""
    parser = FrameParser(1024)
    assert parser.feed(client_frame(WsOpcode.BINARY, b"ab", fin=False)) == []
    assert parser.feed(client_frame(WsOpcode.PING, b"p")) == [Message(Opcode.PING, b"p")]
    assert parser.feed(client_frame(WsOpcode.CONT, b"", fin=False)) == []
    assert parser.feed(client_frame(WsOpcode.CONT, b"cd", fin=True)) == [
        Message(Opcode.BINARY, b"abcd")
    ]
    assert parser.feed(client_frame(WsOpcode.TEXT, b"next")) == [Message(Opcode.TEXT, b"next")]


def test_text_fragments_may_split_a_utf8_character() -> None:
    """UTF-8 is checked on the whole message, so a character split over fragments is fine."""
    data = "€".encode()
    frames = client_frame(WsOpcode.TEXT, data[:1], fin=False) + client_frame(
        WsOpcode.CONT, data[1:], fin=True
    )
    assert FrameParser(16).feed(frames) == [Message(Opcode.TEXT, data)]


def test_message_at_exactly_the_limit_is_accepted() -> None:
    """A message of max_message_size bytes, fragmented or not, is accepted."""
    parser = FrameParser(10)
    whole = client_frame(WsOpcode.BINARY, bytes(10))
    parts = client_frame(WsOpcode.BINARY, bytes(4), fin=False) + client_frame(
        WsOpcode.CONT, bytes(6)
    )
    assert parser.feed(whole + parts) == [Message(Opcode.BINARY, bytes(10))] * 2


def test_control_frames_are_not_bound_by_the_message_limit() -> None:
    """Pings up to 125 bytes pass even when max_message_size is smaller."""
    assert FrameParser(0).feed(client_frame(WsOpcode.PING, bytes(125))) == [
        Message(Opcode.PING, bytes(125))
    ]


def test_parser_uses_slots() -> None:
    """FrameParser has no per-instance __dict__ (20,000 live at once)."""
    assert not hasattr(FrameParser(10), "__dict__")


def test_negative_limit_is_refused() -> None:
    """A negative max_message_size raises ValueError."""
    with pytest.raises(ValueError, match="max_message_size"):
        FrameParser(-1)


# ---------------------------------------------------------------- protocol errors


BAD_UTF8 = b"\xc3\x28"

ERROR_CASES = [
    pytest.param(bytes.fromhex("810548656c6c6f"), 1002, id="unmasked"),
    pytest.param(masked(0xC1, b"x"), 1002, id="rsv1"),
    pytest.param(masked(0xA1, b"x"), 1002, id="rsv2"),
    pytest.param(masked(0x91, b"x"), 1002, id="rsv3"),
    *(pytest.param(masked(0x80 | op, b""), 1002, id=f"opcode-{op:x}") for op in (3, 7, 0xB, 0xF)),
    pytest.param(masked(0x89, bytes(126)), 1002, id="ping-126-bytes"),
    pytest.param(masked(0x88, b"", length=70000)[:10], 1002, id="close-64-bit-length"),
    pytest.param(masked(0x09, b"p"), 1002, id="fragmented-ping"),
    pytest.param(masked(0x80, b"x"), 1002, id="continuation-without-start"),
    pytest.param(masked(0x01, b"a") + masked(0x81, b"b"), 1002, id="text-while-fragmented"),
    pytest.param(masked(0x02, b"a") + masked(0x02, b"b"), 1002, id="binary-while-fragmented"),
    pytest.param(b"\x82\xff" + b"\x80" + bytes(7), 1002, id="64-bit-length-top-bit"),
    pytest.param(masked(0x81, BAD_UTF8), 1007, id="bad-utf8"),
    pytest.param(masked(0x01, b"\xc3") + masked(0x80, b"\xff"), 1007, id="bad-utf8-fragmented"),
    pytest.param(masked(0x01, b"ok") + masked(0x80, b"\xed\xa0\x80"), 1007, id="surrogate"),
    pytest.param(masked(0x82, bytes(101)), 1009, id="too-big"),
    pytest.param(masked(0x02, bytes(60)) + masked(0x80, bytes(41)), 1009, id="fragments-too-big"),
]


@pytest.mark.parametrize(("data", "code"), ERROR_CASES)
def test_protocol_violations_raise_with_close_code(data: bytes, code: int) -> None:
    """Each violation raises FrameError with the close code the RFC prescribes."""
    error = feed_error(FrameParser(100), data)
    assert error.code == code
    assert error.reason


@pytest.mark.parametrize(("data", "code"), ERROR_CASES)
def test_protocol_violations_are_found_byte_by_byte(data: bytes, code: int) -> None:
    """Violations are found the same way when the bytes trickle in one at a time."""
    parser = FrameParser(100)
    with pytest.raises(FrameError) as caught:
        feed_bytewise(parser, data)
    assert caught.value.code == code


def test_too_big_is_raised_from_the_header_alone() -> None:
    """A huge declared length raises 1009 before any payload byte is sent."""
    huge = struct.pack("!BBQ", 0x82, 0x80 | 127, 1 << 40)
    assert feed_error(FrameParser(1 << 20), huge).code == CloseCode.MESSAGE_TOO_BIG
    medium = struct.pack("!BBH", 0x81, 0x80 | 126, 60000)
    assert feed_error(FrameParser(1000), medium).code == CloseCode.MESSAGE_TOO_BIG


def test_too_big_fragment_is_raised_from_its_header() -> None:
    """A continuation whose declared length overflows the limit fails before its payload."""
    parser = FrameParser(100)
    parser.feed(masked(0x02, bytes(90)))
    header = struct.pack("!BB", 0x80, 0x80 | 11)
    assert feed_error(parser, header).code == CloseCode.MESSAGE_TOO_BIG


def test_dead_parser_raises_the_same_error_again() -> None:
    """After a FrameError every feed, even of valid bytes, raises the same error."""
    parser = FrameParser(100)
    first = feed_error(parser, masked(0xC1, b"x"))
    for data in (b"", client_frame(WsOpcode.TEXT, b"fine")):
        again = feed_error(parser, data)
        assert (again.code, again.reason) == (first.code, first.reason)


def test_error_drops_messages_of_the_same_chunk() -> None:
    """A chunk with a valid frame then a bad one raises; the connection is failed."""
    parser = FrameParser(100)
    data = client_frame(WsOpcode.TEXT, b"ok") + masked(0x83, b"")
    assert feed_error(parser, data).code == CloseCode.PROTOCOL_ERROR


# ---------------------------------------------------------------- close payloads


def test_parse_close_payload_accepts_valid_codes() -> None:
    """Empty payloads give no code; wire-legal codes come back with their reason."""
    assert parse_close_payload(b"") == (None, "")
    for code in (1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999):
        assert parse_close_payload(code.to_bytes(2, "big") + "ré".encode()) == (code, "ré")


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_parse_close_payload_refuses_illegal_codes(code: int) -> None:
    """Reserved, local-only and out-of-range codes are a 1002 protocol error."""
    with pytest.raises(FrameError) as caught:
        parse_close_payload(code.to_bytes(2, "big"))
    assert caught.value.code == CloseCode.PROTOCOL_ERROR


def test_parse_close_payload_refuses_one_byte_and_bad_utf8() -> None:
    """A 1-byte payload is 1002; a reason that is not UTF-8 is 1007."""
    with pytest.raises(FrameError) as short:
        parse_close_payload(b"\x03")
    assert short.value.code == 1002
    with pytest.raises(FrameError) as bad:
        parse_close_payload(b"\x03\xe8" + BAD_UTF8)
    assert bad.value.code == 1007


def test_close_frame_round_trips_through_the_parser() -> None:
    """A close frame we build, masked like a client's, parses back to its code and reason."""
    frame = close_frame(CloseCode.SERVICE_RESTART, "restarting")
    (message,) = FrameParser(0).feed(masked(frame[0], frame[2:]))
    assert message.opcode is Opcode.CLOSE
    assert parse_close_payload(message.data) == (1012, "restarting")
