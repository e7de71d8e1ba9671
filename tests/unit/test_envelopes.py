"""The real-time envelopes: parsing client messages and building frames, no sockets."""

from __future__ import annotations

import orjson
import pytest

from tocsin.models import Actor, Audience, Counts, Event, Item, Mark, Priority, StateChange
from tocsin.protocol import envelopes
from tocsin.protocol.envelopes import Auth, Ping, Pong, ProtocolError, Resume, parse_client_message

EVENT = Event(
    seq=7,
    id="e1",
    audience=Audience(users=("alice",)),
    type="message",
    title="<b>Hi</b>",
    body="x",
    priority=Priority.HIGH,
    url="/inbox/1",
    actor=Actor(id="carol", name="Carol", avatar="/a.png"),
    data={"k": [1, 2]},
    created_at=1_700_000_000_123,
    expires_at=None,
    sender="key_1",
)


def test_auth_with_and_without_after() -> None:
    """auth carries a token and an optional non-negative after."""
    assert parse_client_message(b'{"type":"auth","token":"t"}') == Auth(token="t")
    assert parse_client_message('{"type":"auth","token":"t","after":5}') == Auth("t", 5)


def test_resume_ping_pong() -> None:
    """resume needs after; ping and pong take no fields."""
    assert parse_client_message('{"type":"resume","after":0}') == Resume(0)
    assert parse_client_message('{"type":"ping"}') == Ping()
    assert parse_client_message('{"type":"pong"}') == Pong()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[]", "invalid_message"),
        (b'"auth"', "invalid_message"),
        (b'{"type":"subscribe"}', "invalid_message"),
        (b'{"type":1}', "invalid_message"),
        (b'{"token":"t"}', "invalid_message"),
        (b'{"type":"auth"}', "invalid_message"),
        (b'{"type":"auth","token":""}', "invalid_message"),
        (b'{"type":"auth","token":5}', "invalid_message"),
        (b'{"type":"auth","token":"t","after":-1}', "invalid_message"),
        (b'{"type":"auth","token":"t","after":true}', "invalid_message"),
        (b'{"type":"auth","token":"t","after":1.5}', "invalid_message"),
        (b'{"type":"auth","token":"t","after":"3"}', "invalid_message"),
        (b'{"type":"auth","token":"t","extra":1}', "invalid_message"),
        (b'{"type":"resume"}', "invalid_message"),
        (b'{"type":"resume","after":18446744073709551616}', "invalid_message"),
        (b'{"type":"ping","x":1}', "invalid_message"),
    ],
)
def test_bad_messages_raise_stable_codes(raw: bytes, code: str) -> None:
    """Malformed or invalid messages raise ProtocolError with a stable code."""
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    assert info.value.code == code
    assert info.value.message


def test_oversized_token_is_refused() -> None:
    """A token over 8 KiB is refused before any verification."""
    with pytest.raises(ProtocolError):
        parse_client_message(orjson.dumps({"type": "auth", "token": "a" * 9000}))


def test_notification_frame_carries_seq_and_text_as_data() -> None:
    """A notification frame has the seq twice, ISO times, and text exactly as given."""
    frame = orjson.loads(envelopes.notification(EVENT))
    assert frame["type"] == "notification"
    assert frame["seq"] == 7
    body = frame["notification"]
    assert body["seq"] == 7
    assert body["title"] == "<b>Hi</b>"
    assert body["created_at"] == "2023-11-14T22:13:20.123Z"
    assert body["read_at"] is None
    assert body["actor"] == {"id": "carol", "name": "Carol", "avatar": "/a.png"}
    assert body["audience"] == "user"


def test_replayed_frame_includes_state() -> None:
    """A replayed item carries the user's state timestamps."""
    item = Item(event=EVENT, seen_at=1_700_000_000_000, read_at=None)
    body = orjson.loads(envelopes.replayed_notification(item))["notification"]
    assert body["seen_at"] == "2023-11-14T22:13:20.000Z"
    assert body["read_at"] is None


def test_state_ready_resumed_error_frames() -> None:
    """The other server frames have their documented shapes."""
    change = StateChange(user="a", mark=Mark.READ, ids=None, at=0, counts=Counts(0, 1))
    assert orjson.loads(envelopes.state(change)) == {
        "type": "state",
        "action": "read",
        "ids": None,
        "all": True,
        "at": "1970-01-01T00:00:00.000Z",
        "counts": {"unread": 0, "unseen": 1},
    }
    assert orjson.loads(envelopes.ready("a", 3, Counts(1, 2), 25)) == {
        "type": "ready",
        "user": "a",
        "seq": 3,
        "counts": {"unread": 1, "unseen": 2},
        "heartbeat": 25,
    }
    assert orjson.loads(envelopes.resumed(1, 9, 4)) == {
        "type": "resumed",
        "after": 1,
        "seq": 9,
        "count": 4,
    }
    assert orjson.loads(envelopes.error("c", "m")) == {"type": "error", "code": "c", "message": "m"}
