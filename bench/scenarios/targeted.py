"""Scenario 3: targeted durable delivery. HTTP publish -> stored -> delivered to the user's live
connection: sustained notifications/s and publish-to-receive latency, paced and flat out.

Peers store nothing; their figures are a "no durability" reference for the same path."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.clients import Board, Conn, close_all, now_ns
from bench.http_client import HttpConnection
from bench.measures import Measure
from bench.scenarios.common import (
    Incomplete,
    latency_ms,
    make_conns,
    resume_when_closed,
    sleep_until,
    wait_done,
)
from bench.sizes import Sizes
from bench.stacks import Stack

NAME = "targeted"
TITLE = "Targeted delivery: HTTP publish -> (stored) -> the user's live connection"
STACKS = ("tocsin", "tocsin-pg", "socketio-node", "ws-node", "python-socketio")
BATCH = 100
BATCH_SENDERS = 4


def params(sizes: Sizes) -> dict[str, object]:
    return {
        "users": sizes.targeted_users,
        "paced_rate": sizes.targeted_rate,
        "seconds_per_phase": sizes.targeted_seconds,
        "senders": sizes.targeted_senders,
        "batch": {"size": BATCH, "senders": BATCH_SENDERS, "stacks": "Tocsin only"},
    }


class _Phase:
    """Users split among senders so that each user's messages go out one after the other."""

    def __init__(self, stack: Stack, conns: list[Conn], board: Board, senders: int):
        self.stack = stack
        self.conns = conns
        self.board = board
        self.http = [stack.http() for _ in range(senders)]
        self.next_i = {c.user: 0 for c in conns}
        self.sent = 0

    def take(self, user: str) -> int:
        i = self.next_i[user]
        self.next_i[user] = i + 1
        self.sent += 1
        return i

    async def paced(self, rate: int, seconds: float, timeout: float) -> tuple[float, float, float]:
        total = int(rate * seconds)
        users = [c.user for c in self.conns]
        start = now_ns() + 10_000_000
        self.board.arm(total)

        # the k-th notification goes to users[k % U], sent by the sender that owns that user
        plan: list[list[int]] = [[] for _ in self.http]
        for k in range(total):
            plan[(k % len(users)) % len(self.http)].append(k)

        async def sender(ks: list[int], http: HttpConnection) -> None:
            for k in ks:
                target = start + int(k * 1e9 / rate)
                await sleep_until(target)
                user = users[k % len(users)]
                await self.stack.publish(http, user, self.take(user), target)

        await asyncio.gather(*(sender(ks, h) for ks, h in zip(plan, self.http, strict=True)))
        end = await wait_done(self.board, timeout, f"{total} paced notifications")
        p50, p99 = latency_ms(self.board.latencies)
        return total / ((end - start) / 1e9), p50, p99

    async def flat_out(
        self, seconds: float, timeout: float, batch: int = 1, senders: int | None = None
    ) -> tuple[float, float, float]:
        http = self.http[: senders or len(self.http)]
        start = now_ns()
        stop_at = start + int(seconds * 1e9)
        before = self.sent
        self.board.arm(1 << 62)  # known when the senders stop

        async def sender(w: int, conn: HttpConnection) -> None:
            mine = [c.user for k, c in enumerate(self.conns) if k % len(http) == w]
            k = 0
            while now_ns() < stop_at:
                if batch == 1:
                    user = mine[k % len(mine)]
                    k += 1
                    await self.stack.publish(conn, user, self.take(user), now_ns())
                else:
                    items = []
                    for _ in range(batch):
                        user = mine[k % len(mine)]
                        k += 1
                        items.append((user, self.take(user), now_ns()))
                    await self.stack.publish_batch(conn, items)

        await asyncio.gather(*(sender(w, h) for w, h in enumerate(http)))
        total = self.sent - before
        self.board.expect(total)
        end = await wait_done(self.board, timeout, f"{total} notifications flat out")
        p50, p99 = latency_ms(self.board.latencies)
        return total / ((end - start) / 1e9), p50, p99


async def measure(stack: Stack, sizes: Sizes, workdir: Path) -> list[Measure]:
    await stack.start()
    board = Board()
    conns = make_conns(sizes.targeted_users, board, sample_every=1)
    note = "" if stack.is_tocsin else "no durability"
    out: list[Measure] = []
    try:
        await stack.dialer.open_all(conns)
        resume_when_closed(stack, conns, board)
        phase = _Phase(stack, conns, board, sizes.targeted_senders)
        await phase.paced(min(200, sizes.targeted_rate), 0.5, sizes.timeout)  # warm-up

        def add(case: str, figures: tuple[float, float, float]) -> None:
            rate, p50, p99 = figures
            out.append(Measure(case, "notifications/s", rate, note=note))
            out.append(Measure(case, "p50 ms", p50, "lower", note=note))
            out.append(Measure(case, "p99 ms", p99, "lower", note=note))

        rate = sizes.targeted_rate
        add(f"{rate}/s", await phase.paced(rate, sizes.targeted_seconds, sizes.timeout))
        add(
            f"max, {sizes.targeted_senders} senders",
            await phase.flat_out(sizes.targeted_seconds, sizes.timeout),
        )
        if stack.is_tocsin:
            add(
                f"max, batches of {BATCH}, {BATCH_SENDERS} senders",
                await phase.flat_out(sizes.targeted_seconds, sizes.timeout, BATCH, BATCH_SENDERS),
            )
        short = [c.user for c in conns if c.count != phase.next_i[c.user]]
        if short or board.gaps or board.duplicates:
            raise Incomplete(
                f"targeted: {len(short)} users short (e.g. {short[:3]}), gaps {board.gaps}, "
                f"duplicates {board.duplicates}"
            )
        out[0].extra.update(frame_bytes=board.frame_bytes, kicked=board.kicked, drops=board.drops)
    finally:
        close_all(conns)
        await stack.stop()
    return out
