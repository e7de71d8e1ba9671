"""The broker wire format: a batch of deliveries as one message, and every way one is broken."""

from __future__ import annotations

import orjson
import pytest

from tocsin.broker.base import Delivery
from tocsin.broker.wire import WireError, decode, encode, origin

NODE = "4f0c9e2a"


def message(entries: object, body: bytes = b"", node: object = NODE) -> bytes:
    """A message with the given header fields, built by hand (not by ``encode``)."""
    return orjson.dumps({"node": node, "d": entries}) + b"\n" + body


def test_a_batch_of_deliveries_survives_the_round_trip() -> None:
    """decode(encode(...)) gives back the node and every delivery, in order and intact."""
    deliveries = [
        Delivery(b'{"type":"notification","seq":17}', ("alice",), False, 17),
        Delivery(b'{"type":"state"}', ("bob", "carol"), False, None),
        Delivery(b"for all", (), True, 18),
        Delivery(b"", ("dave",), False, 19),
        Delivery(b"\n\x00\xff\n{\n", ("erin",), False, 20),
        Delivery(b"x" * 70_000, ("zoë", "用户", "😀", 'q"\\', "line\nbreak"), False, 21),
    ]
    node, decoded = decode(encode(NODE, deliveries))
    assert node == NODE
    assert decoded == deliveries


def test_a_message_is_one_json_line_then_the_raw_payloads() -> None:
    """The header is the only line before the payloads, which follow unescaped."""
    raw = encode(NODE, [Delivery(b"a\nb", ("u\n",), False, 5), Delivery(b"cd", (), True, None)])
    head, _, body = raw.partition(b"\n")
    entries = [[5, False, ["u\n"], 3], [None, True, [], 2]]
    assert orjson.loads(head) == {"node": NODE, "db": "", "d": entries}
    assert body == b"a\nbcd"


def test_an_empty_batch_round_trips() -> None:
    """A message with no deliveries decodes to an empty list."""
    assert decode(encode(NODE, [])) == (NODE, [])


def test_payload_slices_do_not_bleed_into_each_other() -> None:
    """Each delivery gets exactly its own bytes, even when sizes are zero or adjacent."""
    deliveries = [
        Delivery(payload, (), True, seq)
        for seq, payload in enumerate([b"", b"a", b"", b"bc", b"\n", b""], start=1)
    ]
    _, decoded = decode(encode(NODE, deliveries))
    assert [d.payload for d in decoded] == [b"", b"a", b"", b"bc", b"\n", b""]
    assert [d.seq for d in decoded] == [1, 2, 3, 4, 5, 6]


