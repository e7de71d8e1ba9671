"""Publish, live delivery, multi-connection fan-out, resume and read-state sync, end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from tests.conftest import Running


async def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] != "ping":
            return frame


async def test_publish_reaches_the_users_socket(server: Running) -> None:
    """A notification published with an API key arrives on the user's open WebSocket."""
    ws = await server.connect("alice")
    ready = await recv(ws)
    assert ready["type"] == "ready" and ready["user"] == "alice"
    published = await server.publish(["alice"], "New message", body="Hi!", priority="high")
    frame = await recv(ws)
    assert frame["type"] == "notification"
    assert frame["seq"] == published["seq"]
    assert frame["notification"]["title"] == "New message"
    assert frame["notification"]["priority"] == "high"
    await ws.close()


async def test_two_connections_of_one_user_both_receive(server: Running) -> None:
    """Every open connection of a user gets the notification; other users get nothing."""
    first, second, other = [await server.connect(u) for u in ("bob", "bob", "carol")]
    for ws in (first, second, other):
        await recv(ws)
    published = await server.publish(["bob"])
    for ws in (first, second):
        assert (await recv(ws))["seq"] == published["seq"]
    marker = await server.publish(["carol"], "only carol")
    assert (await recv(other))["seq"] == marker["seq"]
    for ws in (first, second, other):
        await ws.close()


async def drain_until_ready(ws: ClientConnection) -> dict[str, Any]:
    frame = await recv(ws)
    assert frame["type"] == "ready", frame
    return frame


async def test_resume_replays_exactly_what_was_missed_in_order(server: Running) -> None:
    """After a disconnect, auth with after=<last seq> replays the missed items, then live."""
    ws = await server.connect("dana")
    await drain_until_ready(ws)
    seen = [(await server.publish(["dana"], f"before {i}"))["seq"] for i in range(3)]
    for expected in seen:
        assert (await recv(ws))["seq"] == expected
    await ws.close()
    missed = [(await server.publish(["dana"], f"missed {i}"))["seq"] for i in range(5)]
    await server.publish(["someone-else"], "not for dana")
    ws = await server.connect("dana", after=seen[-1])
    await drain_until_ready(ws)
    replayed = []
    while (frame := await recv(ws))["type"] == "notification":
        replayed.append(frame["seq"])
        assert frame["notification"]["title"].startswith("missed")
    assert replayed == missed
    assert frame["type"] == "resumed"
    assert frame["count"] == 5
    live = await server.publish(["dana"], "live")
    assert (await recv(ws))["seq"] == live["seq"]
    with pytest.raises(TimeoutError):
        await recv(ws, timeout=0.3)  # nothing twice
    await ws.close()


async def test_resume_under_concurrent_publishing_loses_and_repeats_nothing(
    server: Running,
) -> None:
    """Reconnecting repeatedly while notifications keep coming yields each one exactly once."""
    published: list[int] = []

    async def publisher() -> None:
        for i in range(150):
            published.append((await server.publish(["erin"], f"n{i}"))["seq"])
            await asyncio.sleep(0.002)

    task = asyncio.create_task(publisher())
    received: list[int] = []
    cursor = 0
    for _ in range(6):
        ws = await server.connect("erin", after=cursor)
        await drain_until_ready(ws)
        deadline = asyncio.get_running_loop().time() + 0.15
        while asyncio.get_running_loop().time() < deadline:
            try:
                frame = await recv(ws, timeout=0.05)
            except TimeoutError:
                continue
            if frame["type"] == "notification":
                received.append(frame["seq"])
                cursor = frame["seq"]
            elif frame["type"] == "resumed":
                cursor = max(cursor, frame["seq"])
        await ws.close()
    await task
    ws = await server.connect("erin", after=cursor)
    await drain_until_ready(ws)
    while (frame := await recv(ws))["type"] == "notification":
        received.append(frame["seq"])
    await ws.close()
    assert received == published


async def test_standalone_resume_message_sends_only_what_this_connection_lacks(
    server: Running,
) -> None:
    """A resume message after auth replays older items once, without repeating live ones."""
    old = [(await server.publish(["fay"], f"old {i}"))["seq"] for i in range(3)]
    ws = await server.connect("fay")
    await drain_until_ready(ws)
    live = await server.publish(["fay"], "live")
    assert (await recv(ws))["seq"] == live["seq"]
    await ws.send('{"type": "resume", "after": 0}')
    replayed = []
    while (frame := await recv(ws))["type"] == "notification":
        replayed.append(frame["seq"])
    assert replayed == old
    assert frame["type"] == "resumed"
    await ws.close()


async def test_read_all_reaches_the_users_other_connections(server: Running) -> None:
    """Read state changed through the API is pushed at once to every connection of the user."""
    for i in range(3):
        await server.publish(["gus"], f"n{i}")
    first, second = [await server.connect("gus") for _ in range(2)]
    for ws in (first, second):
        assert (await drain_until_ready(ws))["counts"] == {"unread": 3, "unseen": 3}
    async with server.http() as client:
        response = await client.post(
            "/v1/me/notifications/read-all", headers=server.user_headers("gus")
        )
    assert response.status_code == 200
    assert response.json()["counts"] == {"unread": 0, "unseen": 0}
    for ws in (first, second):
        frame = await recv(ws)
        assert frame["type"] == "state"
        assert frame["action"] == "read"
        assert frame["all"] is True
        assert frame["counts"] == {"unread": 0, "unseen": 0}
    await first.close()
    await second.close()


async def test_marking_one_item_tells_other_connections_which_one(server: Running) -> None:
    """Marking a single item read sends its id and the new counts to the user's sockets."""
    published = await server.publish(["hal"], "one")
    await server.publish(["hal"], "two")
    ws = await server.connect("hal")
    await drain_until_ready(ws)
    async with server.http() as client:
        response = await client.post(
            f"/v1/me/notifications/{published['id']}/read", headers=server.user_headers("hal")
        )
    assert response.status_code == 200
    frame = await recv(ws)
    assert frame["ids"] == [published["id"]]
    assert frame["counts"] == {"unread": 1, "unseen": 1}
    await ws.close()


async def test_broadcast_reaches_every_connected_user_once(server: Running) -> None:
    """A notification to everyone is stored once and delivered to every live connection."""
    sockets = [await server.connect(f"user{i}") for i in range(5)]
    sockets.append(await server.connect("user0"))
    for ws in sockets:
        await drain_until_ready(ws)
    async with server.http() as client:
        health = (await client.get("/healthz")).json()
        assert (health["connections"], health["users"]) == (6, 5)
        response = await client.post(
            "/v1/notifications",
            json={"to": {"everyone": True}, "title": "Maintenance", "priority": "critical"},
            headers=server.key_headers(),
        )
    assert response.status_code == 202
    seq = response.json()["seq"]
    for ws in sockets:
        frame = await recv(ws)
        assert frame["seq"] == seq
        assert frame["notification"]["audience"] == "everyone"
        await ws.close()
