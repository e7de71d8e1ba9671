"""``tocsin serve --workers N``: one port, N processes, one node (real Redis between them)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from tests.integration.test_cli import free_port, tocsin

REDIS = "redis://127.0.0.1:6379/0"


def health(url: str) -> dict[str, int]:
    answer = httpx.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=5)
    assert answer.status_code == 200, answer.text
    body: dict[str, int] = answer.json()
    return body


def worker_pids(url: str, tries: int = 40) -> dict[int, int]:
    """Connections per worker pid, as the workers' health answers tell (new TCP connection
    each time, so the kernel picks a worker each time)."""
    seen: dict[int, int] = {}
    for _ in range(tries):
        body = health(url)
        seen[body["pid"]] = body["connections"]
    return seen


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "TOCSIN_DATA_DIR": str(tmp_path),
        "TOCSIN_BROKER_CHANNEL": f"test.{uuid.uuid4().hex}",
    }
    command = [sys.executable, "-m", "tocsin", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        [*command, "--broker-url", REDIS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while len(_pids_or_none(url)) < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"workers did not start: {process.communicate(timeout=5)[0]!r}")
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=30)


def _pids_or_none(url: str) -> dict[int, int]:
    try:
        return worker_pids(url, tries=10)
    except httpx.TransportError:
        return {}


async def test_workers_share_the_port_and_deliver_as_one_node(
    tmp_path: Path, served: tuple[str, subprocess.Popen[bytes]]
) -> None:
    """Connections spread over both workers; a broadcast published through any worker
    reaches all of them, a targeted one only its user."""
    url, _ = served
    secret = tocsin(tmp_path, "api-key", "create", "t").stdout.strip()
    users = [f"u{index}" for index in range(16)]
    sockets = []
    for user in users:
        token = tocsin(tmp_path, "token", user).stdout.strip()
        ws = await websockets.connect(url.replace("http", "ws") + "/v1/ws")
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"
        sockets.append(ws)
    spread = worker_pids(url)
    assert len(spread) == 2 and all(count > 0 for count in spread.values()), spread
    assert sum(spread.values()) == len(users)

    key = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=url, headers=key) as client:
        everyone = await client.post(
            "/v1/notifications", json={"to": {"everyone": True}, "title": "all"}
        )
        one = await client.post("/v1/notifications", json={"to": {"users": ["u3"]}, "title": "3"})
    assert everyone.status_code == one.status_code == 202
    for user, ws in zip(users, sockets, strict=True):
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert frame["seq"] == everyone.json()["seq"]
        if user == "u3":
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert frame["seq"] == one.json()["seq"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.05)
        await ws.close()


def test_a_worker_that_dies_is_replaced_and_sigterm_stops_them_all(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """SIGKILL one worker: the supervisor starts another; SIGTERM: all exit gracefully."""
    url, process = served
    before = set(worker_pids(url))
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:
        now = set(_pids_or_none(url))
        if len(now) == 2 and victim not in now:
            break
        assert time.monotonic() < deadline, f"no replacement worker: {now}"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    for pid in now:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert re.search(rb"worker \d \(pid \d+\) exited with -9; restarting", output), output
    assert output.count(b"Application shutdown complete") == 2, output


def test_workers_without_a_broker_are_refused(tmp_path: Path) -> None:
    """--workers 2 on the in-process broker exits 2 with a message naming the setting."""
    result = tocsin(tmp_path, "serve", "--workers", "2")
    assert result.returncode == 2
    assert "TOCSIN_BROKER_URL" in result.stderr


def test_a_port_in_use_is_refused_not_shared(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    """A second `serve --workers` on the port of a running one exits 1 saying so, instead
    of splitting the traffic with it (SO_REUSEPORT would allow that)."""
    url, _ = served
    port = url.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "tocsin", "serve", "--port", port, "--workers", "2"]
    result = subprocess.run(
        [*command, "--broker-url", REDIS], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr


def test_unreachable_services_stop_serve_with_one_line(tmp_path: Path) -> None:
    """A broker or database that cannot be reached: exit 1 with one line naming it."""
    broker = tocsin(tmp_path, "serve", "--broker-url", "redis://127.0.0.1:1/0")
    assert broker.returncode == 1
    assert broker.stderr.startswith("tocsin: Redis at redis://127.0.0.1:1/0 cannot be reached")
    database = tocsin(tmp_path, "serve", "--database-url", "postgresql://x@127.0.0.1:1/x")
    assert database.returncode == 1
    assert database.stderr.startswith("tocsin: The database cannot be reached")
    assert "Traceback" not in broker.stderr + database.stderr


def test_a_worker_that_keeps_dying_at_start_makes_the_supervisor_give_up(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Killed right after each start, a worker is restarted with growing pauses; after
    five failures in a row the supervisor stops everything and exits 1."""
    url, process = served
    killed: set[int] = set()
    deadline = time.monotonic() + 60
    while process.poll() is None:
        assert time.monotonic() < deadline, "the supervisor never gave up"
        for pid in set(_pids_or_none(url)) - killed:  # every worker, as soon as it answers
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.1)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 1, output
    assert b"failed 5 times within 10 s of starting; stopping" in output, output
