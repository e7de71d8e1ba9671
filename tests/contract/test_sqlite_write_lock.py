"""Writers of several processes on one SQLite file queue on a file lock, not on polling."""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from pathlib import Path

from tests.contract.test_storage import publish, request
from tocsin.storage import Storage, open_storage


async def test_a_write_waits_for_another_writer_and_goes_as_soon_as_it_is_done(
    tmp_path: Path,
) -> None:
    """While another process's writer holds the lock, a publish waits for it, even with
    SQLite's own lock free; it commits right after the release."""
    path = tmp_path / "tocsin.db"
    storage = open_storage(f"sqlite:///{path}")
    await storage.open()
    try:
        lock = os.open(f"{path}.write-lock", os.O_RDWR)
        fcntl.flock(lock, fcntl.LOCK_EX)  # as another worker does before BEGIN IMMEDIATE
        waiting = asyncio.create_task(publish(storage, request("alice")))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # held back by the lock alone
        fcntl.flock(lock, fcntl.LOCK_UN)
        released = time.monotonic()
        [outcome] = await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - released < 0.08
        assert outcome.events[0].seq == 1
        os.close(lock)
    finally:
        await storage.close()


async def test_two_storages_on_one_file_write_together_without_errors(tmp_path: Path) -> None:
    """Two storages on one file (two workers) publishing at once: every request is stored,
    with distinct seqs and no busy errors."""
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    first, second = open_storage(url), open_storage(url)
    await first.open()
    await second.open()
    try:

        async def burst(storage: Storage, name: str) -> list[int]:
            seqs = []
            for index in range(100):
                [outcome] = await publish(storage, request(f"{name}{index}"))
                seqs.append(outcome.events[0].seq)
            return seqs

        a, b = await asyncio.gather(burst(first, "a"), burst(second, "b"))
        assert sorted(a + b) == list(range(1, 201))
    finally:
        await first.close()
        await second.close()
