"""The publish endpoints answered outside ASGI behave as plain HTTP/1.1 should."""

from __future__ import annotations

import asyncio

import orjson

from tests.conftest import Running

BODY = orjson.dumps({"to": {"users": ["alice"]}, "title": "hi"})


def request(server: Running, body: bytes = BODY, extra: str = "", version: str = "1.1") -> bytes:
    head = (
        f"POST /v1/notifications HTTP/{version}\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {server.api_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, await asyncio.wait_for(reader.readexactly(length), 5)


async def test_pipelined_requests_are_answered_in_order(server: Running) -> None:
    """A publish, a health check and another publish sent at once come back in that order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    health = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    writer.write(request(server) + health + request(server))
    first = await read_response(reader)
    second = await read_response(reader)
    third = await read_response(reader)
    writer.close()
    assert first[0] == 202
    assert second == (200, second[1])
    assert orjson.loads(second[1])["status"] == "ok"
    assert third[0] == 202
    assert orjson.loads(third[1])["seq"] > orjson.loads(first[1])["seq"]


async def test_expect_100_continue_is_honoured(server: Running) -> None:
    """A client that waits for 100 Continue gets it before sending the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    whole = request(server, extra="Expect: 100-continue\r\n")
    head, body = whole[: whole.index(b"\r\n\r\n") + 4], whole[whole.index(b"\r\n\r\n") + 4 :]
    writer.write(head)
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(body)
    assert (await read_response(reader))[0] == 202
    writer.close()


async def test_keep_alive_and_http_1_0_close(server: Running) -> None:
    """HTTP/1.1 keeps the connection for the next request; HTTP/1.0 closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for _ in range(3):
        writer.write(request(server))
        assert (await read_response(reader))[0] == 202
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request(server, version="1.0"))
    status, _ = await read_response(reader)
    assert status == 202
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    writer.close()
