"""Scenario 1: idle memory. N connected clients; server RSS over its baseline, divided by N;
and between two steps, the RSS each added client cost (fixed costs, such as caches that
fill once or tables that grow in steps, weigh on the first figure but not on this one)."""

from __future__ import annotations

import asyncio
import itertools
import random
from pathlib import Path

from bench.clients import SOURCE_IPS, Board, Conn, SseUnavailable, close_all
from bench.measures import Measure
from bench.procs import fd_limit
from bench.scenarios.common import make_conns, settle_rss
from bench.sizes import Sizes
from bench.stacks import Stack

NAME = "memory"
TITLE = "Idle memory per connection (server RSS over baseline / N)"
STACKS = ("tocsin", "socketio-node", "ws-node", "python-socketio")
TRANSPORTS = ("WebSocket", "SSE")
FD_MARGIN = 250  # files a server or the generator holds besides its client sockets


def steps(sizes: Sizes) -> list[int]:
    """The client counts measured: as asked, but within the fd limit of one process (which
    this machine's sandbox holds at 20,000, with no CAP_SYS_RESOURCE to raise it)."""
    cap = fd_limit() - FD_MARGIN
    return sorted({min(n, cap) for n in sizes.memory_n})


def params(sizes: Sizes) -> dict[str, object]:
    return {
        "n_asked": list(sizes.memory_n),
        "n": steps(sizes),
        "fd_limit": fd_limit(),
        "transports": list(TRANSPORTS),
    }


async def measure(stack: Stack, sizes: Sizes, workdir: Path) -> list[Measure]:
    out: list[Measure] = []
    for transport in TRANSPORTS:
        if transport == "SSE" and not stack.has_sse:
            out += [
                Measure(f"SSE N={n}", "KB/conn", None, "lower", note="no SSE transport")
                for n in steps(sizes)
            ]
            continue
        await stack.start()
        try:
            out += await _one_transport(stack, sizes, transport)
        finally:
            await stack.stop()
    return out


async def _one_transport(stack: Stack, sizes: Sizes, transport: str) -> list[Measure]:
    board = Board()
    held: list[Conn] = []
    streams: list[asyncio.Transport] = []
    ips = itertools.cycle(random.sample(SOURCE_IPS, len(SOURCE_IPS)))
    gate = asyncio.Semaphore(256)

    async def sse(user: str) -> None:
        async with gate:
            streams.append(await stack.open_sse(user, next(ips)))

    async def grow(total: int) -> None:
        have = len(held) + len(streams)
        if transport == "WebSocket":
            conns = make_conns(total, board)[have:]
            await stack.dialer.open_all(conns)
            held.extend(conns)
        else:
            await asyncio.gather(*(sse(f"u{k}") for k in range(have, total)))

    out = []
    try:
        # warm up: the first connections load code and allocate pools once
        try:
            await grow(20)
        except SseUnavailable as exc:
            note = f"not available: {exc}"[:160]
            return [
                Measure(f"SSE N={n}", "KB/conn", None, "lower", note=note) for n in steps(sizes)
            ]
        _drop(held, streams)
        await asyncio.sleep(sizes.settle)
        baseline = await settle_rss(stack, every=sizes.settle / 10)
        before: tuple[int, int] | None = None  # (n, rss) of the previous step
        for n in steps(sizes):
            await grow(n)
            await asyncio.sleep(sizes.settle)
            rss = await settle_rss(stack, every=sizes.settle / 10)
            extra = {"rss_mb": round(rss / 2**20, 1), "baseline_mb": round(baseline / 2**20, 1)}
            value = (rss - baseline) / n / 1024
            out.append(Measure(f"{transport} N={n}", "KB/conn", value, "lower", extra=extra))
            if before is not None:
                added = (rss - before[1]) / (n - before[0]) / 1024
                case = f"{transport} N={before[0]}->{n}"
                out.append(Measure(case, "KB per added conn", added, "lower"))
            before = (n, rss)
    finally:
        _drop(held, streams)
    return out


def _drop(held: list[Conn], streams: list[asyncio.Transport]) -> None:
    close_all(held)
    held.clear()
    for s in streams:
        s.close()
    streams.clear()
