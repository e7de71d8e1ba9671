"""SQLite backend (the default): one writer and one reader connection, WAL, no server.

sqlite3 is blocking, so each connection lives on its own thread; statements of one unit of
work are queued there in order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from tocsin.errors import StorageError
from tocsin.storage import migrate
from tocsin.storage.sql import Database, Params, Row, Session, SqlStorage

T = TypeVar("T")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    path = url.removeprefix("sqlite://").removeprefix("/")
    if not path or path == ":memory:":
        raise ValueError("SQLite needs a file path: sqlite:///path/to/tocsin.db")
    return Path(path)


class _Connection:
    """A sqlite3 connection confined to one thread."""

    def __init__(self, path: Path) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-sqlite")
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self.lock = asyncio.Lock()

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StorageError("The database is closed.")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, conn)
        except sqlite3.OperationalError as exc:
            raise StorageError(f"SQLite failed: {exc}") from exc

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            return conn

        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, connect)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=False)


class _SqliteSession(Session):
    """Statements whose results are not needed wait and run with the next one that is
    (or with COMMIT), so a transaction costs two or three trips to the database thread."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._pending: list[tuple[str, Params | Sequence[Params], bool]] = []

    async def execute(self, sql: str, params: Params | None = None) -> None:
        self._pending.append((sql, params or {}, False))

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._pending.append((sql, rows, True))

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        pending, self._pending = self._pending, []

        def run(conn: sqlite3.Connection) -> list[Row]:
            _run_pending(conn, pending)
            return conn.execute(sql, params or {}).fetchall()

        return await self._connection.call(run)

    async def finish(self, last: str) -> None:
        """Run what is pending, then ``last`` (COMMIT or ROLLBACK)."""
        pending, self._pending = self._pending, []

        def run(conn: sqlite3.Connection) -> None:
            _run_pending(conn, pending)
            conn.execute(last)

        await self._connection.call(run)


def _run_pending(
    conn: sqlite3.Connection, pending: list[tuple[str, Params | Sequence[Params], bool]]
) -> None:
    for sql, params, many in pending:
        if many:
            conn.executemany(sql, params)
        else:
            conn.execute(sql, params)


class SqliteDatabase(Database):
    """A writer connection for transactions and a reader connection for queries."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._writer = _Connection(self.path)
        self._reader = _Connection(self.path)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate.upgrade, f"sqlite:///{self.path.resolve()}")
        await self._writer.open()
        await self._reader.open()

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._writer.lock:
            session = _SqliteSession(self._writer)
            await session.execute("BEGIN IMMEDIATE")
            try:
                yield session
                await session.finish("COMMIT")
            except BaseException:
                await self._writer.call(_rollback)
                raise

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        async with self._reader.lock:
            yield _SqliteSession(self._reader)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class SqliteStorage(SqlStorage):
    """Storage in one SQLite file (``sqlite:///path``)."""

    def __init__(self, url: str) -> None:
        super().__init__(SqliteDatabase(url))
