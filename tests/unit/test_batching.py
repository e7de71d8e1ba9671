"""Coalescer: calls that arrive together share one batch."""

from __future__ import annotations

import asyncio

import pytest

from tocsin.batching import Coalescer


class Recorder:
    """A batch function that records its batches and can be held mid-batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.fail_on: int | None = None

    async def __call__(self, keys: list[int]) -> list[str]:
        self.batches.append(keys)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_on is not None and self.fail_on in keys:
            raise ValueError(f"bad key {self.fail_on}")
        return [f"v{key}" for key in keys]


async def test_calls_of_one_loop_turn_share_one_batch() -> None:
    """Ten concurrent callers cost one call of the batch function, each gets its own value."""
    run = Recorder()
    coalesce = Coalescer(run)
    values = await asyncio.gather(*(coalesce(k) for k in range(10)))
    assert values == [f"v{k}" for k in range(10)]
    assert run.batches == [list(range(10))]


async def test_calls_during_a_batch_wait_for_the_next_one() -> None:
    """While a batch runs, new callers gather into the next batch, not one trip each."""
    run = Recorder()
    run.gate = asyncio.Event()
    coalesce = Coalescer(run)
    first = asyncio.ensure_future(coalesce(1))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(coalesce(k)) for k in (2, 3, 4)]
    await asyncio.sleep(0.01)
    assert run.batches == [[1]]
    run.gate.set()
    assert await first == "v1"
    assert await asyncio.gather(*later) == ["v2", "v3", "v4"]
    assert run.batches == [[1], [2, 3, 4]]


async def test_a_batch_holds_at_most_limit_keys() -> None:
    """Past the limit, the rest waits for the following batch."""
    run = Recorder()
    coalesce = Coalescer(run, limit=4)
    values = await asyncio.gather(*(coalesce(k) for k in range(10)))
    assert values == [f"v{k}" for k in range(10)]
    assert run.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_a_failed_batch_fails_its_callers_only() -> None:
    """The exception reaches every caller of the failed batch; the next batch is answered."""
    run = Recorder()
    run.fail_on = 2
    coalesce = Coalescer(run)
    results = await asyncio.gather(*(coalesce(k) for k in (1, 2, 3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert await coalesce(5) == "v5"


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    """Cancelling one caller leaves the batch and its other callers as they were."""
    run = Recorder()
    run.gate = asyncio.Event()
    coalesce = Coalescer(run)
    calls = [asyncio.ensure_future(coalesce(k)) for k in range(3)]
    await asyncio.sleep(0.01)
    calls[1].cancel()
    run.gate.set()
    assert await calls[0] == "v0"
    assert await calls[2] == "v2"
    with pytest.raises(asyncio.CancelledError):
        await calls[1]


async def test_answers_that_do_not_match_the_keys_are_an_error() -> None:
    """A batch function returning the wrong number of values fails its callers loudly."""

    async def short(keys: list[int]) -> list[str]:
        return ["only one"]

    coalesce = Coalescer(short)
    results = await asyncio.gather(coalesce(1), coalesce(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
