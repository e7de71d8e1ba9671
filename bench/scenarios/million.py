"""Scenario 5: one notification for 1,000,000 users (Tocsin only), published once over HTTP.

Two ways to address that audience: `"everyone"` (stored once; the users are a sample of a
1,000,000-id space) and an explicit list of 1,000,000 user ids. Figures: time to accept it,
time until the users connected meanwhile have it, the storage it took per recipient, and how
fast users who connect afterwards get it replayed. A server that refuses the request is
reported "not supported" with its answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.clients import Board, Conn, close_all, now_ns
from bench.http_client import HttpError
from bench.measures import Measure
from bench.scenarios.common import bounded, check_complete, latency_ms, wait_done
from bench.sizes import Sizes
from bench.stacks import Stack, Tocsin

NAME = "million"
TITLE = "One notification for a very large audience (Tocsin only)"
STACKS = ("tocsin",)
METRICS = (
    ("s to accept (HTTP 202)", "lower"),
    ("s until live users have it", "lower"),
    ("storage bytes/recipient", "lower"),
    ("replay p50 ms", "lower"),
    ("replay p99 ms", "lower"),
)


def params(sizes: Sizes) -> dict[str, object]:
    return {
        "audience": sizes.million_users,
        "live": sizes.million_live,
        "connecting_later": sizes.million_offline,
        "addressed_as": ["to.everyone", "to.users (explicit list)"],
    }


async def measure(stack: Stack, sizes: Sizes, workdir: Path) -> list[Measure]:
    out: list[Measure] = []
    ids = [f"m{k}" for k in range(sizes.million_users)]
    for case, to in (
        (f"everyone, {len(ids):,} users", {"everyone": True}),
        (f"list of {len(ids):,} users", {"users": ids}),
    ):
        if not isinstance(stack, Tocsin):
            out += [Measure(case, m, None, b, note="Tocsin only") for m, b in METRICS]
            continue
        await stack.start()
        try:
            out += await _one(stack, sizes, ids, to, case)
        finally:
            await stack.stop()
    return out


async def _one(
    stack: Tocsin, sizes: Sizes, ids: list[str], to: dict[str, Any], case: str
) -> list[Measure]:
    spread = max(1, len(ids) // (sizes.million_live + sizes.million_offline))
    picked = ids[::spread][: sizes.million_live + sizes.million_offline]
    board = Board()
    live = [Conn(u, board) for u in picked[: sizes.million_live]]
    later = [Conn(u, board, sample=True) for u in picked[sizes.million_live :]]
    http = stack.http()
    try:
        await stack.dialer.open_all(live)
        stored0 = await stack.storage_bytes()
        board.arm(len(live))
        t0 = now_ns()
        try:
            body = Tocsin.notification(to, 0, t0)
            await bounded(http.post("/v1/notifications", body), 10 * sizes.timeout, "publish")
        except HttpError as exc:
            if 400 <= exc.status < 500:
                answer = exc.body[:160].decode(errors="replace")
                note = f"not supported yet: HTTP {exc.status} {answer}"
                return [Measure(case, m, None, b, note=note) for m, b in METRICS]
            raise
        accepted = (now_ns() - t0) / 1e9
        end = await wait_done(board, 10 * sizes.timeout, "live users")
        check_complete(board, live, 1, "live users")
        stored = await stack.storage_bytes() - stored0

        board.arm(len(later))
        t1 = now_ns()
        for conn in later:
            conn.seq = 0  # has seen nothing: replay everything
        await stack.dialer.open_all(later, after=True)
        await wait_done(board, 10 * sizes.timeout, "users connecting later")
        check_complete(board, later, 1, "users connecting later")
        # replay latency counts from the moment the later users start connecting
        p50, p99 = latency_ms([lat - (t1 - t0) for lat in board.latencies])
        return [
            Measure(case, "s to accept (HTTP 202)", accepted, "lower"),
            Measure(case, "s until live users have it", (end - t0) / 1e9, "lower"),
            Measure(
                case,
                "storage bytes/recipient",
                stored / len(ids),
                "lower",
                extra={"storage_delta_bytes": stored},
            ),
            Measure(case, "replay p50 ms", p50, "lower"),
            Measure(case, "replay p99 ms", p99, "lower"),
        ]
    finally:
        close_all(live)
        close_all(later)
        http.close()
