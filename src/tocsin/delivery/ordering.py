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
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from tocsin import tasks
from tocsin.broker.base import Delivery

Batch = Sequence[Delivery]
logger = logging.getLogger("tocsin.delivery")
FILL_PAGE = 1000
MAX_WAITING = 10_000  # runs held behind a gap before it is read from storage at once


class Reorder:
    """Batches in, batches out in seq order; knows the first seq it has not released."""

    def __init__(self) -> None:
        self.next_seq: int | None = None  # None until begin(): nothing is released before
        self.known_seq = 0  # the highest seq known to be committed
        self._early: list[Batch] = []
        self._waiting: dict[int, list[Delivery]] = {}  # by first seq: a gapless run
        self._starts: list[int] = []  # a heap of the keys of _waiting (and some stale ones)

    @property
    def held(self) -> int:
        """How many runs wait behind a gap."""
        return len(self._waiting)

    def begin(self, committed: int) -> list[Batch]:
        """Start after ``committed`` (everything up to it is in storage already)."""
        self.next_seq = committed + 1
        self.known_seq = max(self.known_seq, committed)
        early, self._early = self._early, []
        return [released for batch in early for released in self.push(batch)]

    def reset(self, committed: int) -> None:
        """Start over after ``committed``, forgetting everything held (the database went
        back in time: a restore)."""
        self._waiting.clear()
        self._starts.clear()
        self._early.clear()
        self.next_seq = committed + 1
        self.known_seq = committed

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
            if first == self.next_seq and not self._waiting:
                out.append(run)  # the usual case: in order, nothing held
                self.next_seq = last + 1
                continue
            held = self._waiting.get(first)
            if held is None:
                heapq.heappush(self._starts, first)
            if held is None or _last(held) < last:
                self._waiting[first] = run
        return out + self._release()

    def note_committed(self, seq: int) -> None:
        """Storage says ``seq`` is committed: anything up to it not released is a gap."""
        self.known_seq = max(self.known_seq, seq)

    def gap(self) -> tuple[int, int] | None:
        """The first missing seqs as ``(after, upto)``, or None when nothing is missing."""
        if self.next_seq is None:
            return None
        if self._waiting:
            return self.next_seq - 1, self._lowest() - 1
        if self.known_seq >= self.next_seq:
            return self.next_seq - 1, self.known_seq
        return None

    def missing(self) -> tuple[int, int] | None:
        """Everything known and not released, as ``(after, upto)``: one read from storage
        closes every gap at once (what is held already is skipped as a duplicate)."""
        if self.gap() is None:
            return None
        assert self.next_seq is not None
        return self.next_seq - 1, self.known_seq

    def _lowest(self) -> int:
        starts = self._starts
        while starts[0] not in self._waiting:  # stale: popped, or replaced by a longer run
            heapq.heappop(starts)
        return starts[0]

    def fill(self, batch: Batch, upto: int) -> list[Batch]:
        """Deliveries read from storage for a gap ending at ``upto``; seqs up to it that
        storage did not have (purged) are given up on, and what it had is released."""
        released = self.push(batch)
        while self.next_seq is not None and self.next_seq <= upto:
            if not self._waiting or self._lowest() > upto:
                self.next_seq = upto + 1
                break
            self.next_seq = max(self.next_seq, self._lowest())  # jump what storage lacks
            released += self._release()
        return released + self._release()

    def _release(self) -> list[Batch]:
        out: list[Batch] = []
        waiting = self._waiting
        while waiting:
            first = self._lowest()
            if self.next_seq is None or first > self.next_seq:
                break
            heapq.heappop(self._starts)
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
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._dispatch = dispatch
        self._fetch = fetch
        self._committed = committed
        self._gap_seconds = gap_seconds
        self._check_seconds = check_seconds
        self._max_waiting = max_waiting
        self.reorder = Reorder()
        self._task: asyncio.Task[None] | None = None
        self._urgent = asyncio.Event()  # too much held: read the gap from storage now
        self.filled = 0  # deliveries read from storage to close gaps

    def receive(self, batch: Batch) -> None:
        """Called by the broker with each message's deliveries."""
        self._send(self.reorder.push(batch))
        if self.reorder.held > self._max_waiting:
            self._urgent.set()

    async def start(self) -> None:
        """Begin at the committed seq (call once the broker is receiving)."""
        self._send(self.reorder.begin(await self._committed()))
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await tasks.cancel(task)

    def _send(self, batches: list[Batch]) -> None:
        for batch in batches:
            try:
                self._dispatch(batch)
            except Exception:  # one bad batch must not stop the ones behind it
                logger.exception("dispatching a delivery failed")

    async def _watch(self) -> None:
        """Every tick: read the committed seq when it is due; read from storage everything
        not released once a gap has lasted ``gap_seconds`` (or at once when too much is
        held behind it)."""
        tick = min(self._gap_seconds, self._check_seconds) / 2
        gap_at: int | None = None  # next_seq when the open gap was first seen
        gap_since = 0.0
        checked = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), tick)
            urgent = self._urgent.is_set()
            self._urgent.clear()
            try:
                now = time.monotonic()
                if now - checked >= self._check_seconds:
                    checked = now
                    await self._check_committed()
                if self.reorder.gap() is None:
                    gap_at = None
                    continue
                if gap_at != self.reorder.next_seq:
                    gap_at, gap_since = self.reorder.next_seq, now
                if urgent or now - gap_since >= self._gap_seconds:
                    missing = self.reorder.missing()
                    if missing is not None:
                        await self._fill(*missing)
                    gap_at = None
            except Exception:  # storage away: try again on the next tick
                logger.exception("closing a delivery gap failed")

    async def _check_committed(self) -> None:
        next_seq = self.reorder.next_seq
        released = 0 if next_seq is None else next_seq - 1  # all committed before the read
        committed = await self._committed()
        if committed < released:
            logger.warning(
                "the database's seq went back from %d to %d (restored?): starting over",
                released,
                committed,
            )
            self.reorder.reset(committed)
            return
        self.reorder.note_committed(committed)

    async def _fill(self, after: int, upto: int) -> None:
        logger.warning("seqs %d..%d did not all arrive: reading them from storage", after + 1, upto)
        while after < upto:
            page = await self._fetch(after, upto, FILL_PAGE)
            end = upto if len(page) < FILL_PAGE else max(d.seq or after for d in page)
            self.filled += len(page)
            self._send(self.reorder.fill(page, end))
            after = end
