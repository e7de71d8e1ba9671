"""Several nodes sharing one database act as one: real PostgreSQL (or one SQLite file), and
a real Redis or NATS between them."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.conftest import Running, make_settings, run_server
from tests.integration.test_delivery import recv

BROKERS = {"redis": "redis://127.0.0.1:6379/0", "nats": "nats://127.0.0.1:4222"}


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    url: str = BROKERS[request.param]
    return url


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, database_url: str, broker_url: str, nodes: int = 2, **overrides: Any
) -> AsyncIterator[list[Running]]:
    """``nodes`` servers on one database and one broker channel (unique to the test)."""
    channel = f"test.{uuid.uuid4().hex}"
    async with contextlib.AsyncExitStack() as stack:
        running = []
        for index in range(nodes):
            folder = tmp_path / f"node{index}"
            folder.mkdir()
            settings = make_settings(
                folder,
                database_url=database_url,
                broker_url=broker_url,
                broker_channel=channel,
                **overrides,
            )
            running.append(await stack.enter_async_context(run_server(settings)))
        yield running


async def ready(node: Running, user: str, after: int | None = None) -> ClientConnection:
    ws = await node.connect(user, after=after)
    frame = await recv(ws)
    assert frame["type"] == "ready", frame
    return ws


async def test_a_notification_published_on_one_node_reaches_a_socket_on_another(
    tmp_path: Path, pg_url: str, broker_url: str
) -> None:
    """Publish on node A; the user's socket on node B gets it live, once."""
    async with cluster(tmp_path, pg_url, broker_url) as (a, b):
        on_b = await ready(b, "alice")
        on_a = await ready(a, "alice")
        published = await a.publish(["alice"], "from A")
        for ws in (on_a, on_b):
            frame = await recv(ws)
            assert frame["type"] == "notification" and frame["seq"] == published["seq"]
            assert frame["notification"]["title"] == "from A"
        with pytest.raises(TimeoutError):
            await recv(on_b, timeout=0.3)  # not twice
        await on_a.close()
        await on_b.close()


async def test_read_state_changed_on_one_node_reaches_the_users_socket_on_another(
    tmp_path: Path, pg_url: str, broker_url: str
) -> None:
    """Marking read through node A's API updates the badge of the user's socket on node B."""
    async with cluster(tmp_path, pg_url, broker_url) as (a, b):
        ws = await ready(b, "bob")
        published = await b.publish(["bob"], "read me")
        assert (await recv(ws))["seq"] == published["seq"]
        async with a.http() as client:
            answer = await client.post(
                f"/v1/me/notifications/{published['id']}/read", headers=a.user_headers("bob")
            )
        assert answer.status_code == 200, answer.text
        frame = await recv(ws)
        assert frame["type"] == "state" and frame["action"] == "read"
        assert frame["counts"]["unread"] == 0
        await ws.close()


async def test_a_broadcast_on_one_node_reaches_everyone_on_every_node(
    tmp_path: Path, pg_url: str, broker_url: str
) -> None:
    """A `to: everyone` notification reaches the users connected to each node."""
    async with cluster(tmp_path, pg_url, broker_url, nodes=3) as nodes:
        sockets = [await ready(node, f"user{index}") for index, node in enumerate(nodes)]
        async with nodes[1].http() as client:
            answer = await client.post(
                "/v1/notifications",
                json={"to": {"everyone": True}, "title": "maintenance"},
                headers=nodes[1].key_headers(),
            )
        assert answer.status_code == 202, answer.text
        for ws in sockets:
            frame = await recv(ws)
            assert frame["seq"] == answer.json()["seq"]
            assert frame["notification"]["audience"] == "everyone"
            await ws.close()


