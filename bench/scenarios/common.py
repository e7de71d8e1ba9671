"""What the scenarios share: client sets, resuming after a server-side close, and waiting."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable
from typing import TypeVar

from bench.clients import Board, Conn, now_ns
from bench.measures import percentile
from bench.stacks import Stack

T = TypeVar("T")


class Incomplete(RuntimeError):
    """A measurement did not see every delivery it expected in time."""


def make_conns(n: int, board: Board, *, prefix: str = "u", sample_every: int = 0) -> list[Conn]:
    """n clients, one user each; every `sample_every`-th one records latencies."""
    return [
        Conn(f"{prefix}{k}", board, sample=bool(sample_every) and k % sample_every == 0)
        for k in range(n)
    ]


def resume_when_closed(stack: Stack, conns: list[Conn], board: Board) -> None:
    """A client closed by the server (4008: slow consumer) reconnects with its cursor, as a real
    client does, if the stack can resume; otherwise it counts as a drop."""

    async def reopen(conn: Conn) -> None:
        for attempt in range(5):
            try:
                await stack.dialer.open(conn, after=conn.seq)
                conn.on_lost = on_lost
                return
            except (TimeoutError, OSError, RuntimeError):
                await asyncio.sleep(0.1 * 2**attempt)

    def on_lost(conn: Conn) -> None:
        if conn.close_code == 4008:
            board.kicked += 1
        else:
            board.drops += 1
        conn.on_lost = None  # one reconnecting loop per client
        if stack.resumable:
            reconnecting.add(asyncio.create_task(reopen(conn)))

    reconnecting: set[asyncio.Task[None]] = set()  # held, so the tasks are not collected
    for conn in conns:
        conn.on_lost = on_lost


async def wait_done(board: Board, timeout: float, what: str) -> int:
    """Wait until the board saw everything it expects; returns the time of the last delivery."""
    assert board.done is not None
    try:
        return await asyncio.wait_for(asyncio.shield(board.done), timeout)
    except TimeoutError:
        raise Incomplete(
            f"{what}: {board.received} of {board.expected} deliveries after {timeout:.0f} s "
            f"(gaps {board.gaps}, duplicates {board.duplicates}, "
            f"kicked {board.kicked}, drops {board.drops})"
        ) from None


def check_complete(board: Board, conns: list[Conn], per_conn: int, what: str) -> None:
    """Every client got exactly its share, in order, with nothing repeated."""
    short = [c.user for c in conns if c.count != per_conn]
    if short or board.gaps or board.duplicates:
        raise Incomplete(
            f"{what}: {len(short)} clients short (e.g. {short[:3]}), gaps {board.gaps}, "
            f"duplicates {board.duplicates}"
        )


def latency_ms(samples: list[int]) -> tuple[float, float]:
    """(p50, p99) in milliseconds of nanosecond samples."""
    return percentile(samples, 50) / 1e6, percentile(samples, 99) / 1e6


async def settle_rss(stack: Stack, samples: int = 5, every: float = 0.2) -> int:
    """The server's RSS once it is quiet: the median of a few readings."""
    assert stack.server is not None
    values = []
    for _ in range(samples):
        values.append(stack.server.rss_bytes())
        await asyncio.sleep(every)
    return int(statistics.median(values))


async def sleep_until(target_ns: int) -> None:
    delay = (target_ns - now_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


async def bounded(aw: Awaitable[T], timeout: float, what: str) -> T:
    try:
        return await asyncio.wait_for(aw, timeout)
    except TimeoutError:
        raise Incomplete(f"{what}: no answer within {timeout:.0f} s") from None
