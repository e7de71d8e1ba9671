"""Scenario 2: broadcast fan-out. Bursts of M ~200-byte messages to N clients (every delivery
checked complete and in order), then latency at a steady 10 broadcasts/s to live clients.

The clients are the C probe (bench/probe.py): the Python clients cost the generator ~10 µs
per delivery, so they, not the server, would set both the throughput and the spread."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.clients import now_ns
from bench.http_client import HttpConnection
from bench.measures import Measure, percentile
from bench.probe import LatencyProbe
from bench.scenarios.common import (
    Incomplete,
    sleep_until,
)
from bench.sizes import Sizes
from bench.stacks import Stack

NAME = "fanout"
TITLE = "Broadcast fan-out: bursts of M messages to N clients; latency at 10 broadcasts/s"
STACKS = ("tocsin", "socketio-node", "ws-node", "python-socketio")


def burst_size(sizes: Sizes, n: int) -> int:
    return max(5, sizes.burst_deliveries // n)


def params(sizes: Sizes) -> dict[str, object]:
    return {
        "n": list(sizes.fanout_n),
        "m": {n: burst_size(sizes, n) for n in sizes.fanout_n},
        "bursts_per_run": sizes.bursts,
        "latency_n": sizes.latency_n,
        "latency_rate": sizes.latency_rate,
        "latency_seconds": sizes.latency_seconds,
        "latency_sampled": "every 10th connection",
    }


class _Session:
    """N probe clients of one stack and the broadcast counter they all follow."""

    def __init__(self, stack: Stack, probe: LatencyProbe):
        self.stack = stack
        self.probe = probe
        self.http: HttpConnection = stack.http()
        self.next_i = 0
        self.frame_bytes = 0

    async def burst(self, m: int, timeout: float) -> tuple[float, float, float]:
        """One burst of m broadcasts; returns (deliveries/s, server CPU µs per delivery,
        the probe's CPU use in % of its core: near 100 % it is the limit)."""
        assert self.stack.server is not None
        n = self.probe.n
        await self.probe.arm(self.next_i, m)
        cpu0 = self.stack.server.cpu_seconds()
        mine0 = self.probe.cpu_seconds()
        t0 = now_ns()
        await self.stack.broadcast_burst(self.http, self.next_i, m, t0)
        result = _check(await self.probe.result(timeout), f"burst of {m} to {n}")
        end = now_ns()
        self.frame_bytes = result["frame_bytes"]
        cpu = self.stack.server.cpu_seconds() - cpu0
        mine = self.probe.cpu_seconds() - mine0
        self.next_i += m
        wall = (end - t0) / 1e9
        return n * m / wall, cpu * 1e6 / (n * m), 100 * mine / wall


async def measure(stack: Stack, sizes: Sizes, workdir: Path) -> list[Measure]:
    out: list[Measure] = []
    for n in sizes.fanout_n:
        await stack.start()
        probe = await LatencyProbe.open(stack, [f"u{k}" for k in range(n)], sample_every=0)
        session = _Session(stack, probe)
        try:
            m = burst_size(sizes, n)
            await session.burst(min(m, 10), sizes.timeout)  # warm-up, not counted
            rates, cpus, mine = [], [], []
            for _ in range(sizes.bursts):
                rate, cpu, gen = await session.burst(m, sizes.timeout)
                rates.append(rate)
                cpus.append(cpu)
                mine.append(gen)
            extra = {"bursts": rates, "m": m, "generator_cpu_pct": mine}
            rate = statistics.median(rates)
            cpu = statistics.median(cpus)
            busy = cpu * rate / 1e4  # % of the server's core
            note = ""
            if busy < 70:
                note = "server core under 70 % busy: the load generator set this figure (a floor)"
            elif statistics.median(mine) >= 85:
                note = "load generator near 100 % of its core too"
            out.append(Measure(f"N={n}", "deliveries/s", rate, note=note, extra=extra))
            out.append(Measure(f"N={n}", "server CPU µs/delivery", cpu, "lower"))
            out.append(Measure(f"N={n}", "server core busy %", busy, compare=False))
            frame = session.frame_bytes
            out.append(Measure(f"N={n}", "bytes per message frame", frame, "lower", compare=False))
        finally:
            session.http.close()
            await probe.close()
            await stack.stop()
    out += await _latency(stack, sizes)
    return out


async def _latency(stack: Stack, sizes: Sizes) -> list[Measure]:
    """Broadcasts at `latency_rate`/s for `latency_seconds` to `latency_n` probe clients;
    latency (p50, p99) from the scheduled time, so a publisher held up by a slow server shows
    in the figures."""
    await stack.start()
    users = [f"lat{k}" for k in range(sizes.latency_n)]
    http = stack.http()
    probe = await LatencyProbe.open(stack, users, sample_every=10)
    try:
        warm = 5
        await probe.arm(0, warm)
        for i in range(warm):
            await stack.broadcast_burst(http, i, 1, now_ns())
        _check(await probe.result(sizes.timeout), "warm-up broadcasts")
        count = max(1, int(sizes.latency_rate * sizes.latency_seconds))
        await probe.arm(warm, count)
        start = now_ns() + 10_000_000
        for k in range(count):
            target = start + int(k * 1e9 / sizes.latency_rate)
            await sleep_until(target)
            await stack.broadcast_burst(http, warm + k, 1, target)
        result = _check(await probe.result(sizes.timeout), f"{count} paced broadcasts")
    finally:
        await probe.close()
        http.close()
        await stack.stop()
    samples = result["latencies_ns"]
    case = f"latency N={len(users)} @{sizes.latency_rate:g}/s"
    extra = {"samples": len(samples), "receiver": "C probe (bench/probe/latency_probe.c)"}
    return [
        Measure(case, "p50 ms", percentile(samples, 50) / 1e6, "lower", extra=extra),
        Measure(case, "p99 ms", percentile(samples, 99) / 1e6, "lower"),
    ]


def _check(result: dict[str, Any], what: str) -> dict[str, Any]:
    """Every probe client got its whole range, in order, once."""
    bad = ("gaps", "duplicates", "short_clients", "closed", "malformed")
    if (
        result["timed_out"]
        or result["received"] != result["expected"]
        or any(result.get(key) for key in bad)
    ):
        figures = ", ".join(f"{key} {result.get(key)}" for key in ("received", "expected", *bad))
        raise Incomplete(f"{what}: {figures}")
    return result
