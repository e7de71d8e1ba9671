"""The storage contract every backend fulfils (SQLite, PostgreSQL).

Storage is the log: every notification is committed before it is delivered, and a client
that resumes after ``seq`` is answered from here, never from a short cache. ``seq`` comes
from one global counter whose row lock is held until commit, so sequence values become
visible in order even when transactions run concurrently on PostgreSQL.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from tocsin.errors import TocsinError
from tocsin.models import ApiKey, Counts, Event, Item, Mark, Published, PublishRequest, StateChange


class Storage(abc.ABC):
    """Notifications, read state, API keys and idempotency records."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the storage cannot be used afterwards."""

    @abc.abstractmethod
    async def publish(
        self, requests: Sequence[PublishRequest], *, now: int, idempotency_ttl_ms: int
    ) -> list[Published | TocsinError]:
        """Store many publish requests in one transaction (group commit).

        Returns one outcome per request, in order: the stored events, the earlier answer
        for a repeated ``Idempotency-Key`` (``replayed=True``), or a ``Conflict`` when that
        key was used with a different body. Everything is committed when this returns.
        """

    @abc.abstractmethod
    async def database_id(self) -> str:
        """A random id made when the schema was created: the same for every node using this
        database, different for any other (broker messages carry it)."""

    @abc.abstractmethod
    async def current_seq(self) -> int:
        """The highest committed ``seq``; every lower value is committed too."""

    @abc.abstractmethod
    async def snapshot(self, users: Sequence[str], *, now: int) -> tuple[int, list[Counts]]:
        """The highest committed ``seq`` and each user's counts, read together: where a
        stream starts. One read for many users (streams that connect together)."""

    @abc.abstractmethod
    async def events(
        self, *, after: int, upto: int, limit: int, users: Sequence[str]
    ) -> list[Event]:
        """Events with ``after < seq <= upto``, oldest first, at most ``limit``, each with
        its audience narrowed to those of ``users`` it was sent to (a broadcast stays one).

        A node reads these when a delivery from another node never arrived; ``users`` are
        the users connected to it.
        """

    @abc.abstractmethod
    async def replay(self, user: str, *, after: int, upto: int, limit: int) -> list[Item]:
        """The user's items with ``after < seq <= upto``, oldest first, at most ``limit``.

        Archived and expired items are left out.
        """

    @abc.abstractmethod
    async def list_items(
        self, user: str, *, before: int | None, limit: int, unread_only: bool, now: int
    ) -> list[Item]:
        """The user's items newest first, with ``seq < before`` when given."""

    @abc.abstractmethod
    async def get_item(self, user: str, item_id: str, *, now: int) -> Item | None:
        """One of the user's items by public id, or None (unknown or someone else's)."""

    @abc.abstractmethod
    async def counts(self, user: str, *, now: int) -> Counts:
        """Unread and unseen counts over items that are neither archived nor expired."""

    @abc.abstractmethod
    async def mark(
        self, user: str, mark: Mark, item_id: str | None, *, now: int
    ) -> StateChange | None:
        """Change the state of one item (by id) or of all the user's items (``None``).

        Returns the change with fresh counts, or None when ``item_id`` is not the user's.
        """

    @abc.abstractmethod
    async def spend_tickets(self, tickets: Sequence[tuple[str, int]], *, now: int) -> list[bool]:
        """Record tickets, given as ``(jti, expires_at)``, as used, in one transaction.

        Returns one answer per ticket, in order: False when it was used before (on any node,
        or earlier in the same call) or has expired by ``now``. Records of expired tickets
        are dropped.
        """

    @abc.abstractmethod
    async def create_api_key(self, name: str, secret_hash: str, *, now: int) -> ApiKey:
        """Store a new API key (its secret only as a hash)."""

    @abc.abstractmethod
    async def find_api_key(self, secret_hash: str) -> ApiKey | None:
        """The live (not revoked) API key with this secret hash, if any."""

    @abc.abstractmethod
    async def list_api_keys(self) -> list[ApiKey]:
        """Every API key, revoked ones included, oldest first."""

    @abc.abstractmethod
    async def revoke_api_key(self, key_id: str, *, now: int) -> bool:
        """Revoke a key; False when no live key has this id."""
