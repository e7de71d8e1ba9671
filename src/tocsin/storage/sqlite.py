"""SQLite backend (the default): one writer and one reader connection, WAL, no server.

sqlite3 is blocking, so each connection lives on its own thread; statements of one unit of
work are queued there in order.

Commits never wait for the disk: with ``synchronous=NORMAL`` a WAL commit is an append, and
the fsyncs happen at checkpoints. SQLite would checkpoint inside whichever commit crosses
the threshold, stalling every publish queued behind it, so automatic checkpoints are off and
a third connection checkpoints on its own thread, at most every ``CHECKPOINT_SECONDS`` while
there are commits: the WAL holds about that much writing.

Several processes may share the file (the workers of a node): their write transactions
take a file lock first (``WriteLock``), so they queue in the kernel rather than in SQLite's
busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from tocsin.errors import StorageError
from tocsin.storage import migrate
from tocsin.storage.sql import Database, Params, Row, Session, SqlStorage

T = TypeVar("T")
logger = logging.getLogger("tocsin.storage")
CHECKPOINT_SECONDS = 1.0
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # the WAL file is cut back to this after a burst


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    path = url.removeprefix("sqlite://").removeprefix("/")
    if not path or path == ":memory:":
        raise ValueError("SQLite needs a file path: sqlite:///path/to/tocsin.db")
    return Path(path)


class _Connection:
    """A sqlite3 connection confined to one thread."""

    def __init__(self, path: Path, *, auto_checkpoint: bool = True) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-sqlite")
        self._path = path
        self._auto_checkpoint = auto_checkpoint
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
            if not self._auto_checkpoint:
                conn.execute("PRAGMA wal_autocheckpoint=0")
                conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            return conn

        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._executor, connect)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=False)


Step = Callable[[sqlite3.Connection], object]


class _SqliteSession(Session):
    """Statements whose results are not needed wait and run with the next one that is
    (or with COMMIT), so a transaction costs two or three trips to the database thread."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._pending: list[Step] = []

    def step(self, step: Step) -> None:
        """Run ``step`` on the connection's thread, in order with the statements."""
        self._pending.append(step)

    async def execute(self, sql: str, params: Params | None = None) -> None:
        self._pending.append(lambda conn: conn.execute(sql, params or {}))

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._pending.append(lambda conn: conn.executemany(sql, rows))

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        pending, self._pending = self._pending, []

        def run(conn: sqlite3.Connection) -> list[Row]:
            _run_pending(conn, pending)
            return conn.execute(sql, params or {}).fetchall()

        return await self._connection.call(run)

    async def fetch_each(self, statements: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        pending, self._pending = self._pending, []

        def run(conn: sqlite3.Connection) -> list[list[Row]]:
            _run_pending(conn, pending)
            if conn.in_transaction:
                return [conn.execute(sql, params).fetchall() for sql, params in statements]
            conn.execute("BEGIN")  # one read transaction: one snapshot for them all
            try:
                return [conn.execute(sql, params).fetchall() for sql, params in statements]
            finally:
                conn.execute("COMMIT")

        return await self._connection.call(run)

    async def finish(self, last: Step) -> None:
        """Run what is pending, then ``last``, in one trip."""
        pending, self._pending = self._pending, []

        def run(conn: sqlite3.Connection) -> None:
            _run_pending(conn, pending)
            last(conn)

        await self._connection.call(run)


def _run_pending(conn: sqlite3.Connection, pending: list[Step]) -> None:
    for step in pending:
        step(conn)


class WriteLock:
    """An exclusive lock on a file beside the database, held from before BEGIN IMMEDIATE
    to after COMMIT. With several processes on one file (the workers of a node), writers
    then queue in the kernel and wake as soon as the lock is free, instead of polling in
    SQLite's busy handler, which sleeps up to 100 ms between tries (measured: p99 397 ms
    for batched publishing on two workers without it)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def open(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def acquire(self, conn: sqlite3.Connection) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits

    def release(self, conn: sqlite3.Connection) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class SqliteDatabase(Database):
    """A writer connection for transactions and a reader connection for queries."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._writer = _Connection(self.path, auto_checkpoint=False)
        self._reader = _Connection(self.path)
        self._checkpointer = _Connection(self.path)
        self._write_lock = WriteLock(self.path.with_name(self.path.name + ".write-lock"))
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointed_at = 0.0

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate.upgrade, f"sqlite:///{self.path.resolve()}")
        self._write_lock.open()
        await self._writer.open()
        await self._reader.open()
        await self._checkpointer.open()

    async def close(self) -> None:
        if self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
        await self._writer.close()
        await self._checkpointer.call(_checkpoint_truncate)
        await self._checkpointer.close()
        await self._reader.close()
        self._write_lock.close()

    def _after_commit(self) -> None:
        """Start a checkpoint beside the writer if none ran in the last few moments."""
        if self._checkpointing is not None:
            return
        now = time.monotonic()
        if now - self._checkpointed_at >= CHECKPOINT_SECONDS:
            self._checkpointed_at = now
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await self._checkpointer.call(_checkpoint_passive)
        except StorageError as exc:  # retried after a later commit; the WAL just grows meanwhile
            logger.warning("SQLite checkpoint failed: %s", exc.message)
        finally:
            self._checkpointing = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        lock = self._write_lock
        async with self._writer.lock:
            session = _SqliteSession(self._writer)
            session.step(lock.acquire)
            await session.execute("BEGIN IMMEDIATE")
            try:
                yield session
                session.step(lambda conn: conn.execute("COMMIT"))
                await session.finish(lock.release)
            except BaseException:
                await self._writer.call(functools.partial(_rollback, release=lock.release))
                raise
        self._after_commit()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        async with self._reader.lock:
            yield _SqliteSession(self._reader)


def _rollback(conn: sqlite3.Connection, *, release: Step | None = None) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    finally:
        if release is not None:
            release(conn)


def _checkpoint_passive(conn: sqlite3.Connection) -> None:
    """Copy what it can of the WAL into the database, without blocking the writer."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _checkpoint_truncate(conn: sqlite3.Connection) -> None:
    """On close: everything into the database and an empty WAL, unless other processes
    (the other workers of a node) use the database: then nothing waits for them."""
    conn.execute("PRAGMA busy_timeout=0")
    with contextlib.suppress(sqlite3.OperationalError):  # busy: the others checkpoint later
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


class SqliteStorage(SqlStorage):
    """Storage in one SQLite file (``sqlite:///path``)."""

    def __init__(self, url: str) -> None:
        super().__init__(SqliteDatabase(url))
