"""A small TCP proxy for browser tests that refuses chosen HTTP paths, like a proxy or
firewall that blocks WebSocket upgrades or event streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

REFUSAL = (
    b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n"
    b"connection: close\r\n\r\nblocked"
)
METHODS = (b"GET ", b"POST ", b"DELETE ", b"PUT ", b"HEAD ", b"OPTIONS ")


class RefusingProxy:
    """Forwards 127.0.0.1:<port> to the server, answering 403 to refused path prefixes.

    Each client chunk that starts a request is inspected (browsers do not pipeline), so a
    refused path is caught even on a reused keep-alive connection.
    """

    def __init__(self, upstream_port: int, refused: tuple[str, ...]) -> None:
        self.upstream_port = upstream_port
        self.refused = tuple(prefix.encode() for prefix in refused)
        self.port = 0
        self.refusals = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RefusingProxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def _is_refused(self, chunk: bytes) -> bool:
        if not chunk.startswith(METHODS):
            return False
        target = chunk.split(b" ", 2)[1] if chunk.count(b" ") >= 2 else b""
        return any(target.startswith(prefix) for prefix in self.refused)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def upstream() -> None:
            while chunk := await reader.read(65536):
                if self._is_refused(chunk):
                    self.refusals += 1
                    writer.write(REFUSAL)
                    await writer.drain()
                    break
                up_writer.write(chunk)
                await up_writer.drain()

        async def downstream() -> None:
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for stream in (writer, up_writer):
            with contextlib.suppress(Exception):
                stream.close()


@contextlib.asynccontextmanager
async def refusing(upstream_port: int, *refused: str) -> AsyncIterator[RefusingProxy]:
    async with RefusingProxy(upstream_port, refused) as proxy:
        yield proxy