async def test_publishers_on_two_nodes_reach_a_third_in_seq_order_without_gaps(
    tmp_path: Path, pg_url: str, broker_url: str
) -> None:
    """Concurrent publishing on two nodes: a socket on a third sees every seq once, in
    order, with nothing missing (what it saw equals the user's inbox)."""
    async with cluster(tmp_path, pg_url, broker_url, nodes=3) as (a, b, c):
        ws = await ready(c, "carol")

        async def burst(node: Running, name: str) -> list[int]:
            async with node.http() as client:
                seqs = []
                for index in range(60):
                    answer = await client.post(
                        "/v1/notifications",
                        json={"to": {"users": ["carol", f"x{index}"]}, "title": f"{name}{index}"},
                        headers=node.key_headers(),
                    )
                    assert answer.status_code == 202, answer.text
                    seqs.append(answer.json()["seq"])
                return seqs

        sent = await asyncio.gather(burst(a, "a"), burst(b, "b"), burst(a, "c"), burst(b, "d"))
        expected = sorted(seq for seqs in sent for seq in seqs)
        seen = [(await recv(ws))["seq"] for _ in expected]
        assert seen == expected
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=0.5)
        await ws.close()


async def test_nodes_sharing_one_sqlite_file_act_as_one(tmp_path: Path, broker_url: str) -> None:
    """Two nodes on one SQLite file (as ``--workers`` runs them): cross-node delivery and
    resume from the shared log."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    async with cluster(tmp_path, database, broker_url) as (a, b):
        ws = await ready(b, "dana")
        first = await a.publish(["dana"], "one")
        assert (await recv(ws))["seq"] == first["seq"]
        await ws.close()
        missed = [(await b.publish(["dana"], f"missed {i}"))["seq"] for i in range(3)]
        ws = await ready(a, "dana", after=first["seq"])
        replayed = [(await recv(ws))["seq"] for _ in missed]
        assert replayed == missed
        assert (await recv(ws))["type"] == "resumed"
        await ws.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway Redis server of our own (to kill it), on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required for the broker fault tests")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            break
        if process.poll() is not None:
            pytest.fail("the throwaway redis-server did not start")
        import time

        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.kill()
        process.wait()


async def test_deliveries_the_broker_loses_are_read_from_storage(
    tmp_path: Path, pg_url: str, own_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    """With the broker killed, a notification published on node A still reaches the socket
    on node B, read from storage once B sees the committed seq run ahead."""
    url, process = own_redis
    async with cluster(tmp_path, pg_url, url, broker_gap_seconds=0.2) as (a, b):
        ws = await ready(b, "erin")
        before = await a.publish(["erin"], "while the broker is up")
        assert (await recv(ws))["seq"] == before["seq"]
        process.kill()
        process.wait()
        lost = [(await a.publish(["erin"], f"lost {i}"))["seq"] for i in range(3)]
        got = [await recv(ws, timeout=5) for _ in lost]
        assert [frame["seq"] for frame in got] == lost
        assert [frame["notification"]["title"] for frame in got] == [f"lost {i}" for i in range(3)]
        assert b.node.ordering is not None and b.node.ordering.filled >= 3
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=0.5)
        await ws.close()


async def test_another_deployment_on_the_same_channel_delivers_nothing_here(
    tmp_path: Path, broker_url: str
) -> None:
    """Two deployments (two databases) share a broker channel by mistake: each still gets
    only its own notifications, and live delivery goes on in both."""
    channel = f"test.{uuid.uuid4().hex}"
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()

    def settings(folder: Path) -> Any:
        return make_settings(folder, broker_url=broker_url, broker_channel=channel)

    async with run_server(settings(first)) as one, run_server(settings(second)) as two:
        here = await ready(two, "alice")
        await one.publish(["alice"], "the other deployment's")
        own = await two.publish(["alice"], "ours")
        frame = await recv(here)
        assert frame["seq"] == own["seq"]
        assert frame["notification"]["title"] == "ours"
        with pytest.raises(TimeoutError):
            await recv(here, timeout=0.5)
        await here.close()
