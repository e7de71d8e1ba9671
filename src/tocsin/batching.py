"""Many callers, one trip: calls that arrive together are answered by one batch.

A burst of connections each needing a small read or write (the counts a stream starts with,
a ticket to spend) would otherwise queue one storage trip each behind the same connection,
every waiting caller holding its task and frames meanwhile. A :class:`Coalescer` gathers the
calls of one loop turn, and those that arrive while a batch is running, into the next batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

BATCH_LIMIT = 256


def fail_waiting(futures: Iterable[asyncio.Future[Any]], exc: BaseException) -> None:
    """Hand ``exc`` to every caller of a batch still waiting for its answer."""
    for future in futures:
        if not future.done():
            future.set_exception(exc)


class Coalescer(Generic[K, V]):
    """Answers ``await coalescer(key)`` by calling ``run(keys)`` once per batch of keys.

    ``run`` returns one value per key, in order. One batch runs at a time; if it raises,
    every caller of that batch gets the exception. A caller that is cancelled leaves its
    key in the batch, and its answer is dropped.
    """

    def __init__(
        self, run: Callable[[list[K]], Awaitable[Sequence[V]]], *, limit: int = BATCH_LIMIT
    ) -> None:
        self._run = run
        self._limit = limit
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._pending.append((key, future))
        if self._worker is None:
            self._worker = loop.create_task(self._work())
        return await future

    async def _work(self) -> None:
        try:
            await asyncio.sleep(0)  # let the rest of this loop turn's callers join
            while self._pending:
                batch = self._pending[: self._limit]
                del self._pending[: self._limit]
                await self._answer(batch)
        except asyncio.CancelledError:
            for _, future in self._pending:
                future.cancel()
            self._pending.clear()
            raise
        finally:
            self._worker = None

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            values = await self._run([key for key, _ in batch])
            if len(values) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} got {len(values)} answers")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            fail_waiting((future for _, future in batch), exc)
            return
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)
