"""Messages waiting to leave for the broker: bounded, in order, sent in bursts.

Publishing must never wait on the broker, so messages are queued and a sender task writes
whatever has accumulated in one go. The queue is bounded with a named policy, drop-oldest:
when the broker is away for long, the oldest messages are dropped. A burst that fails is
tried ``ATTEMPTS`` times in all, then dropped too, so that a message the broker will never
take (too large, say) cannot hold up the ones behind it. Dropping costs time, not
notifications: every node reads the seqs it did not get from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from tocsin import tasks

logger = logging.getLogger("tocsin.broker")
MAX_QUEUED = 10_000
RETRY_SECONDS = 0.5
ATTEMPTS = 3

SendMany = Callable[[list[bytes]], Awaitable[None]]


class Outbox:
    """A queue of encoded messages and the task that sends them with ``send_many``."""

    def __init__(self, send_many: SendMany, *, max_queued: int = MAX_QUEUED) -> None:
        self._send_many = send_many
        self._queue: deque[bytes] = deque()
        self._max_queued = max_queued
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self._idle = asyncio.Event()  # nothing queued, nothing being sent
        self._idle.set()

    def put(self, message: bytes) -> None:
        if len(self._queue) >= self._max_queued:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped % 1000 == 1:
                logger.warning("broker outbox full: dropped %d messages so far", self.dropped)
        self._queue.append(message)
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._send_forever())

    async def stop(self, *, flush_seconds: float = 2.0) -> None:
        """Send what is queued (for at most ``flush_seconds``), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), flush_seconds)
        await tasks.cancel(task)

    async def _send_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                burst = list(self._queue)
                self._queue.clear()
                await self._send(burst)
            self._idle.set()

    async def _send(self, burst: list[bytes]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self._send_many(burst)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt == ATTEMPTS:
                    self.dropped += len(burst)
                    logger.warning("broker publish failed %d times (%s): dropped", attempt, exc)
                    return
                logger.warning("broker publish failed (%s); retrying", exc)
                await asyncio.sleep(RETRY_SECONDS)
