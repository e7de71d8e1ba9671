"""Stopping a background task: it ends, and the caller's own cancellation is kept."""

from __future__ import annotations

import asyncio

import pytest

from tocsin import tasks


async def test_cancel_ends_the_task_and_returns() -> None:
    """cancel() returns once the task has ended; None is nothing to do."""
    task = asyncio.create_task(asyncio.sleep(60))
    await tasks.cancel(task)
    assert task.cancelled()
    await tasks.cancel(None)


async def test_a_cancelled_caller_is_not_swallowed() -> None:
    """A caller cancelled while it waits for a slow-to-stop task is cancelled too."""
    stopping = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            stopping.set()
            await asyncio.shield(asyncio.sleep(0.2))

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    caller = asyncio.create_task(tasks.cancel(task))
    await stopping.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.25)
    assert task.done()
