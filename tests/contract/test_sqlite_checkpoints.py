"""SQLite checkpoints run beside the writer, never inside a commit, and the WAL stays bounded."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.test_storage import publish, request
from tocsin.storage import sqlite as sqlite_backend
from tocsin.storage.sqlite import SqliteStorage


@contextlib.asynccontextmanager
async def opened(path: Path) -> AsyncIterator[tuple[SqliteStorage, sqlite_backend.SqliteDatabase]]:
    """A SQLite store on ``path`` and its database, closed on exit."""
    store = SqliteStorage(f"sqlite:///{path}")
    await store.open()
    try:
        database = store._db
        assert isinstance(database, sqlite_backend.SqliteDatabase)
        yield store, database
    finally:
        await store.close()


def wal_frames_left(path: Path) -> int:
    """Frames in the WAL not yet copied into the database (read by a separate connection)."""
    with sqlite3.connect(path) as conn:
        busy, frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames - checkpointed) if busy == 0 else -1


async def test_the_writer_never_checkpoints_and_a_checkpoint_follows_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tocsin.db"
    async with opened(path) as (store, database):

        def autocheckpoint(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

        assert await database._writer.call(autocheckpoint) == 0  # the writer never does it

        monkeypatch.setattr(sqlite_backend, "CHECKPOINT_SECONDS", 3600.0)
        database._checkpointed_at = time.monotonic()
        for _ in range(20):
            await publish(store, request("alice", title="x" * 2000))
        assert database._checkpointing is None  # not due: the WAL keeps what was written
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 20 * 2000

        monkeypatch.setattr(sqlite_backend, "CHECKPOINT_SECONDS", 0.0)
        await publish(store, request("alice"))
        checkpoint = database._checkpointing
        assert checkpoint is not None  # started by the commit, running on its own thread
        await checkpoint
        assert database._checkpointing is None
        # What the checkpoint copied is in the database file: nothing is left to copy.
        assert wal_frames_left(path) == 0
    assert not path.with_name(path.name + "-wal").exists() or (
        path.with_name(path.name + "-wal").stat().st_size == 0
    )  # closing copies everything and empties the WAL


async def test_a_failed_checkpoint_is_retried_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tocsin.db"
    async with opened(path) as (store, database):
        monkeypatch.setattr(sqlite_backend, "CHECKPOINT_SECONDS", 0.0)
        failures = 0

        def failing(conn: sqlite3.Connection) -> None:
            nonlocal failures
            failures += 1
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(sqlite_backend, "_checkpoint_passive", failing)
        await publish(store, request("alice"))
        assert database._checkpointing is not None
        await database._checkpointing
        assert failures == 1
        monkeypatch.undo()
        monkeypatch.setattr(sqlite_backend, "CHECKPOINT_SECONDS", 0.0)
        await publish(store, request("alice"))
        assert database._checkpointing is not None
        await database._checkpointing
        assert wal_frames_left(path) == 0
        items = await store.replay("alice", after=0, upto=await store.current_seq(), limit=10)
        assert len(items) == 2
