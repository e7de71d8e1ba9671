"""Connections that cannot keep up, or went silent, are closed with their documented codes."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.conftest import make_settings, run_server

BODY = "x" * 9000


async def read_until_closed(ws: websockets.ClientConnection, seqs: list[int]) -> None:
    """Collect notification seqs until the server closes the connection."""
    while True:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "notification":
            seqs.append(frame["seq"])


async def test_slow_consumer_is_closed_with_4008_and_resumes_without_loss(tmp_path: Path) -> None:
    """A reader that stops reading is closed with 4008; resuming from its last seq gives it
    every notification it had not received."""
    async with run_server(make_settings(tmp_path, ws_max_buffer_bytes=4096)) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.setblocking(False)
        ws = await websockets.connect(server.ws_url, sock=sock, max_queue=1, max_size=None)
        await ws.send(orjson.dumps({"type": "auth", "token": server.token("sid")}).decode())
        assert orjson.loads(await ws.recv())["type"] == "ready"
        published: list[int] = []
        async with server.http() as client:
            for _ in range(12):  # ~5 MB while the client does not read
                response = await client.post(
                    "/v1/notifications/batch",
                    json={
                        "notifications": [{"to": {"users": ["sid"]}, "title": "big", "body": BODY}]
                        * 45
                    },
                    headers=server.key_headers(),
                )
                assert response.status_code == 202
                published += [item["seq"] for item in response.json()["items"]]
        await asyncio.sleep(0.5)
        received: list[int] = []
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(ws, received)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4008
        assert received == published[: len(received)]
        assert len(received) < len(published)
        resumed = await server.connect("sid", after=received[-1] if received else 0)
        assert orjson.loads(await resumed.recv())["type"] == "ready"
        while (frame := orjson.loads(await asyncio.wait_for(resumed.recv(), 10)))[
            "type"
        ] != "resumed":
            received.append(frame["seq"])
        await resumed.close()
        assert received == published


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of every unmasked server frame in ``data``."""
    frames, at = [], 0
    while at + 2 <= len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if length == 126:
            length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        frames.append((opcode, data[at : at + length]))
        at += length
    return frames


def masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    head = bytes([0x81]) + (
        bytes([0x80 | len(payload)])
        if len(payload) < 126
        else bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    )
    body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return head + mask + body


async def test_a_silent_client_is_closed_for_heartbeat_timeout(tmp_path: Path) -> None:
    """A client that answers nothing, not even pings, is closed with 4010 after two beats."""
    async with run_server(make_settings(tmp_path, heartbeat_seconds=0.5)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
        writer.write(masked_text(orjson.dumps({"type": "auth", "token": server.token("tim")})))
        data = await asyncio.wait_for(reader.read(-1), 15)  # until the server closes
        writer.close()
    frames = server_frames(data)
    assert (9, b"") in frames  # ping control frames were sent
    opcode, payload = frames[-1]
    assert opcode == 8
    assert int.from_bytes(payload[:2], "big") == 4010


async def test_shutdown_asks_every_stream_to_come_back_and_waits_for_them(
    tmp_path: Path,
) -> None:
    """Streams are not uvicorn connections one by one, yet shutting down still closes each
    (WebSocket with 1012, authenticated or not; event streams end) before the server stops."""
    import time

    import httpx

    from tests.integration.test_sse_poll import ticket

    stopped_after = 0.0
    async with run_server(make_settings(tmp_path)) as server:
        authenticated = await server.connect("alice")
        assert orjson.loads(await authenticated.recv())["type"] == "ready"
        anonymous = await websockets.connect(server.ws_url)  # no auth sent yet
        client = httpx.AsyncClient(base_url=server.url, timeout=10)
        url = f"/v1/sse?ticket={await ticket(server, 'bob')}"
        stream = await client.send(client.build_request("GET", url), stream=True)
        lines = stream.aiter_lines()
        while (await anext(lines)) != "":  # the retry line, then the ready event
            pass
        started = time.monotonic()
    stopped_after = time.monotonic() - started
    for ws in (authenticated, anonymous):
        assert await close_code(ws) == 1012
    rest = [line async for line in lines]  # the stream ended
    assert all("notification" not in line for line in rest)
    await stream.aclose()
    await client.aclose()
    assert stopped_after < 3  # closed promptly, not by the 5 s abort or the 10 s timeout


async def close_code(ws: websockets.ClientConnection) -> int | None:
    """Read until the server closes; the code it sent."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code
