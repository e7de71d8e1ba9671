"""Scenario 4: reconnect storm. N clients drop at once and come back at once (each with its
cursor where the stack can resume). A broadcast goes out while they are all away, then targeted
notifications keep coming until all are back. Figures: time until all are connected again, and
until every notification published during the storm has reached its users."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from bench.clients import Board, close_all, now_ns
from bench.measures import Measure
from bench.scenarios.common import Incomplete, make_conns, sleep_until, wait_done
from bench.sizes import Sizes
from bench.stacks import SocketIONode, SocketIONodeRecovery, Stack

NAME = "storm"
TITLE = "Reconnect storm: N clients drop and resume at once while notifications go on"
STACKS = ("tocsin", "socketio-node", "ws-node", "python-socketio")


def params(sizes: Sizes) -> dict[str, object]:
    return {
        "n": sizes.storm_n,
        "during_storm": "1 broadcast while all are away, then targeted notifications",
        "targeted_per_s_during_storm": sizes.storm_rate,
        "socketio-node": "runs with connectionStateRecovery (its resume feature)",
    }


def listen_overflows() -> int:
    """The kernel's count of connections dropped because an accept queue was full."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(fields.get("ListenOverflows", 0))
    return 0


def adapt(stack: Stack, workdir: Path) -> Stack:
    """Socket.IO meets the storm with its own resume feature switched on."""
    if type(stack) is SocketIONode:
        return SocketIONodeRecovery(workdir)
    return stack


async def measure(stack: Stack, sizes: Sizes, workdir: Path) -> list[Measure]:
    n = sizes.storm_n
    await stack.start()
    board = Board()
    conns = make_conns(n, board)
    http = stack.http()
    try:
        await stack.dialer.open_all(conns)
        # one broadcast first, so that every client holds a cursor (seq, Socket.IO offset)
        board.arm(n)
        await stack.broadcast_burst(http, 0, 1, now_ns())
        await wait_done(board, sizes.timeout, "first broadcast")

        board.arm(1 << 62)  # known once the publisher stops
        back = asyncio.Event()
        next_i = {c.user: 2 for c in conns}  # i=0 before the storm, i=1 the storm's broadcast
        targeted = 0

        async def publish() -> None:
            # a broadcast while every client is away, then targeted notifications (users in
            # turn, one sender so each user's stay in order) until the last client is back
            nonlocal targeted
            start = now_ns()
            await stack.broadcast_burst(http, 1, 1, start)
            while not back.is_set():
                await sleep_until(start + int((targeted + 1) * 1e9 / sizes.storm_rate))
                if back.is_set():
                    break
                user = conns[targeted % n].user
                await stack.publish(http, user, next_i[user], now_ns())
                next_i[user] += 1
                targeted += 1

        overflows0 = listen_overflows()
        t0 = now_ns()
        cpu0 = time.process_time()
        close_all(conns)
        publisher = asyncio.create_task(publish())
        try:
            failures = await asyncio.wait_for(
                stack.dialer.open_all(
                    conns, concurrency=n, after=stack.resumable, retries=10, timeout=60
                ),
                sizes.timeout,
            )
        except BaseException as exc:
            publisher.cancel()  # it must not outlive the server it publishes to
            with contextlib.suppress(asyncio.CancelledError, OSError, RuntimeError):
                await publisher
            if isinstance(exc, TimeoutError):
                returned = sum(
                    c.transport is not None and c.ready is not None and c.ready.done()
                    for c in conns
                )
                raise Incomplete(
                    f"storm: {returned} of {n} clients back after {sizes.timeout:.0f} s"
                ) from None
            raise
        finally:
            back.set()
        t_back = now_ns()
        await publisher
        generator_cpu = 100 * (time.process_time() - cpu0) / ((t_back - t0) / 1e9)
        expected = n + targeted
        board.expect(expected)
        lost = 0
        try:
            end = await wait_done(board, sizes.timeout if stack.resumable else sizes.grace, "storm")
        except Incomplete:
            if stack.resumable:
                raise
            end = None
            lost = expected - board.received
        extra = {
            "broadcasts_during_storm": 1,
            "targeted_during_storm": targeted,
            "generator_cpu_pct": round(generator_cpu),
            "listen_overflows": listen_overflows() - overflows0,
            "failed_reconnects": failures,
            "gaps": board.gaps,
            "duplicates": board.duplicates,
        }
        case = f"N={n}"
        note = "" if stack.resumable else "cannot resume: what was sent while away is lost"
        if isinstance(stack, SocketIONodeRecovery):
            note = "connection state recovery (in memory)"
        if generator_cpu >= 85:
            note = (note + "; " if note else "") + "load generator near 100 % of its core"
        if failures:
            raise Incomplete(f"storm: {failures} clients could not reconnect")
        complete = (max(end, t_back) - t0) / 1e9 if end is not None else None
        short = [c.user for c in conns if c.count != next_i[c.user]]
        if end is not None and (board.duplicates or short):
            raise Incomplete(f"storm: deliveries incomplete or repeated: {extra}")
        return [
            Measure(case, "s until all back", (t_back - t0) / 1e9, "lower", note, extra),
            Measure(
                case,
                "s until all back, nothing lost",
                complete,
                "lower",
                f"{lost} of {expected} deliveries lost" if lost else note,
            ),
            Measure(case, "deliveries lost", lost, "lower", note, compare=False),
        ]
    finally:
        close_all(conns)
        http.close()
        await stack.stop()
