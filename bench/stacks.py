"""The servers under test, each behind one interface: start, connect clients, publish, stop.

Tocsin is driven through its product API (HTTP publish, stored, then delivered); the peers
get a small HTTP control surface (bench/peers/control.js, psio_server.py) doing the same job
without storage: `POST /broadcast` (a burst, encoded once per message) and `POST /publish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import jwt
import orjson

from bench.clients import Dialer, Protocol, SseUnavailable, open_sse
from bench.http_client import HttpConnection, HttpError
from bench.procs import ServerFailed, ServerProcess

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
VENV_BIN = ROOT / "bench" / ".venv" / "bin"
TOCSIN = Path(os.environ.get("TOCSIN_BIN", ROOT / ".venv" / "bin" / "tocsin"))
PG_DSN = "postgresql://127.0.0.1:5432/test"
HOST = "127.0.0.1"
# with `i` and `t`, a peer's message is a ~200-byte JSON text; Tocsin wraps it in its envelope
BODY = "x" * 140
TITLE = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Stack:
    """One server under test. Subclasses say how to start it and how to publish to it."""

    name: ClassVar[str]
    label: ClassVar[str]
    protocol: ClassVar[Protocol]
    is_tocsin: ClassVar[bool] = False
    resumable: ClassVar[bool] = False  # replays what a client missed while it was away

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = 0
        self.server: ServerProcess | None = None
        self.dialer = Dialer(self.protocol, self.ws_url, self.token_for)

    # -- lifecycle ---------------------------------------------------------------------------
    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    async def start(self) -> None:
        self.port = free_port()
        log = self.workdir / f"{self.name}-{self.port}.log"
        self.server = ServerProcess(self.argv(), env=self.env(), log=log, cwd=PEERS)
        await self._wait_healthy()

    async def _wait_healthy(self, timeout: float = 60.0) -> None:
        assert self.server is not None
        deadline = time.monotonic() + timeout
        while True:
            self.server.check_alive()
            http = HttpConnection(HOST, self.port)
            try:
                await http.request("GET", "/healthz")
                return
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise ServerFailed(f"{self.name} never became healthy") from None
                await asyncio.sleep(0.1)
            finally:
                http.close()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    # -- clients -----------------------------------------------------------------------------
    def ws_url(self, user: str) -> str:
        raise NotImplementedError

    def token_for(self, user: str) -> str:
        return ""

    has_sse: ClassVar[bool] = False

    async def sse_target(self, user: str) -> tuple[str, dict[str, str]]:
        """(path, headers) of a new SSE stream for `user`."""
        raise SseUnavailable(0, b"no SSE transport")

    async def open_sse(self, user: str, source_ip: str) -> asyncio.Transport:
        path, headers = await self.sse_target(user)
        return await open_sse(HOST, self.port, path, headers, source_ip)

    # -- publishing --------------------------------------------------------------------------
    def http(self) -> HttpConnection:
        return HttpConnection(HOST, self.port)

    async def broadcast_burst(self, http: HttpConnection, start: int, count: int, t: int) -> None:
        await http.post("/broadcast", {"count": count, "start": start, "t": t, "body": BODY})

    async def publish(self, http: HttpConnection, user: str, i: int, t: int) -> None:
        await http.post("/publish", {"user": user, "i": i, "t": t, "body": BODY})

    async def publish_batch(
        self, http: HttpConnection, items: Sequence[tuple[str, int, int]]
    ) -> None:
        for user, i, t in items:
            await self.publish(http, user, i, t)


class WsNode(Stack):
    name = "ws-node"
    label = "Node ws 8 (bare)"
    protocol = Protocol.PLAIN

    def argv(self) -> list[str]:
        return ["node", str(PEERS / "ws_server.js"), str(self.port)]

    def ws_url(self, user: str) -> str:
        return f"ws://{HOST}:{self.port}/?user={user}"

    has_sse = True

    async def sse_target(self, user: str) -> tuple[str, dict[str, str]]:
        return f"/sse?user={user}", {}


class SocketIONode(Stack):
    name = "socketio-node"
    label = "Node Socket.IO 4"
    protocol = Protocol.SOCKETIO

    def argv(self) -> list[str]:
        return ["node", str(PEERS / "sio_server.js"), str(self.port)]

    def ws_url(self, user: str) -> str:
        return f"ws://{HOST}:{self.port}/socket.io/?EIO=4&transport=websocket"


class SocketIONodeRecovery(SocketIONode):
    """Socket.IO with connection state recovery: the peer's answer to a reconnect storm."""

    label = "Node Socket.IO 4 (state recovery)"
    resumable = True

    def argv(self) -> list[str]:
        return [*super().argv(), "--recovery"]


