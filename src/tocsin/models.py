"""Domain types shared by every layer: what a notification is, to whom, and its state.

A notification is an *event* stored once (with a global, increasing ``seq``) plus, for each
recipient, an *item* holding that user's read state as timestamps. Times are integer
milliseconds since the Unix epoch inside Tocsin and ISO 8601 strings on the wire.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any


class Priority(enum.StrEnum):
    """How urgent a notification is; clients map it to colours, toasts and modals."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class Mark(enum.StrEnum):
    """A change of one user's state for one or all of their items."""

    SEEN = "seen"
    READ = "read"
    UNREAD = "unread"
    ARCHIVED = "archived"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused the notification (shown as avatar and name on the card)."""

    id: str
    name: str | None = None
    avatar: str | None = None


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives a notification: listed users, or everyone (stored once)."""

    users: tuple[str, ...] = ()
    everyone: bool = False


# Draft and Event are built for every notification published: they are not frozen, since a
# frozen dataclass takes twice as long to build (each field set through object.__setattr__).
# Nothing changes them after they are built.


@dataclass(slots=True)
class Draft:
    """A validated notification that is not stored yet."""

    audience: Audience
    type: str
    title: str
    body: str = ""
    priority: Priority = Priority.NORMAL
    url: str | None = None
    actor: Actor | None = None
    data: dict[str, Any] = field(default_factory=dict)
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """One publish call: its drafts and what makes it idempotent."""

    drafts: tuple[Draft, ...]
    sender: str
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(slots=True)
class Event:
    """A stored notification, identical for every recipient."""

    seq: int
    id: str
    audience: Audience
    type: str
    title: str
    body: str
    priority: Priority
    url: str | None
    actor: Actor | None
    data: dict[str, Any]
    created_at: int
    expires_at: int | None
    sender: str


@dataclass(frozen=True, slots=True)
class Item:
    """One user's view of an event: the event plus that user's state timestamps."""

    event: Event
    seen_at: int | None = None
    read_at: int | None = None
    archived_at: int | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """What a badge shows: items not read yet and items not seen yet."""

    unread: int
    unseen: int

    def to_dict(self) -> dict[str, int]:
        return {"unread": self.unread, "unseen": self.unseen}


@dataclass(frozen=True, slots=True)
class Published:
    """The outcome of a publish request: stored events, or an earlier identical answer."""

    events: tuple[Event, ...]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class StateChange:
    """A committed change of one user's state, to be sent to their other connections."""

    user: str
    mark: Mark
    ids: tuple[str, ...] | None  # None: every item of the user
    at: int
    counts: Counts


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A backend's credential to publish; only a hash of the secret is stored."""

    id: str
    name: str
    created_at: int
    revoked_at: int | None = None


def now_ms() -> int:
    """The current time in integer milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


_last_second: list[tuple[int, str]] = [(-1, "")]


def iso(ms: int | None) -> str | None:
    """Render milliseconds since the epoch as ISO 8601 UTC (``2026-01-02T03:04:05.678Z``)."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    cached_second, text = _last_second[0]
    if seconds != cached_second:  # times cluster: format each second once
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _last_second[0] = (seconds, text)
    return f"{text}.{millis:03d}Z"
