"""Scenario 6: N concurrent connections on one node (N = 20,000), all live.

One process here may not hold 20,000 sockets (the sandbox's open-file hard limit is 20,000,
and nothing can raise it), so the node runs as `tocsin serve --workers 2` with Redis between
its workers, and the clients are held by as many C probes as the limit needs. Every client
authenticates; then paced broadcasts must reach every one of them, in order, once. Figures:
connections held, time to connect them all, server RSS per connection (supervisor and
workers, over the baseline), and broadcast latency to all N.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

from bench.clients import now_ns
from bench.measures import Measure, percentile
from bench.probe import LatencyProbe
from bench.procs import _tree, fd_limit
from bench.scenarios.common import Incomplete, settle_rss, sleep_until
from bench.scenarios.fanout import _check
from bench.sizes import Sizes
from bench.stacks import Stack

NAME = "capacity"
TITLE = "Concurrent connections on one node (2 worker processes, Redis between them)"
STACKS = ("tocsin-workers",)
FD_MARGIN = 250  # files a probe holds besides its client sockets
BROADCASTS = 10
RATE = 5.0  # broadcasts per second


def params(sizes: Sizes) -> dict[str, object]:
    return {"n": sizes.capacity_n, "fd_limit": fd_limit(), "broadcasts": BROADCASTS}


async def measure(stack: Stack, sizes: Sizes, workdir: Path) -> list[Measure]:
    n = sizes.capacity_n
    per_probe = fd_limit() - FD_MARGIN
    chunks = max(1, math.ceil(n / per_probe))
    users = [f"c{k}" for k in range(n)]
    groups = [users[k::chunks] for k in range(chunks)]
    await stack.start()
    probes: list[LatencyProbe] = []
    try:
        baseline = await settle_rss(stack, every=sizes.settle / 10)
        started = time.monotonic()
        opened = await asyncio.gather(
            *(
                LatencyProbe.open(stack, group, sample_every=10, timeout=sizes.timeout)
                for group in groups
            ),
            return_exceptions=True,
        )
        probes = [p for p in opened if isinstance(p, LatencyProbe)]
        failed = [p for p in opened if not isinstance(p, LatencyProbe)]
        if failed:
            raise Incomplete(f"connecting {n} clients: {failed[0]}")
        connect_s = time.monotonic() - started
        await asyncio.sleep(sizes.settle)
        rss = await settle_rss(stack, every=sizes.settle / 10)
        spread = _fds_per_worker(stack)

        for probe in probes:
            await probe.arm(0, BROADCASTS)
        http = stack.http()
        try:
            start = now_ns() + 20_000_000
            for k in range(BROADCASTS):
                target = start + int(k * 1e9 / RATE)
                await sleep_until(target)
                await stack.broadcast_burst(http, k, 1, target)
        finally:
            http.close()
        results = [
            _check(await probe.result(sizes.timeout), f"{BROADCASTS} broadcasts to {probe.n}")
            for probe in probes
        ]
    finally:
        for probe in probes:
            await probe.close()
        await stack.stop()
    samples = [latency for result in results for latency in result["latencies_ns"]]
    received = sum(result["received"] for result in results)
    case = f"N={n}"
    extra = {"probes": len(probes), "sockets_per_process": spread, "samples": len(samples)}
    return [
        Measure(case, "connections held", float(n), extra=extra),
        Measure(case, "s to connect all", connect_s, "lower"),
        Measure(case, "server KB/conn", (rss - baseline) / n / 1024, "lower"),
        Measure(case, "deliveries (all in order)", float(received), compare=False),
        Measure(case, f"broadcast @{RATE:g}/s p50 ms", percentile(samples, 50) / 1e6, "lower"),
        Measure(case, f"broadcast @{RATE:g}/s p99 ms", percentile(samples, 99) / 1e6, "lower"),
    ]


def _fds_per_worker(stack: Stack) -> dict[str, int]:
    """Open sockets of each process of the server (how the kernel spread the clients)."""
    assert stack.server is not None
    counts = {}
    for pid in _tree(stack.server.pid):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        sockets = 0
        for fd in fds:
            try:
                sockets += fd.readlink().name.startswith("socket:")
            except OSError:
                continue
        counts[str(pid)] = sockets
    return counts
