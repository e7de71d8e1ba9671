"""One node served by several worker processes on one port (``--workers N``).

Each worker is a full node (hub, publisher, storage connections) with its own listening
socket on the shared port (``SO_REUSEPORT``: the kernel spreads new connections over the
workers evenly). The broker carries each worker's deliveries to the others, exactly as it
does between machines, so ``--workers`` needs one (``redis://`` or ``nats://``).

The supervisor holds the port (bound, never listening, so it takes no connections), starts
the workers once ``tocsin serve`` has checked the database (bringing its schema up to date)
and the broker, restarts one that dies (with a growing pause, and gives up after
``MAX_QUICK_FAILURES`` failures in a row at start), and on SIGINT or SIGTERM asks every
worker to shut down gracefully.
"""

from __future__ import annotations

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

from tocsin.errors import TocsinError
from tocsin.settings import Settings

logger = logging.getLogger("tocsin.workers")
RESTART_PAUSE_SECONDS = 1.0
QUICK_EXIT_SECONDS = 10.0  # a worker that dies sooner failed at start
MAX_QUICK_FAILURES = 5  # in a row: then the supervisor gives up
STOP_GRACE_SECONDS = 15.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` with ``SO_REUSEPORT``, not listening yet."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def claim_port(host: str, port: int) -> socket.socket:
    """Hold ``port`` (a free one if 0) for the workers: bound with ``SO_REUSEPORT`` but not
    listening, so it takes no connections. It is first bound without ``SO_REUSEPORT``, so
    a port held by anything else, another Tocsin included, is refused rather than shared.

    Raises:
        TocsinError: the port is in use.
    """
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    except OSError as exc:
        message = f"Cannot listen on {host}:{port}: {exc.strerror}."
        raise TocsinError(message, code="port_in_use") from exc
    finally:
        probe.close()
    return reuse_port_socket(host, port)


class _Slot:
    """One worker's place: its process, when it started, how often it failed at start."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: BaseProcess | None = None
        self.started = 0.0
        self.quick_failures = 0
        self.restart_at: float | None = None


def serve_workers(settings: Settings) -> int:
    """Run ``settings.workers`` workers on one port until SIGINT or SIGTERM; the exit
    status (1 when a worker kept failing at start).

    Raises:
        TocsinError: the port is in use.
    """
    holder = claim_port(settings.host, settings.port)
    port = holder.getsockname()[1]
    settings = settings.model_copy(update={"port": port})
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def spawn(slot: _Slot) -> None:
        slot.process = context.Process(
            target=_worker,
            args=(settings, os.getpid()),
            name=f"tocsin-worker-{slot.index}",
            daemon=False,
        )
        slot.process.start()
        slot.started = time.monotonic()
        slot.restart_at = None

    slots = [_Slot(index) for index in range(settings.workers)]
    for slot in slots:
        spawn(slot)
    logger.info(
        "Tocsin supervisor %d: %d workers on %s:%d", os.getpid(), len(slots), settings.host, port
    )
    status = 0
    try:
        while not stopping and status == 0:
            time.sleep(0.2)
            now = time.monotonic()
            for slot in slots:
                if stopping:
                    break
                process = slot.process
                if slot.restart_at is not None:
                    if now >= slot.restart_at:
                        spawn(slot)
                    continue
                if process is None or process.is_alive():
                    continue
                quick = now - slot.started < QUICK_EXIT_SECONDS
                slot.quick_failures = slot.quick_failures + 1 if quick else 0
                if slot.quick_failures >= MAX_QUICK_FAILURES:
                    logger.error(
                        "worker %d failed %d times within %g s of starting; stopping",
                        slot.index,
                        slot.quick_failures,
                        QUICK_EXIT_SECONDS,
                    )
                    status = 1
                    break
                pause = min(RESTART_PAUSE_SECONDS * 2 ** max(0, slot.quick_failures - 1), 30.0)
                logger.warning(
                    "worker %d (pid %s) exited with %s; restarting in %g s",
                    slot.index,
                    process.pid,
                    process.exitcode,
                    pause,
                )
                slot.restart_at = now + pause
    finally:
        running = [slot.process for slot in slots if slot.process is not None]
        for process in running:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        holder.close()
    return status


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


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
