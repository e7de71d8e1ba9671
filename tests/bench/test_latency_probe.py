"""The latency probe (bench/probe/latency_probe.c behind bench/probe.py) against real servers:
Tocsin, the Node `ws` peer and the Node Socket.IO peer, plus a small `websockets` server for
the frame cases those never send (pings, 16- and 64-bit lengths) and for handshake failures.

The probe needs the bench venv (picows, orjson, PyJWT) and the peers' node_modules, so this
file is run a second time as a script by bench/.venv's Python; the tests read its summary.
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run"
BENCH_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
N = 50  # clients per stack; every 10th records latencies
STACKS = ("tocsin", "ws-node", "socketio-node")


@functools.cache
def _run() -> subprocess.CompletedProcess[str]:
    """Install (and compile the probe) as bench/run does, then drive every case once."""
    install = subprocess.run(
        [str(RUN), "--install-only"], capture_output=True, text=True, timeout=600
    )
    if install.returncode != 0:
        return install
    with tempfile.TemporaryDirectory(prefix="probe-test-") as workdir:
        return subprocess.run(
            [str(BENCH_PYTHON), __file__, workdir],
            capture_output=True,
            text=True,
            timeout=110,
            cwd=ROOT,
        )


def _summary() -> dict[str, Any]:
    run = _run()
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return result


def _clean(result: dict[str, Any], per_client: int, clients: int = N) -> None:
    assert result["timed_out"] is False
    assert result["expected"] == clients * per_client
    assert result["received"] == clients * per_client
    assert result["gaps"] == result["duplicates"] == result["short_clients"] == 0
    assert result["closed"] == result["malformed"] == 0


def test_every_client_gets_every_broadcast_in_order_with_latencies() -> None:
    for stack in STACKS:
        paced, burst = _summary()[stack]["paced"], _summary()[stack]["burst"]
        _clean(paced, 3)
        _clean(burst, 5)
        for result, count in ((paced, 3), (burst, 5)):
            latencies = result["latencies_ns"]
            assert len(latencies) == N // 10 * count, stack  # clients 0, 10, 20 ... each message
            assert all(0 < ns < 5e9 for ns in latencies), (stack, latencies)


def test_gaps_duplicates_and_missing_messages_are_reported() -> None:
    for stack in STACKS:
        gap = _summary()[stack]["gap"]  # 8, 8 again, then 10: the range 8..10 ends without 9
        assert gap["timed_out"] is False, stack
        assert (gap["received"], gap["expected"]) == (2 * N, 3 * N), stack
        assert (gap["gaps"], gap["duplicates"], gap["short_clients"]) == (N, N, 0), stack
        late = _summary()[stack]["late"]  # 11..12 expected, only 11 published: report after 1 s
        assert late["timed_out"] is True, stack
        assert (late["received"], late["expected"], late["short_clients"]) == (N, 2 * N, N)
        assert late["gaps"] == late["duplicates"] == late["closed"] == 0, stack


def test_frames_pings_and_long_lengths() -> None:
    frames = _summary()["frames"]
    _clean(frames["result"], 4, clients=20)
    assert frames["pongs"] == 20  # every client answered its ping with the same payload
    assert frames["bad_frames"] == 0  # websockets closes a client sending unmasked frames


def test_socketio_handshake_and_engineio_pings() -> None:
    socketio = _summary()["socketio"]
    _clean(socketio["result"], 2, clients=10)
    assert (socketio["answers"], socketio["count"]) == (["3", "40"], 20)


def test_clients_closed_by_the_server_end_the_measurement_as_errors() -> None:
    closed = _summary()["closed"]
    assert closed["timed_out"] is False
    assert (closed["received"], closed["expected"]) == (5, 10)
    assert (closed["closed"], closed["short_clients"]) == (5, 5)


def test_handshake_failures_are_clear_errors() -> None:
    errors = _summary()["errors"]
    assert "bench/run" in errors["missing binary"]
    assert "GET /v1/nope answered HTTP/1.1 404" in errors["wrong path"]
    assert "Tocsin refused the auth" in errors["bad token"]
    assert '"code":"invalid_token"' in errors["bad token"]
    assert "Connection refused" in errors["nobody listening"]
    assert "3 clients not ready after 1 s" in errors["silent server"]
    assert "0 of 3 clients ready" in errors["silent server"]


# -- the driver, run by bench/.venv/bin/python ----------------------------------------------


async def _stack_cases(stack: Any) -> dict[str, Any]:
    from bench.clients import now_ns
    from bench.probe import LatencyProbe

    out: dict[str, Any] = {}
    http = stack.http()
    probe = await LatencyProbe.open(stack, [f"u{k}" for k in range(N)])
    try:
        await stack.broadcast_burst(http, 100, 1, now_ns())  # before any expect: ignored
        await probe.arm(0, 3)
        for i in range(3):
            await stack.broadcast_burst(http, i, 1, now_ns())
            await asyncio.sleep(0.02)
        out["paced"] = await probe.result(10)
        await probe.arm(3, 5)
        await stack.broadcast_burst(http, 3, 5, now_ns())  # one request, five messages
        out["burst"] = await probe.result(10)
        await probe.arm(8, 3)
        for i in (8, 8, 10):
            await stack.broadcast_burst(http, i, 1, now_ns())
        out["gap"] = await probe.result(10)
        await probe.arm(11, 2)
        await stack.broadcast_burst(http, 11, 1, now_ns())
        out["late"] = await probe.result(1)
    finally:
        await probe.close()
        http.close()
    return out


class _FakeStack:
    """What LatencyProbe.open reads from a stack, for servers that are not one."""

    name = "fake"

    def __init__(self, port: int, protocol: Any, path: str = "/"):
        self.port, self.protocol, self.path = port, protocol, path

    def ws_url(self, user: str) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def token_for(self, user: str) -> str:
        return ""


async def _frames_case() -> dict[str, Any]:
    """20 plain clients; each gets a ping, then i=0 (70 kB: 64-bit length), i=1 (300 B: 16-bit),
    i=2 and i=3 sent back to back, the last one split over several TCP writes."""
    from bench.clients import Protocol, now_ns
    from bench.probe import LatencyProbe
    from websockets.asyncio.server import ServerConnection, serve

    go = asyncio.Event()
    pongs = bad = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal pongs, bad
        await go.wait()
        try:
            waiter = await ws.ping(b"probe-ping")
            await asyncio.wait_for(waiter, 5)
            pongs += 1
            t = now_ns()
            await ws.send(json.dumps({"i": 0, "t": t, "body": "x" * 70_000}))
            await ws.send(json.dumps({"i": 1, "t": t, "body": "y" * 300}))
            await ws.send(json.dumps({"i": 2, "t": t}))
            frame = b"\x81" + bytes([len(last := json.dumps({"i": 3, "t": t}).encode())]) + last
            for k in range(0, len(frame), 3):
                ws.transport.write(frame[k : k + 3])  # the raw frame, a few bytes at a time
                await asyncio.sleep(0.001)
            await ws.wait_closed()
        except Exception:
            bad += 1

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        fake: Any = _FakeStack(port, Protocol.PLAIN)
        probe = await LatencyProbe.open(fake, [""] * 20)
        try:
            await probe.arm(0, 4)
            go.set()
            result = await probe.result(10)
        finally:
            await probe.close()
    return {"result": result, "pongs": pongs, "bad_frames": bad}


async def _socketio_case() -> dict[str, Any]:
    """10 Socket.IO clients of a scripted server: open, connect, an Engine.IO ping ("2", to be
    answered "3"), then two events, the second with a trailing offset (connection recovery)."""
    from bench.clients import Protocol, now_ns
    from bench.probe import LatencyProbe
    from websockets.asyncio.server import ServerConnection, serve

    go = asyncio.Event()
    answers: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send('0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000}')
        answers.append(str(await asyncio.wait_for(ws.recv(), 5)))
        await ws.send('40{"sid":"x"}')
        await go.wait()
        await ws.send("2")
        answers.append(str(await asyncio.wait_for(ws.recv(), 5)))
        t = now_ns()
        await ws.send(f'42["n",{{"type":"notification","i":0,"t":{t},"body":"b"}}]')
        await ws.send(f'42["n",{{"type":"notification","i":1,"t":{t},"body":"b"}},"0-1"]')
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        fake: Any = _FakeStack(port, Protocol.SOCKETIO)
        probe = await LatencyProbe.open(fake, [""] * 10)
        try:
            await probe.arm(0, 2)
            go.set()
            result = await probe.result(10)
        finally:
            await probe.close()
    return {"result": result, "answers": sorted(set(answers)), "count": len(answers)}


async def _closed_case() -> dict[str, Any]:
    """5 plain clients, each sent i=0 and then closed by the server (code 4008)."""
    from bench.clients import Protocol, now_ns
    from bench.probe import LatencyProbe
    from websockets.asyncio.server import ServerConnection, serve

    go = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await go.wait()
        await ws.send(json.dumps({"i": 0, "t": now_ns()}))
        await ws.close(4008, "slow consumer")

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        fake: Any = _FakeStack(server.sockets[0].getsockname()[1], Protocol.PLAIN)
        probe = await LatencyProbe.open(fake, [""] * 5)
        try:
            await probe.arm(0, 2)
            go.set()
            return await probe.result(10)  # no need to wait: no client can finish
        finally:
            await probe.close()


async def _error_cases(tocsin: Any) -> dict[str, str]:
    import bench.probe
    from bench.clients import Protocol
    from bench.probe import LatencyProbe, ProbeError

    async def error_of(stack: Any, users: int = 3, **kw: Any) -> str:
        try:
            probe = await LatencyProbe.open(stack, [f"u{k}" for k in range(users)], **kw)
        except ProbeError as exc:
            return str(exc)
        await probe.close()
        return "no error"

    errors = {}
    binary = bench.probe.BINARY
    bench.probe.BINARY = binary.with_name("no-such-probe")
    try:
        errors["missing binary"] = await error_of(tocsin)
    finally:
        bench.probe.BINARY = binary
    errors["wrong path"] = await error_of(_FakeStack(tocsin.port, Protocol.PLAIN, "/v1/nope"))
    good = tocsin.token_for
    tocsin.token_for = lambda user: "not-a-jwt"
    try:
        errors["bad token"] = await error_of(tocsin)
    finally:
        tocsin.token_for = good

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never answers the upgrade
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    errors["silent server"] = await error_of(_FakeStack(port, Protocol.PLAIN), timeout=1.0)
    server.close()
    errors["nobody listening"] = await error_of(_FakeStack(port, Protocol.PLAIN))
    return errors


async def _drive(workdir: Path) -> dict[str, Any]:
    from bench.stacks import SocketIONode, Tocsin, WsNode

    summary: dict[str, Any] = {}
    for cls in (Tocsin, WsNode, SocketIONode):
        stack = cls(workdir)
        await stack.start()
        try:
            summary[cls.name] = await _stack_cases(stack)
            if cls is Tocsin:
                summary["errors"] = await _error_cases(stack)
        finally:
            await stack.stop()
    summary["frames"] = await _frames_case()
    summary["socketio"] = await _socketio_case()
    summary["closed"] = await _closed_case()
    return summary


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print(json.dumps(asyncio.run(_drive(Path(sys.argv[1])))))
