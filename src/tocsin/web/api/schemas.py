"""Request and response bodies of the HTTP API (validated; they drive the OpenAPI document)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tocsin.models import Actor, Audience, Draft, Priority

UserId = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")
]
MAX_DATA_BYTES = 16_384
MAX_RECIPIENTS = 10_000
MAX_DATA_DEPTH = 32
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


def _check_json(value: Any, depth: int) -> None:
    """Only values every JSON reader agrees on: finite numbers, 64-bit integers, bounded depth."""
    if depth > MAX_DATA_DEPTH:
        raise ValueError(f"data is nested deeper than {MAX_DATA_DEPTH} levels")
    if isinstance(value, dict):
        for item in value.values():
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("data numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        raise ValueError("data integers must fit in 64 bits")


def safe_url(value: str | None) -> str | None:
    """Only http(s) URLs and same-origin paths may be followed by clients."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered.startswith(("http://", "https://")) or (
        value.startswith("/") and not value.startswith("//") and "\\" not in value
    ):
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            raise ValueError("URL contains control characters")
        return value
    raise ValueError("must be an http(s) URL or a path starting with /")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class To(Strict):
    """Recipients: a list of user ids, or everyone (stored once, seen by every user)."""

    users: list[UserId] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    everyone: bool = False

    @model_validator(mode="after")
    def _one_audience(self) -> To:
        if self.everyone and self.users:
            raise ValueError("give either users or everyone, not both")
        if not self.everyone and not self.users:
            raise ValueError("give at least one user, or everyone: true")
        return self


class ActorIn(Strict):
    """Who caused the notification."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    avatar: Annotated[str, StringConstraints(max_length=2048)] | None = None

    _avatar = field_validator("avatar")(safe_url)


class NotificationIn(Strict):
    """A notification to publish."""

    to: To
    type: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")] = (
        "notification"
    )
    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    body: Annotated[str, StringConstraints(max_length=10_000)] = ""
    priority: Priority = Priority.NORMAL
    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    actor: ActorIn | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    expires_at: AwareDatetime | None = None

    _url = field_validator("url")(safe_url)

    @field_validator("data")
    @classmethod
    def _storable_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_json(value, depth=0)
        try:
            encoded = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):
            raise ValueError("data must be plain JSON (strings of valid Unicode)") from None
        if len(encoded) > MAX_DATA_BYTES:
            raise ValueError(f"data is larger than {MAX_DATA_BYTES} bytes")
        return value

    @field_validator("expires_at")
    @classmethod
    def _representable(cls, value: datetime | None) -> datetime | None:
        if (
            value is not None
            and not EARLIEST.timestamp() <= value.timestamp() <= LATEST.timestamp()
        ):
            raise ValueError("must be between 1970 and 9999 (UTC)")
        return value

    def draft(self) -> Draft:
        """The domain form, with recipients deduplicated in order."""
        actor = self.actor
        return Draft(
            audience=Audience(users=tuple(dict.fromkeys(self.to.users)), everyone=self.to.everyone),
            type=self.type,
            title=self.title,
            body=self.body,
            priority=self.priority,
            url=self.url,
            actor=Actor(id=actor.id, name=actor.name, avatar=actor.avatar) if actor else None,
            data=self.data,
            expires_at=int(self.expires_at.timestamp() * 1000) if self.expires_at else None,
        )


class BatchIn(Strict):
    """Many notifications in one request, stored in one transaction."""

    notifications: list[NotificationIn] = Field(min_length=1, max_length=1000)


class PublishedOut(BaseModel):
    id: str
    seq: int
    created_at: datetime


class BatchOut(BaseModel):
    items: list[PublishedOut]


class ActorOut(BaseModel):
    id: str
    name: str | None
    avatar: str | None


class NotificationOut(BaseModel):
    """One item of a user's inbox: the notification and the user's state timestamps."""

    id: str
    seq: int
    type: str
    title: str
    body: str
    priority: Priority
    url: str | None
    actor: ActorOut | None
    data: dict[str, Any]
    audience: Literal["user", "everyone"]
    created_at: datetime
    expires_at: datetime | None
    seen_at: datetime | None
    read_at: datetime | None
    archived_at: datetime | None


class CountsOut(BaseModel):
    unread: int
    unseen: int


class InboxOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")
    counts: CountsOut


class ChangeOut(BaseModel):
    """A read-state change; the same object reaches the user's live connections."""

    action: Literal["seen", "read", "unread", "archived"]
    ids: list[str] | None = Field(description="The items changed; null when all were.")
    all: bool
    at: datetime
    counts: CountsOut


class ErrorOut(BaseModel):
    code: str = Field(description="Stable machine-readable error code.")
    message: str = Field(description="Human explanation.")
    details: list[dict[str, Any]] | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    connections: int = Field(description="Live connections on this node.")
    users: int = Field(description="Distinct users connected to this node.")
    broker: str = Field(
        description="How deliveries reach the other nodes: `memory` (none), `redis` or `nats`."
    )
    pid: int = Field(description="The process that answered (one of the workers, if several).")


class TicketOut(BaseModel):
    ticket: str = Field(description="Pass as `?ticket=`; valid once, for `expires_in` seconds.")
    expires_in: int


class PollOut(BaseModel):
    messages: list[dict[str, Any]] = Field(description="Envelopes, as on the WebSocket.")
    cursor: int = Field(description="Send as `after` in the next poll.")
    counts: CountsOut