class PythonSocketIO(Stack):
    name = "python-socketio"
    label = "python-socketio 5 on uvicorn"
    protocol = Protocol.SOCKETIO

    def argv(self) -> list[str]:
        return [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "psio_server:create_app",
            "--app-dir",
            str(PEERS),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--backlog",
            "4096",
        ]

    def ws_url(self, user: str) -> str:
        return f"ws://{HOST}:{self.port}/socket.io/?EIO=4&transport=websocket"


class Tocsin(Stack):
    """Tocsin on SQLite in a fresh data directory."""

    name = "tocsin"
    label = "Tocsin (SQLite)"
    protocol = Protocol.TOCSIN
    is_tocsin = True
    resumable = True
    _tokens: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.secret = "bench-" + secrets.token_hex(24)
        self.data_dir = Path(tempfile.mkdtemp(prefix="tocsin-bench-", dir=workdir))
        self.api_key = ""
        self._ticket_pool: asyncio.Queue[HttpConnection] | None = None

    def database_url(self) -> str | None:
        return None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(TOCSIN_DATA_DIR=str(self.data_dir), TOCSIN_JWT_SECRET=self.secret)
        url = self.database_url()
        if url:
            env["TOCSIN_DATABASE_URL"] = url
        return env

    def argv(self) -> list[str]:
        return [str(TOCSIN), "serve", "--host", HOST, "--port", str(self.port)]

    async def start(self) -> None:
        await self.prepare_database()
        try:
            proc = await asyncio.to_thread(
                subprocess.run,
                [str(TOCSIN), "api-key", "create", "bench"],
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
        except FileNotFoundError:
            raise ServerFailed(f"{TOCSIN} is missing: `make install` Tocsin first") from None
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise ServerFailed(f"tocsin api-key create failed: {proc.stderr[-800:]}")
        self.api_key = lines[-1].strip()
        await super().start()

    async def prepare_database(self) -> None:
        pass

    async def stop(self) -> None:
        while self._ticket_pool is not None and not self._ticket_pool.empty():
            self._ticket_pool.get_nowait().close()
        await super().stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def ws_url(self, user: str) -> str:
        return f"ws://{HOST}:{self.port}/v1/ws"

    def token_for(self, user: str) -> str:
        key = (self.secret, user)
        token = self._tokens.get(key)
        if token is None:
            now = int(time.time())
            claims = {"sub": user, "iat": now, "exp": now + 6 * 3600}
            token = self._tokens[key] = jwt.encode(claims, self.secret, algorithm="HS256")
        return token

    has_sse = True

    async def sse_target(self, user: str) -> tuple[str, dict[str, str]]:
        """EventSource cannot send a header: the stream takes a one-use ticket, bought with
        the user's JWT from `POST /v1/tickets` over one of a few keep-alive connections."""
        if self._ticket_pool is None:
            self._ticket_pool = asyncio.Queue()
            for _ in range(8):
                self._ticket_pool.put_nowait(HttpConnection(HOST, self.port))
        http = await self._ticket_pool.get()
        try:
            _, body = await http.request(
                "POST", "/v1/tickets", headers={"Authorization": f"Bearer {self.token_for(user)}"}
            )
        except HttpError as exc:
            raise SseUnavailable(exc.status, exc.body) from None
        finally:
            self._ticket_pool.put_nowait(http)
        return f"/v1/sse?ticket={orjson.loads(body)['ticket']}", {}

    def http(self) -> HttpConnection:
        return HttpConnection(HOST, self.port, {"Authorization": f"Bearer {self.api_key}"})

    @staticmethod
    def notification(to: dict[str, Any], i: int, t: int) -> dict[str, Any]:
        return {"to": to, "type": "bench", "title": TITLE, "body": BODY, "data": {"i": i, "t": t}}

    async def broadcast_burst(self, http: HttpConnection, start: int, count: int, t: int) -> None:
        if count == 1:
            await http.post("/v1/notifications", self.notification({"everyone": True}, start, t))
            return
        for first in range(start, start + count, 1000):
            items = [
                self.notification({"everyone": True}, i, t)
                for i in range(first, min(start + count, first + 1000))
            ]
            await http.post("/v1/notifications/batch", {"notifications": items})

    async def publish(self, http: HttpConnection, user: str, i: int, t: int) -> None:
        await http.post("/v1/notifications", self.notification({"users": [user]}, i, t))

    async def publish_batch(
        self, http: HttpConnection, items: Sequence[tuple[str, int, int]]
    ) -> None:
        batch = [self.notification({"users": [user]}, i, t) for user, i, t in items]
        await http.post("/v1/notifications/batch", {"notifications": batch})

    async def storage_bytes(self) -> int:
        """Bytes the storage holds: here the data directory (SQLite database, WAL)."""
        return sum(p.stat().st_size for p in self.data_dir.rglob("*") if p.is_file())


class TocsinPostgres(Tocsin):
    """Tocsin on the machine's PostgreSQL, in a schema of its own dropped afterwards."""

    name = "tocsin-pg"
    label = "Tocsin (PostgreSQL)"

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.schema = "bench_" + secrets.token_hex(6)

    def database_url(self) -> str | None:
        return f"{PG_DSN}?options=-csearch_path%3D{self.schema}"

    async def _psql(self, sql: str) -> str:
        proc = await asyncio.to_thread(
            subprocess.run,
            ["psql", "-h", HOST, "-U", "postgres", "-d", "test", "-XAtq", "-c", sql],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise ServerFailed(f"psql failed ({sql!r}): {proc.stderr.strip()}")
        return proc.stdout.strip()

    async def prepare_database(self) -> None:
        await self._psql(f"CREATE SCHEMA {self.schema}")

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(ServerFailed):
            await self._psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    async def storage_bytes(self) -> int:
        sql = (
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{self.schema}' "
            "AND c.relkind IN ('r', 'm')"
        )
        return int(await self._psql(sql))


class TocsinWorkers(Tocsin):
    """One Tocsin node of several worker processes on one port (SQLite), with Redis between
    them: what holds more connections than one process may open files."""

    name = "tocsin-workers"
    label = "Tocsin (SQLite, 2 workers, Redis)"
    workers = 2
    broker_url = "redis://127.0.0.1:6379/0"

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            TOCSIN_WORKERS=str(self.workers),
            TOCSIN_BROKER_URL=self.broker_url,
            TOCSIN_BROKER_CHANNEL=f"bench.{secrets.token_hex(6)}",
        )
        return env

    async def _wait_healthy(self, timeout: float = 60.0) -> None:
        """Until every worker answers: one that is not listening yet would leave all the
        connections to the others."""
        await super()._wait_healthy(timeout)
        deadline = time.monotonic() + timeout
        while len(await self.worker_pids()) < self.workers:
            assert self.server is not None
            self.server.check_alive()
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.name}: not every worker became healthy")
            await asyncio.sleep(0.2)

    async def worker_pids(self, tries: int = 20) -> set[int]:
        """The pids that answer /healthz, each asked on a new connection."""
        pids = set()
        for _ in range(tries):
            http = HttpConnection(HOST, self.port)
            try:
                _, body = await http.request("GET", "/healthz")
                pids.add(int(orjson.loads(body)["pid"]))
            except (OSError, RuntimeError):
                pass
            finally:
                http.close()
        return pids


STACKS: dict[str, type[Stack]] = {
    cls.name: cls
    for cls in (Tocsin, TocsinPostgres, TocsinWorkers, SocketIONode, WsNode, PythonSocketIO)
}
PEER_NAMES = ("socketio-node", "ws-node", "python-socketio")
TOCSIN_NAMES = ("tocsin", "tocsin-pg", "tocsin-workers")
