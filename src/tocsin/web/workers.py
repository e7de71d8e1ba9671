"""One node served by several worker processes on one port (``--workers N``).

Each worker is a full node (hub, publisher, storage connections) with its own listening
socket on the shared port (``SO_REUSEPORT``: the kernel spreads new connections over the
workers evenly). The broker carries each worker's deliveries to the others, exactly as it
does between machines, so ``--workers`` needs one (``redis://`` or ``nats://``).

The supervisor holds the port (bound, never listening, so it takes no connections),
migrates the schema once, starts the workers, restarts one that dies, and on SIGINT or
SIGTERM asks every worker to shut down gracefully.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from tocsin.settings import Settings
from tocsin.storage import open_storage

logger = logging.getLogger("tocsin.workers")
RESTART_PAUSE_SECONDS = 1.0
STOP_GRACE_SECONDS = 15.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` with ``SO_REUSEPORT``, not listening yet."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_workers(settings: Settings) -> None:
    """Run ``settings.workers`` workers on one port until SIGINT or SIGTERM."""
    asyncio.run(_migrate(settings))
    holder = reuse_port_socket(settings.host, settings.port)
    port = holder.getsockname()[1]
    settings = settings.model_copy(update={"port": port})
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def spawn(index: int) -> BaseProcess:
        process = context.Process(
            target=_worker,
            args=(settings, os.getpid()),
            name=f"tocsin-worker-{index}",
            daemon=False,
        )
        process.start()
        return process

    workers = [spawn(index) for index in range(settings.workers)]
    logger.info(
        "Tocsin supervisor %d: %d workers on %s:%d", os.getpid(), len(workers), settings.host, port
    )
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(workers):
                if process.is_alive() or stopping:
                    continue
                logger.warning(
                    "worker %d (pid %s) exited with %s; restarting",
                    index,
                    process.pid,
                    process.exitcode,
                )
                time.sleep(RESTART_PAUSE_SECONDS)
                workers[index] = spawn(index)
    finally:
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        holder.close()


def _worker(settings: Settings, supervisor: int) -> None:
    """One worker process: a node under uvicorn on its own ``SO_REUSEPORT`` socket."""
    from tocsin.web.server import run_node

    _exit_with(supervisor)

    sock = reuse_port_socket(settings.host, settings.port)
    sock.listen(4096)
    run_node(settings, sockets=[sock])


def _exit_with(supervisor: int) -> None:
    """Have the kernel send SIGTERM here when the supervisor dies (even by SIGKILL), so no
    orphaned worker keeps the port."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the line above took effect
        os._exit(1)


async def _migrate(settings: Settings) -> None:
    """Bring the schema up to date once, before the workers open the database together."""
    storage = open_storage(settings.resolved_database_url)
    await storage.open()
    await storage.close()
