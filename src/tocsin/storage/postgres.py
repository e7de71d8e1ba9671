"""PostgreSQL backend: a psycopg 3 async connection pool.

Statements are written with ``:name`` parameters (shared with SQLite) and converted once to
psycopg's ``%(name)s`` style.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from tocsin.errors import StorageError
from tocsin.storage import migrate
from tocsin.storage.sql import Database, Params, Row, Session, SqlStorage

SNAPSHOT_READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_PARAM = re.compile(r"(?<!:):([a-zA-Z_]\w*)")


@functools.lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
    """``:name`` parameters as psycopg's ``%(name)s``."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def conninfo(url: str) -> str:
    """A libpq URI for a ``postgresql://`` or ``postgres://`` URL."""
    return "postgresql://" + url.split("://", 1)[1]


class _PgSession(Session):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params | None = None) -> None:
        await self._conn.execute(pyformat(sql), params or {})

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        async with self._conn.cursor() as cursor:
            await cursor.executemany(pyformat(sql), rows)

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._conn.execute(pyformat(sql), params or {})
        return await cursor.fetchall()

    async def fetch_each(self, statements: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        """All in one pipeline (one round trip); outside a transaction, in a read-only
        REPEATABLE READ one, so every statement sees the same snapshot."""
        if self._conn.info.transaction_status != TransactionStatus.IDLE:
            return await self._pipelined(statements)
        async with self._conn.transaction():
            await self._conn.execute(SNAPSHOT_READ)
            return await self._pipelined(statements)

    async def _pipelined(self, statements: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        async with self._conn.pipeline():
            cursors = [await self._conn.execute(pyformat(sql), p) for sql, p in statements]
        return [await cursor.fetchall() for cursor in cursors]


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, url: str, *, max_connections: int = 10) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(
            conninfo(url), min_size=1, max_size=max_connections, open=False
        )

    async def open(self) -> None:
        try:
            await asyncio.to_thread(migrate.upgrade, self.url)
            await self._pool.open(wait=True, timeout=15)
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise StorageError(f"PostgreSQL is not reachable: {exc}") from exc

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                yield _PgSession(conn)
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL failed: {exc}") from exc

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        try:
            async with self._pool.connection() as conn:
                yield _PgSession(conn)
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL failed: {exc}") from exc


class PostgresStorage(SqlStorage):
    """Storage in PostgreSQL (``postgresql://user@host:port/db``)."""

    def __init__(self, url: str) -> None:
        super().__init__(PostgresDatabase(url))
