"""Deliveries from many nodes, put back in seq order before any connection sees them.

A connection skips every frame at or below the last seq it sent, so a frame that arrives
after a higher one would be lost on it. One node's commits leave it in order, but the
broker interleaves several nodes' messages: node A's seq 41 may reach node C after node
B's seq 42. Seqs are gapless (one counter, taken inside the transaction that stores the
events), so a receiving node knows exactly what it still waits for:

- :class:`Reorder` (pure) releases batches in seq order, holding back those that come
  early, and names the gap it waits on;
- :class:`InOrder` (asyncio) feeds it from the broker, and when a gap outlives
  ``gap_seconds`` (a node died between commit and publish, the broker dropped a message)
  reads the missing events from storage. It also reads the committed seq every
  ``check_seconds``, so a lost message at the very end of the stream is found too.

Frames without a seq (read-state changes) are not ordered: they pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from tocsin.broker.base import Delivery

Batch = Sequence[Delivery]
logger = logging.getLogger("tocsin.delivery")
FILL_PAGE = 1000


class Reorder:
    """Batches in, batches out in seq order; knows the first seq it has not released."""

    def __init__(self) -> None:
        self.next_seq: int | None = None  # None until begin(): nothing is released before
        self.known_seq = 0  # the highest seq known to be committed
        self._early: list[Batch] = []
        self._waiting: dict[int, list[Delivery]] = {}  # by first seq: a gapless run

    def begin(self, committed: int) -> list[Batch]:
        """Start after ``committed`` (everything up to it is in storage already)."""
        self.next_seq = committed + 1
        self.known_seq = max(self.known_seq, committed)
        early, self._early = self._early, []
        return [released for batch in early for released in self.push(batch)]

    def push(self, batch: Batch) -> list[Batch]:
        """Take a batch; return the batches that can go out now, in order."""
        stateless = [delivery for delivery in batch if delivery.seq is None]
        out: list[Batch] = [stateless] if stateless else []
        if len(stateless) == len(batch):
            return out
        if self.next_seq is None:
            self._early.append([delivery for delivery in batch if delivery.seq is not None])
            return out
        for run in _runs(batch):
            first, last = _first(run), _last(run)
            self.known_seq = max(self.known_seq, last)
            if last < self.next_seq:
                continue  # released already (a duplicate, or filled from storage)
            held = self._waiting.get(first)
            if held is None or _last(held) < last:
                self._waiting[first] = run
        return out + self._release()

    def note_committed(self, seq: int) -> None:
        """Storage says ``seq`` is committed: anything up to it not released is a gap."""
        self.known_seq = max(self.known_seq, seq)

    def gap(self) -> tuple[int, int] | None:
        """The missing seqs as ``(after, upto)``, or None when nothing is missing."""
        if self.next_seq is None:
            return None
        if self._waiting:
            return self.next_seq - 1, min(self._waiting) - 1
        if self.known_seq >= self.next_seq:
            return self.next_seq - 1, self.known_seq
        return None

    def fill(self, batch: Batch, upto: int) -> list[Batch]:
        """Deliveries read from storage for a gap ending at ``upto``; seqs up to it that
        storage did not have (purged) are given up on, and what it had is released."""
        released = self.push(batch)
        while self.next_seq is not None and self.next_seq <= upto:
            behind = [first for first in self._waiting if first <= upto]
            if not behind:
                self.next_seq = upto + 1
                break
            self.next_seq = max(self.next_seq, min(behind))  # jump what storage lacks
            released += self._release()
        return released + self._release()

    def _release(self) -> list[Batch]:
        out: list[Batch] = []
        waiting = self._waiting
        while waiting:
            first = min(waiting)
            if self.next_seq is None or first > self.next_seq:
                break
            run = waiting.pop(first)
            if first < self.next_seq:  # overlaps what went out: keep only the rest
                run = [delivery for delivery in run if _seq(delivery) >= self.next_seq]
                if not run:
                    continue
            out.append(run)
            self.next_seq = _last(run) + 1
        return out


def _seq(delivery: Delivery) -> int:
    assert delivery.seq is not None
    return delivery.seq


def _first(run: Sequence[Delivery]) -> int:
    return _seq(run[0])


def _last(run: Sequence[Delivery]) -> int:
    return _seq(run[-1])


def _runs(batch: Batch) -> list[list[Delivery]]:
    """The batch's deliveries that have a seq, cut into gapless runs of increasing seqs."""
    runs: list[list[Delivery]] = []
    for delivery in batch:
        seq = delivery.seq
        if seq is None:
            continue
        if runs and seq == _last(runs[-1]) + 1:
            runs[-1].append(delivery)
        else:
            runs.append([delivery])
    return runs


Dispatch = Callable[[Batch], None]
Fetch = Callable[[int, int, int], Awaitable[list[Delivery]]]  # (after, upto, limit)


class InOrder:
    """The broker's subscriber on a node of many: reorders, fills gaps, dispatches."""

    def __init__(
        self,
        dispatch: Dispatch,
        *,
        fetch: Fetch,
        committed: Callable[[], Awaitable[int]],
        gap_seconds: float = 0.5,
        check_seconds: float = 1.0,
    ) -> None:
        self._dispatch = dispatch
        self._fetch = fetch
        self._committed = committed
        self._gap_seconds = gap_seconds
        self._check_every = max(1, round(check_seconds / gap_seconds))
        self.reorder = Reorder()
        self._task: asyncio.Task[None] | None = None
        self.filled = 0  # deliveries read from storage to close gaps

    def receive(self, batch: Batch) -> None:
        """Called by the broker with each message's deliveries."""
        self._send(self.reorder.push(batch))

    async def start(self) -> None:
        """Begin at the committed seq (call once the broker is receiving)."""
        self._send(self.reorder.begin(await self._committed()))
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _send(self, batches: list[Batch]) -> None:
        for batch in batches:
            try:
                self._dispatch(batch)
            except Exception:  # one bad batch must not stop the ones behind it
                logger.exception("dispatching a delivery failed")

    async def _watch(self) -> None:
        stuck_at: int | None = None  # next_seq when a gap was seen on the previous tick
        ticks = 0
        while True:
            await asyncio.sleep(self._gap_seconds)
            ticks += 1
            try:
                if ticks % self._check_every == 0:
                    self.reorder.note_committed(await self._committed())
                gap = self.reorder.gap()
                if gap is not None and stuck_at == self.reorder.next_seq:
                    await self._fill(*gap)
                    gap = self.reorder.gap()
                stuck_at = None if gap is None else self.reorder.next_seq
            except Exception:  # storage away: try again on the next tick
                logger.exception("closing a delivery gap failed")

    async def _fill(self, after: int, upto: int) -> None:
        logger.warning("seqs %d..%d did not arrive: reading them from storage", after + 1, upto)
        while after < upto:
            page = await self._fetch(after, upto, FILL_PAGE)
            end = upto if len(page) < FILL_PAGE else max(d.seq or after for d in page)
            self.filled += len(page)
            self._send(self.reorder.fill(page, end))
            after = end
