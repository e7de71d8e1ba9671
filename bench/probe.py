"""The latency probe: N WebSocket clients held by a small C program (bench/probe/), for the
fan-out scenario's latency phase.

The Python clients cost the generator about 10 µs of CPU per delivered message, so at 1,000
deliveries per broadcast they, not the server, would set the latency spread. The probe
(`bench/probe/latency_probe.c`, built by `bench/run`) speaks the stack's protocol (Tocsin,
Socket.IO or plain WebSocket), checks every client's `i` stream and times `t` on every
`sample_every`-th client against the generator's own clock (`bench.clients.now_ns()`).

    probe = await LatencyProbe.open(stack, users)
    await probe.arm(first_i, count)        # before publishing, so nothing is missed
    ...publish first_i .. first_i + count - 1 ...
    result = await probe.result(timeout)   # or both steps in one: probe.measure(...)
    await probe.close()

A result is a dict: received, expected, gaps, duplicates, short_clients (clients missing some
of the range), closed (clients the server closed so far), malformed (counted messages without
`i`/`t`), frame_bytes (the last counted message's size), latencies_ns (the sampled clients'
latencies), and timed_out. The fan-out scenario uses the probe for its bursts too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.clients import _T0, Protocol
from bench.procs import GENERATOR_CPU
from bench.stacks import HOST, Stack

PROBE_DIR = Path(__file__).resolve().parent / "probe"
SOURCE = PROBE_DIR / "latency_probe.c"
BINARY = PROBE_DIR / "latency_probe"
LINE_LIMIT = 64 * 1024 * 1024  # one JSON line holds every sampled latency


class ProbeError(RuntimeError):
    """The probe is missing, a client's handshake failed, or the probe stopped answering."""


class LatencyProbe:
    """A running latency_probe process and the clients it holds."""

    def __init__(self, proc: asyncio.subprocess.Process, stack: Stack, n: int):
        self.proc = proc
        self.stack = stack
        self.n = n
        self._armed: tuple[int, int] | None = None
        self._reading: asyncio.Future[bytes] | None = None  # a readline outliving a timeout

    @classmethod
    async def open(
        cls, stack: Stack, users: list[str], sample_every: int = 10, timeout: float = 60.0
    ) -> LatencyProbe:
        """Start the probe (on the generator's core) and connect one client per user; returns
        once every client finished its handshake (Tocsin auth, Socket.IO connect)."""
        if not BINARY.exists():
            raise ProbeError(f"{BINARY} is missing: run bench/run (or bench/run --install-only)")
        if SOURCE.exists() and BINARY.stat().st_mtime < SOURCE.stat().st_mtime:
            raise ProbeError(f"{BINARY} is older than {SOURCE.name}: run bench/run to rebuild it")
        lines = []
        for user in users:
            url = urlsplit(stack.ws_url(user))
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            token = stack.token_for(user) if stack.protocol is Protocol.TOCSIN else ""
            lines.append(f"{path}\t{token}\n")
        argv = [str(BINARY), HOST, str(stack.port), stack.protocol.value, str(len(users))]
        argv += [str(sample_every), str(_T0)]
        proc = await asyncio.create_subprocess_exec(
            *("taskset", "-c", str(GENERATOR_CPU), *argv),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        probe = cls(proc, stack, len(users))
        try:
            await probe._send("".join(lines))
            try:
                line = await probe._line(timeout)
            except TimeoutError:
                await probe._send("quit\n")  # the probe answers with where its clients stand
                try:
                    line = await probe._line(5.0, quiet=True)
                except TimeoutError:
                    line = "no answer"
                what = f"{len(users)} clients not ready after {timeout:g} s ({line})"
                raise probe._error(what) from None
            if line != "ready":
                raise probe._error(f"expected ready, got {line!r}")
        except BaseException:
            await probe.close()
            raise
        return probe

    async def arm(self, first_i: int, count: int, timeout: float = 10.0) -> None:
        """Every client must now receive i = first_i .. first_i + count - 1."""
        await self._send(f"expect {first_i} {count}\n")
        try:
            line = await self._line(timeout)
        except TimeoutError:
            raise self._error("no answer to expect") from None
        if line != "armed":
            raise self._error(f"expected armed, got {line[:200]!r}")
        self._armed = (first_i, count)

    async def result(self, timeout: float) -> dict[str, Any]:
        """The armed measurement's figures once every client has its range, or what arrived
        by `timeout` (then `timed_out` is true)."""
        timed_out = False
        try:
            line = await self._line(timeout)
        except TimeoutError:
            timed_out = True
            await self._send("report\n")
            try:
                line = await self._line(10.0)
            except TimeoutError:
                raise self._error("no report") from None
        self._armed = None
        if not line.startswith("{"):
            raise self._error(f"expected JSON, got {line[:200]!r}")
        result: dict[str, Any] = orjson.loads(line)
        result["timed_out"] = timed_out
        return result

    async def measure(self, first_i: int, count: int, timeout: float) -> dict[str, Any]:
        """`arm` (unless already armed for this range), then `result`."""
        if self._armed != (first_i, count):
            await self.arm(first_i, count)
        return await self.result(timeout)

    def cpu_seconds(self) -> float:
        """User + system CPU time the probe has used so far."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def close(self) -> None:
        """Close every client and end the probe."""
        proc = self.proc
        if proc.returncode is None:
            with contextlib.suppress(ProbeError, OSError):
                await self._send("quit\n")
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reading is not None:
            self._reading.cancel()

    async def __aenter__(self) -> LatencyProbe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the pipe ----------------------------------------------------------------------------
    async def _send(self, text: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(text.encode())
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            code = await self._reap()
            raise self._error(f"exited with {code}") from None

    def _error(self, text: str) -> ProbeError:
        return ProbeError(f"latency probe, {self.stack.name}: {text}")

    async def _line(self, timeout: float, *, quiet: bool = False) -> str:
        """The probe's next line (TimeoutError leaves the read pending for the next call); an
        "error" line or the probe's exit is a ProbeError, unless `quiet`."""
        assert self.proc.stdout is not None
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.proc.stdout.readline())
        raw = await asyncio.wait_for(asyncio.shield(self._reading), timeout)
        self._reading = None
        line = raw.decode(errors="replace").strip()
        if quiet:
            return line[6:] if line.startswith("error ") else line
        if line.startswith("error "):
            await self._reap()
            raise self._error(line[6:])
        if not line:
            code = await self._reap()
            raise self._error(f"exited with {code}")
        return line

    async def _reap(self) -> int | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 5)
        return self.proc.returncode
