"""The publish endpoints answered outside ASGI behave as plain HTTP/1.1 should."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from tests.conftest import Running, make_settings, run_server

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


async def test_nothing_pipelined_behind_a_closing_413_or_an_event_stream_runs(
    tmp_path: Path,
) -> None:
    """A publish pipelined behind a refused body, or behind GET /v1/sse, is not stored
    (it could never be answered), and the event stream is not disturbed."""
    async with run_server(make_settings(tmp_path, max_body_bytes=1024)) as server:
        before = await server.node.storage.current_seq()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request(server, body=b"x" * 2000) + request(server))
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert data.count(b"HTTP/1.1 ") == 1
        assert data.startswith(b"HTTP/1.1 413")
        async with server.http() as client:
            ticket = (
                await client.post("/v1/tickets", headers=server.user_headers("alice"))
            ).json()["ticket"]
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        sse = f"GET /v1/sse?ticket={ticket} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        writer.write(sse + request(server))
        await asyncio.sleep(0.5)
        stream = await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        assert stream.startswith(b"HTTP/1.1 200 OK")
        assert b"HTTP/1.1 202" not in stream
        assert await server.node.storage.current_seq() == before


async def test_connection_goes_on_after_a_streamed_413(tmp_path: Path) -> None:
    """After a chunked body over the limit gets 413, the same connection serves the next
    publish."""
    async with run_server(make_settings(tmp_path, max_body_bytes=1024)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        chunk = b"x" * 1500
        writer.write(
            (
                f"POST /v1/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {server.api_key}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
            + f"{len(chunk):x}\r\n".encode()
            + chunk
            + b"\r\n0\r\n\r\n"
        )
        assert (await read_response(reader))[0] == 413
        writer.write(request(server))
        assert (await read_response(reader))[0] == 202
        writer.close()
