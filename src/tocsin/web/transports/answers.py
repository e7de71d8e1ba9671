"""What a request answered outside ASGI produces: a status, extra headers and a JSON body
(``transports.http`` frames them), and the answers to failures the routes would give."""

from __future__ import annotations

import logging

import orjson

from tocsin.errors import TocsinError

Headers = list[tuple[str, str]]
Answer = tuple[int, Headers, bytes]
logger = logging.getLogger("tocsin.web")


def refused(exc: TocsinError) -> Answer:
    """A documented error: its status and JSON body (401s say to use a Bearer token)."""
    headers = [("www-authenticate", "Bearer")] if exc.status == 401 else []
    return exc.status, headers, orjson.dumps(exc.to_dict())


def internal_error(request: str) -> Answer:
    """A 500 for an unexpected exception (logged with its traceback); call in ``except``."""
    logger.exception("unexpected error on %s", request)
    error = {"code": "internal_error", "message": "Something went wrong on the server."}
    return 500, [], orjson.dumps(error)
