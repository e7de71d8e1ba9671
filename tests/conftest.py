"""Shared fixtures: a real Tocsin server on a real port, and a real PostgreSQL schema."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection

from tocsin.auth.api_keys import hash_secret, new_secret
from tocsin.models import now_ms
from tocsin.settings import Settings
from tocsin.web.node import Node
from tocsin.web.server import uvicorn_config

JWT_SECRET = "test-secret-0123456789-0123456789-0123456789"
PG_ADMIN = os.environ.get("TOCSIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Running:
    """A server under test: its URLs, its node, and an API key for publishing."""

    node: Node
    port: int
    api_key: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def token(self, user: str, **kwargs: Any) -> str:
        return self.node.tokens.issue(user, **kwargs)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    def key_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def user_headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    async def publish(
        self, users: list[str], title: str = "Hello", **fields: Any
    ) -> dict[str, Any]:
        async with self.http() as client:
            response = await client.post(
                "/v1/notifications",
                json={"to": {"users": users}, "title": title, **fields},
                headers=self.key_headers(),
            )
        assert response.status_code == 202, response.text
        result: dict[str, Any] = response.json()
        return result

    async def connect(self, user: str, after: int | None = None) -> ClientConnection:
        """An authenticated WebSocket; the ``ready`` frame (and replay, if any) is left unread."""
        ws = await websockets.connect(self.ws_url, open_timeout=5)
        message: dict[str, Any] = {"type": "auth", "token": self.token(user)}
        if after is not None:
            message["after"] = after
        await ws.send(orjson.dumps(message).decode())
        return ws


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "jwt_secret": JWT_SECRET,
        "port": 0,
        "log_level": "warning",
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def run_server(settings: Settings) -> AsyncIterator[Running]:
    """Start a node under uvicorn in this event loop; stop it on exit."""
    node = Node.from_settings(settings)
    server = uvicorn.Server(uvicorn_config(node, loop="none"))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    secret = new_secret()
    await node.storage.create_api_key("tests", hash_secret(secret), now=now_ms())
    try:
        yield Running(node=node, port=port, api_key=secret)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    async with run_server(make_settings(tmp_path)) as running:
        yield running


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL; fails (never skips) when it is unreachable."""
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN}: {exc}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_ADMIN}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
