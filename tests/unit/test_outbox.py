"""The broker outbox: bounded, drop-oldest, sent in bursts, retried then dropped, flushed on
stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.waiting import until
from tocsin.broker import outbox as outbox_module
from tocsin.broker.outbox import Outbox

RETRY = 0.02


class Sink:
    """A send_many that records each burst; it can be held, or fail a number of times."""

    def __init__(self) -> None:
        self.attempts: list[list[bytes]] = []
        self.sent: list[list[bytes]] = []
        self.attempted_at: list[float] = []
        self.failures = 0  # how many of the next attempts raise
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, messages: list[bytes]) -> None:
        self.attempts.append(messages)
        self.attempted_at.append(time.monotonic())
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the broker is away")
        self.sent.append(messages)

    @property
    def delivered(self) -> list[bytes]:
        return [message for burst in self.sent for message in burst]


@pytest.fixture(autouse=True)
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry failed bursts after 20 ms instead of half a second."""
    monkeypatch.setattr(outbox_module, "RETRY_SECONDS", RETRY)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def stopped() -> AsyncIterator[list[Outbox]]:
    """Outboxes registered here are stopped after the test, leaving no task behind."""
    boxes: list[Outbox] = []
    yield boxes
    for box in boxes:
        await box.stop(flush_seconds=0.1)
    assert asyncio.all_tasks() == {asyncio.current_task()}


def messages(*names: int) -> list[bytes]:
    return [b"m%d" % name for name in names]


async def test_messages_queued_before_start_leave_in_one_burst(
    sink: Sink, stopped: list[Outbox]
) -> None:
    """Everything that accumulated goes in one send_many call, in put order."""
    box = Outbox(sink)
    stopped.append(box)
    for message in messages(1, 2, 3):
        box.put(message)
    await asyncio.sleep(0.02)
    assert sink.attempts == []  # nothing is sent before start
    box.start()
    await until(lambda: len(sink.delivered) == 3)
    assert sink.sent == [messages(1, 2, 3)]


async def test_messages_put_during_a_send_form_the_next_burst(
    sink: Sink, stopped: list[Outbox]
) -> None:
    """While a burst is in flight, new messages gather and follow together, in order."""
    box = Outbox(sink)
    stopped.append(box)
    sink.gate = asyncio.Event()
    box.start()
    box.put(b"m1")
    await asyncio.wait_for(sink.entered.wait(), 2)
    for message in messages(2, 3, 4, 5):
        box.put(message)
    sink.gate.set()
    await until(lambda: len(sink.delivered) == 5)
    assert sink.sent == [messages(1), messages(2, 3, 4, 5)]
    box.put(b"m6")
    await until(lambda: len(sink.delivered) == 6)
    assert sink.sent[-1] == messages(6)
    assert box.dropped == 0


async def test_a_failed_burst_is_retried_without_loss_or_reordering(
    sink: Sink, stopped: list[Outbox]
) -> None:
    """send_many raising is retried with the same burst; later messages follow, in order."""
    box = Outbox(sink)
    stopped.append(box)
    sink.failures = 2
    box.put(b"m1")
    box.put(b"m2")
    box.start()
    await until(lambda: len(sink.attempts) == 1)
    box.put(b"m3")
    await until(lambda: len(sink.sent) >= 1)
    box.put(b"m4")
    await until(lambda: len(sink.delivered) == 4)
    assert sink.attempts[:3] == [messages(1, 2)] * 3
    assert sink.delivered == messages(1, 2, 3, 4)
    assert sink.attempted_at[1] - sink.attempted_at[0] >= RETRY
    assert box.dropped == 0


async def test_a_burst_that_keeps_failing_is_dropped_and_does_not_hold_up_the_next(
    sink: Sink, stopped: list[Outbox]
) -> None:
    """After ATTEMPTS failures a burst is dropped and counted; the next one is sent."""
    box = Outbox(sink)
    stopped.append(box)
    sink.failures = outbox_module.ATTEMPTS
    box.put(b"m1")
    box.start()
    await until(lambda: len(sink.attempts) == 1)
    box.put(b"m2")
    await until(lambda: len(sink.delivered) == 1)
    assert sink.attempts == [messages(1)] * outbox_module.ATTEMPTS + [messages(2)]
    assert sink.delivered == messages(2)
    assert box.dropped == 1


async def test_over_max_queued_the_oldest_are_dropped_and_counted(
    sink: Sink, stopped: list[Outbox]
) -> None:
    """Putting past the bound drops the oldest queued messages and counts each one."""
    box = Outbox(sink, max_queued=3)
    stopped.append(box)
    for message in messages(1, 2, 3, 4, 5):
        box.put(message)
    assert box.dropped == 2
    box.start()
    await until(lambda: len(sink.delivered) == 3)
    assert sink.delivered == messages(3, 4, 5)


async def test_messages_put_while_a_burst_is_retried_respect_the_bound(
    sink: Sink, stopped: list[Outbox]
) -> None:
    """While a burst is being retried, the queue behind it still drops its oldest."""
    box = Outbox(sink, max_queued=3)
    stopped.append(box)
    sink.failures = 1
    box.put(b"m1")
    box.put(b"m2")
    sink.gate = asyncio.Event()
    box.start()
    await asyncio.wait_for(sink.entered.wait(), 2)
    for message in messages(3, 4, 5, 6):
        box.put(message)  # [m1, m2] is in flight; the queue holds 3
    assert box.dropped == 1
    sink.gate.set()
    await until(lambda: len(sink.delivered) == 5)
    assert sink.delivered == messages(1, 2, 4, 5, 6)


async def test_stop_flushes_what_is_queued(sink: Sink) -> None:
    """stop() waits until the queued messages have been sent, then ends the sender task."""
    box = Outbox(sink)
    box.start()
    for message in messages(1, 2, 3):
        box.put(message)
    await box.stop()
    assert sink.delivered == messages(1, 2, 3)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_flushes_through_a_failure(sink: Sink) -> None:
    """A burst that fails while stopping is retried within the flush time."""
    box = Outbox(sink)
    sink.failures = 2
    box.start()
    for message in messages(1, 2):
        box.put(message)
    await box.stop(flush_seconds=2)
    assert sink.delivered == messages(1, 2)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_gives_up_after_flush_seconds(sink: Sink) -> None:
    """When the broker is slower than flush_seconds, stop() returns after flush_seconds."""
    box = Outbox(sink)
    sink.gate = asyncio.Event()  # never opened: the send hangs
    box.start()
    box.put(b"m1")
    started = time.monotonic()
    await box.stop(flush_seconds=0.2)
    assert 0.15 <= time.monotonic() - started < 1.5
    assert sink.delivered == []
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_without_start_returns_at_once(sink: Sink) -> None:
    """An outbox never started has no task to stop, and stop() twice is harmless."""
    box = Outbox(sink)
    box.put(b"m1")
    await asyncio.wait_for(box.stop(), 0.1)
    box.start()
    await box.stop()
    await box.stop()
    assert sink.delivered == messages(1)
