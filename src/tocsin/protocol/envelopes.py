"""The JSON messages of Tocsin's real-time protocol, parsed and built without any I/O.

Every transport (WebSocket now; SSE and long-polling later) carries the same envelopes:
``{"type": ..., ...}`` objects. Frames to clients are encoded once and the same bytes are
written to every target connection.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import orjson

from tocsin.models import Counts, Event, Item, StateChange, iso

MAX_TOKEN_LENGTH = 8192
MAX_SEQ = 2**63 - 1


class Close(enum.IntEnum):
    """Application close codes (4000-4999) sent when the server ends a connection."""

    INVALID_MESSAGE = 4000  # too many malformed messages
    UNAUTHORIZED = 4001  # missing, forged or expired token, or auth sent twice for another user
    AUTH_TIMEOUT = 4002  # no auth message within the allowed time
    TOKEN_EXPIRED = 4003  # the token expired during the session: refresh and reconnect
    SLOW_CONSUMER = 4008  # the client could not keep up: reconnect and resume from its seq
    HEARTBEAT_TIMEOUT = 4010  # nothing received from the client for two heartbeats
    RATE_LIMITED = 4029  # too many messages from the client


class ProtocolError(Exception):
    """A client message that cannot be accepted; ``code`` is stable, ``message`` human."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Auth:
    token: str
    after: int | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    after: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Pong:
    pass


ClientMessage = Auth | Resume | Ping | Pong

_FIELDS: dict[str, frozenset[str]] = {
    "auth": frozenset({"type", "token", "after"}),
    "resume": frozenset({"type", "after"}),
    "ping": frozenset({"type"}),
    "pong": frozenset({"type"}),
}


def parse_client_message(data: bytes | str) -> ClientMessage:
    """Parse one client message.

    Raises:
        ProtocolError: ``malformed_json``, ``invalid_message`` (not an object, unknown type,
            unknown or missing fields, wrong types).
    """
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ProtocolError("malformed_json", "The message is not valid JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message", "A message must be a JSON object.")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise ProtocolError(
            "invalid_message", "Unknown message type; expected auth, resume, ping or pong."
        )
    unknown = set(message) - _FIELDS[kind]
    if unknown:
        raise ProtocolError(
            "invalid_message", f"Unknown field(s) in {kind}: {', '.join(sorted(unknown))}."
        )
    if kind == "auth":
        token = message.get("token")
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise ProtocolError("invalid_message", "auth needs a token string.")
        after = message.get("after")
        return Auth(token=token, after=None if after is None else _seq(after))
    if kind == "resume":
        if "after" not in message:
            raise ProtocolError("invalid_message", "resume needs after (a seq).")
        return Resume(after=_seq(message["after"]))
    return Ping() if kind == "ping" else Pong()


def _seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise ProtocolError("invalid_message", "after must be a non-negative integer seq.")
    return value


def event_dict(event: Event) -> dict[str, Any]:
    """The wire form of a new event (no state yet)."""
    actor = event.actor
    return {
        "id": event.id,
        "seq": event.seq,
        "type": event.type,
        "title": event.title,
        "body": event.body,
        "priority": event.priority.value,
        "url": event.url,
        "actor": None
        if actor is None
        else {"id": actor.id, "name": actor.name, "avatar": actor.avatar},
        "data": event.data,
        "audience": "everyone" if event.audience.everyone else "user",
        "created_at": iso(event.created_at),
        "expires_at": iso(event.expires_at),
        "seen_at": None,
        "read_at": None,
        "archived_at": None,
    }


def item_dict(item: Item) -> dict[str, Any]:
    """The wire form of a user's item: the event plus their state timestamps."""
    wire = event_dict(item.event)
    wire["seen_at"] = iso(item.seen_at)
    wire["read_at"] = iso(item.read_at)
    wire["archived_at"] = iso(item.archived_at)
    return wire


def notification(event: Event) -> bytes:
    """The frame announcing a newly stored event; identical for every recipient."""
    return orjson.dumps(
        {"type": "notification", "seq": event.seq, "notification": event_dict(event)}
    )


def replayed_notification(item: Item) -> bytes:
    """The frame for an item sent again from storage on resume (with its current state)."""
    return orjson.dumps(
        {"type": "notification", "seq": item.event.seq, "notification": item_dict(item)}
    )


def ready(user: str, seq: int, counts: Counts, heartbeat: float) -> bytes:
    """The first frame after a successful auth."""
    return orjson.dumps(
        {
            "type": "ready",
            "user": user,
            "seq": seq,
            "counts": counts.to_dict(),
            "heartbeat": heartbeat,
        }
    )


def resumed(after: int, seq: int, count: int) -> bytes:
    """Sent when a replay is complete: everything up to ``seq`` has been sent."""
    return orjson.dumps({"type": "resumed", "after": after, "seq": seq, "count": count})


def change_dict(change: StateChange) -> dict[str, Any]:
    """The wire form of a read-state change (also the HTTP answer to a mark request)."""
    return {
        "action": change.mark.value,
        "ids": None if change.ids is None else list(change.ids),
        "all": change.ids is None,
        "at": iso(change.at),
        "counts": change.counts.to_dict(),
    }


def state(change: StateChange) -> bytes:
    """The frame telling a user's connections that their read state changed."""
    return orjson.dumps({"type": "state", **change_dict(change)})


def error(code: str, message: str) -> bytes:
    """An error frame; the connection may be closed right after it."""
    return orjson.dumps({"type": "error", "code": code, "message": message})


PING = orjson.dumps({"type": "ping"})
PONG = orjson.dumps({"type": "pong"})
