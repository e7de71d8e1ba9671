"""This node's live connections, by user. A frame is encoded once and written to many.

Writes are coalesced: frames queued for a connection during one event-loop tick are flushed
with a single ``transport.write`` at the end of the tick, for every connection at once. The
notifications of one commit addressed to everyone travel as one run: its bytes are joined
once and each connection gets them in one write, at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from tocsin import tasks
from tocsin.broker.base import Delivery
from tocsin.protocol import sse, websocket


class Frame:
    """One encoded message, or a run of consecutive ones (``parts``), and its transport
    framings, each built at most once."""

    __slots__ = ("_sse", "_ws", "first_seq", "parts", "payload", "seq")

    def __init__(self, payload: bytes, seq: int | None = None) -> None:
        self.payload = payload
        self.seq = seq
        self.first_seq = seq
        self.parts: tuple[Frame, ...] = ()
        self._ws: bytes | None = None
        self._sse: bytes | None = None

    @classmethod
    def run(cls, frames: Sequence[Frame]) -> Frame:
        """Frames with increasing seqs as one frame: ``seq`` is the last, ``first_seq`` the
        first; its framings are the parts' framings joined."""
        joined = cls(b"", frames[-1].seq)
        joined.first_seq = frames[0].seq
        joined.parts = tuple(frames)
        return joined

    @property
    def ws(self) -> bytes:
        """The WebSocket text frame(s) carrying the payload."""
        if self._ws is None:
            if self.parts:
                self._ws = b"".join([part.ws for part in self.parts])
            else:
                self._ws = websocket.text_frame(self.payload)
        return self._ws

    @property
    def sse(self) -> bytes:
        """The Server-Sent Event(s) carrying the payload (``id:`` is the seq, if any)."""
        if self._sse is None:
            if self.parts:
                self._sse = b"".join([part.sse for part in self.parts])
            else:
                self._sse = sse.event(self.payload, self.seq)
        return self._sse


class Subscriber(Protocol):
    """A live connection as the hub sees it."""

    user: str

    def send(self, frame: Frame) -> None:
        """Queue a frame (the connection decides whether it is a duplicate)."""

    def deliver(self, frame: Frame) -> None:
        """Like ``send``, but write now if nothing else is queued."""

    def flush(self) -> None:
        """Write what was queued during this tick."""

    def tick(self, now: float, wall: float) -> None:
        """Heartbeat: send pings, close dead or expired connections."""


class Hub:
    """Connections of this node grouped by user, and the per-tick write coalescer."""

    def __init__(self, *, heartbeat_seconds: float = 25.0) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        # The usual lone connection of a user is stored as itself (no container at all), and
        # several as a tuple: 56 bytes for two, where a set takes 216.
        self._by_user: dict[str, Subscriber | tuple[Subscriber, ...]] = {}
        self._dirty: list[Subscriber] = []
        self._flush_scheduled = False
        self._heartbeat: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return sum(len(_as_tuple(entry)) for entry in self._by_user.values())

    @property
    def users(self) -> int:
        """How many distinct users have a live connection here."""
        return len(self._by_user)

    def user_ids(self) -> list[str]:
        """The users with a live connection here, a snapshot."""
        return list(self._by_user)

    def add(self, subscriber: Subscriber) -> None:
        entry = self._by_user.get(subscriber.user)
        if entry is None:
            self._by_user[subscriber.user] = subscriber
            return
        present = _as_tuple(entry)
        if subscriber not in present:
            self._by_user[subscriber.user] = (*present, subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        entry = self._by_user.get(subscriber.user)
        if entry is None:
            return
        present = _as_tuple(entry)
        if subscriber in present:
            rest = tuple(other for other in present if other is not subscriber)
            if not rest:
                del self._by_user[subscriber.user]
            else:
                self._by_user[subscriber.user] = rest[0] if len(rest) == 1 else rest

    def connections(self, user: str) -> int:
        entry = self._by_user.get(user)
        return 0 if entry is None else len(_as_tuple(entry))

    def subscribers(self) -> list[Subscriber]:
        """Every connection here, a snapshot."""
        return self._subscribers()

    def _subscribers(self, users: Iterable[str] | None = None) -> list[Subscriber]:
        """The connections of ``users`` (of everyone if None), a snapshot."""
        by_user = self._by_user
        if users is None:
            entries: Iterable[Subscriber | tuple[Subscriber, ...]] = by_user.values()
        else:
            entries = [by_user[user] for user in users if user in by_user]
        found: list[Subscriber] = []
        for entry in entries:
            if type(entry) is tuple:
                found.extend(entry)
            else:
                found.append(entry)  # type: ignore[arg-type]
        return found

    def dispatch(self, deliveries: Sequence[Delivery]) -> None:
        """Hand committed deliveries, in order, to the connections they target, and write."""
        if all(delivery.everyone and delivery.seq is not None for delivery in deliveries):
            self._broadcast(deliveries)
            return
        for delivery in deliveries:
            frame = Frame(delivery.payload, delivery.seq)
            for subscriber in self._subscribers(None if delivery.everyone else delivery.users):
                subscriber.send(frame)
        self._flush()  # now rather than at the end of the tick: this is all of the commit

    def _broadcast(self, deliveries: Sequence[Delivery]) -> None:
        """Notifications for everyone: one run, one write per connection, written at once."""
        if not deliveries:
            return
        frames = [Frame(delivery.payload, delivery.seq) for delivery in deliveries]
        frame = frames[0] if len(frames) == 1 else Frame.run(frames)
        for subscriber in self._subscribers():
            subscriber.deliver(frame)

    def schedule(self, subscriber: Subscriber) -> None:
        """Flush ``subscriber`` at the end of this loop tick."""
        self._dirty.append(subscriber)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for subscriber in dirty:
            subscriber.flush()

    def start(self) -> None:
        """Start the heartbeat task (one for all connections)."""
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        await tasks.cancel(task)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            now, wall = time.monotonic(), time.time()
            for subscriber in self._subscribers():
                subscriber.tick(now, wall)


def _as_tuple(entry: Subscriber | tuple[Subscriber, ...]) -> tuple[Subscriber, ...]:
    return entry if type(entry) is tuple else (entry,)  # type: ignore[return-value]
