"""Run a node under uvicorn: ASGI for HTTP, the raw protocol for WebSocket upgrades."""

from __future__ import annotations

import asyncio
import functools
import logging.config
import socket
from typing import Any, cast

import uvicorn

from tocsin.settings import Settings
from tocsin.web.app import create_app
from tocsin.web.logs import prepare_access_log, route_tocsin_logs
from tocsin.web.node import Node, check
from tocsin.web.transports.http import HttpProtocol
from tocsin.web.transports.websocket import WebSocketConnection


def uvicorn_config(node: Node, *, loop: str = "auto", **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration serving ``node`` (``overrides`` go to ``uvicorn.Config``)."""
    settings = node.settings
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": cast(Any, functools.partial(HttpProtocol, node)),
        "ws": cast(Any, functools.partial(WebSocketConnection, node)),
        "loop": loop,
        "lifespan": "on",
        "log_level": settings.log_level,
        "access_log": settings.access_log,
        "server_header": False,
        "backlog": 4096,
        "timeout_graceful_shutdown": 10,
    }
    options.update(overrides)
    config = uvicorn.Config(create_app(node), **options)
    prepare_access_log()  # after uvicorn.Config, which configures logging
    return config


def serve(settings: Settings) -> int:
    """Run a node in the foreground until interrupted (with ``settings.workers`` > 1, a
    supervisor and that many worker processes on one port); the exit status.

    Raises:
        StorageError, BrokerUnavailable: the database or the broker cannot be reached.
        TocsinError: the port is in use (workers).
    """
    asyncio.run(check(settings))
    if settings.workers > 1:
        from tocsin.web.workers import serve_workers

        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
        route_tocsin_logs(settings.log_level)
        return serve_workers(settings)
    run_node(settings)
    return 0


def run_node(settings: Settings, sockets: list[socket.socket] | None = None) -> None:
    """Run one node under uvicorn in this process (on ``sockets``, when given)."""
    node = Node.from_settings(settings)
    config = uvicorn_config(node)
    route_tocsin_logs(settings.log_level)
    server = uvicorn.Server(config)
    if _no_uvloop():
        asyncio.run(server.serve(sockets=sockets))
    else:
        server.run(sockets=sockets)


def _no_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return True
    return False