def test_a_hand_built_message_decodes() -> None:
    """The documented layout is what decode reads (the reference for the malformed cases)."""
    node, [one, two] = decode(message([[17, False, ["alice"], 3], [None, True, [], 2]], b"abcde"))
    assert node == NODE
    assert one == Delivery(b"abc", ("alice",), False, 17)
    assert two == Delivery(b"de", (), True, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"node":"n","d":[]}', "no newline"),
        (b"", "empty message"),
        (b"not json\n", "header is not JSON"),
        (b'{"node":"n","d":[]\n', "header is cut short"),
        (b"\xff\xfe\n", "header is not UTF-8"),
        (b'["n",[]]\n', "header is a list"),
        (b'"n"\n', "header is a string"),
        (b"null\n", "header is null"),
        (b'{"d":[]}\n', "header has no node"),
        (b'{"node":7,"d":[]}\n', "node is not a string"),
        (b'{"node":null,"d":[]}\n', "node is null"),
        (b'{"node":"n"}\n', "header has no d"),
        (b'{"node":"n","d":{}}\n', "d is an object"),
        (b'{"node":"n","d":"x"}\n', "d is a string"),
        (b'{"node":"n","d":null}\n', "d is null"),
    ],
)
def test_a_broken_header_is_a_wire_error(raw: bytes, reason: str) -> None:
    """A message whose header line is missing or not the expected object raises WireError."""
    with pytest.raises(WireError):
        decode(raw)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ([1, False, [], 0, 0], "five fields"),
        ([1, False, []], "three fields"),
        ([], "no fields"),
        ({"seq": 1}, "an object"),
        ("1,false,[],0", "a string"),
        (None, "null"),
        ([True, False, [], 0], "bool as seq"),
        ([False, False, [], 0], "false as seq"),
        ([0, False, [], 0], "seq 0"),
        ([-3, False, [], 0], "negative seq"),
        ([1.0, False, [], 0], "float seq"),
        (["1", False, [], 0], "string seq"),
        ([1, 0, [], 0], "everyone is an int"),
        ([1, None, [], 0], "everyone is null"),
        ([1, "true", [], 0], "everyone is a string"),
        ([1, False, [1], 0], "a user is an int"),
        ([1, False, ["a", None], 0], "a user is null"),
        ([1, False, [["a"]], 0], "a user is a list"),
        ([1, False, "alice", 0], "users is a string"),
        ([1, False, None, 0], "users is null"),
        ([1, False, [], -1], "negative size"),
        ([1, False, [], 1.0], "float size"),
        ([1, False, [], True], "bool as size"),
        ([1, False, [], "0"], "string size"),
        ([1, False, [], None], "null size"),
    ],
)
def test_a_malformed_entry_is_a_wire_error(entry: object, reason: str) -> None:
    """An entry that is not [positive seq or null, bool, [str...], size >= 0] raises."""
    with pytest.raises(WireError):
        decode(message([entry]))


def test_a_malformed_entry_after_good_ones_is_a_wire_error() -> None:
    """One bad entry spoils the whole message, wherever it is."""
    with pytest.raises(WireError):
        decode(message([[1, False, ["a"], 1], [2, False, ["b"], 1], [0, False, [], 0]], b"xy"))


@pytest.mark.parametrize(
    ("sizes", "body"),
    [
        ([4], b"abc"),
        ([0, 1], b""),
        ([2, 2], b"abc"),
        ([1], b""),
    ],
)
def test_a_truncated_payload_is_a_wire_error(sizes: list[int], body: bytes) -> None:
    """Sizes adding up to more than the bytes after the header raise WireError."""
    with pytest.raises(WireError, match="truncated"):
        decode(message([[i + 1, False, [], size] for i, size in enumerate(sizes)], body))


@pytest.mark.parametrize(
    ("sizes", "body"),
    [
        ([2], b"abc"),
        ([], b"x"),
        ([0], b"\n"),
        ([1, 1], b"abc"),
    ],
)
def test_trailing_bytes_are_a_wire_error(sizes: list[int], body: bytes) -> None:
    """Bytes left after the last payload raise WireError."""
    with pytest.raises(WireError, match="after the last payload"):
        decode(message([[i + 1, False, [], size] for i, size in enumerate(sizes)], body))


def test_an_encoded_message_cut_anywhere_does_not_decode() -> None:
    """Every proper prefix of a real message is rejected, never misread."""
    raw = encode(NODE, [Delivery(b"hello", ("a",), False, 1), Delivery(b"\nworld", (), True, 2)])
    for end in range(len(raw)):
        with pytest.raises(WireError):
            decode(raw[:end])


def test_wire_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch a bad broker message."""
    assert issubclass(WireError, ValueError)


def test_origin_names_node_and_database_without_decoding_the_deliveries() -> None:
    """origin() reads who sent a message from its first bytes, for encoded and hand-built
    headers alike, and refuses a header that names no node."""
    raw = encode(NODE, [Delivery(b"x", ("u",), False, 1)], database="00ff")
    assert origin(raw) == (NODE, "00ff")
    assert origin(encode(NODE, [])) == (NODE, "")
    assert origin(b'{"d":[],"node":"n1","db":"ab"}\n') == ("n1", "ab")
    assert origin(b'{"node":"n1","d":[]}\n') == ("n1", "")
    for bad in (b"", b"{}\n", b'{"node":1}\n', b'{"node":"n","db":2}\n', b"not json\n"):
        with pytest.raises(WireError):
            origin(bad)
