"""``POST /v1/notifications`` (and ``/batch``) answered straight from the HTTP protocol.

Publishing is the hot path of every backend. The FastAPI routes document the endpoints and
share this module's logic (``publish_body``), but requests are served here without the ASGI
stack, whose layers cost several times the work of storing and delivering a notification.
Validation, errors and answers are the same as the routes'.
"""

from __future__ import annotations

import http
import logging
from dataclasses import dataclass, field

import orjson
from pydantic import ValidationError

from tocsin.errors import PayloadTooLarge, TocsinError
from tocsin.web.api.publish import publish_body
from tocsin.web.api.responses import validation_problem
from tocsin.web.api.schemas import BatchIn, NotificationIn
from tocsin.web.node import Node

PATHS = {b"/v1/notifications": False, b"/v1/notifications/batch": True}
logger = logging.getLogger("tocsin.web")

Headers = list[tuple[str, str]]


@dataclass(slots=True)
class PublishCall:
    """One publish request being received."""

    headers: dict[str, str]
    batch: bool
    keep_alive: bool
    path: str
    body: bytearray = field(default_factory=bytearray)


async def answer(node: Node, call: PublishCall) -> tuple[int, bytes]:
    """The status and the complete HTTP response for ``call``."""
    status, body, headers = await _outcome(node, call)
    return status, response(status, body, headers, keep_alive=call.keep_alive)


def too_large(max_bytes: int, *, close: bool) -> bytes:
    """A 413 response; ``close`` when the connection ends after it."""
    error = PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    return response(413, orjson.dumps(error.to_dict()), [], keep_alive=not close)


def response(status: int, body: bytes, headers: Headers, *, keep_alive: bool) -> bytes:
    phrase = http.HTTPStatus(status).phrase
    lines = [
        f"HTTP/1.1 {status} {phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    if not keep_alive:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _outcome(node: Node, call: PublishCall) -> tuple[int, bytes, Headers]:
    try:
        scheme, _, secret = call.headers.get("authorization", "").partition(" ")
        key = await node.api_keys.authenticate(
            secret.strip() if scheme.lower() == "bearer" else None
        )
        model = BatchIn if call.batch else NotificationIn
        try:
            body = model.model_validate_json(bytes(call.body))
        except ValidationError as exc:
            problems = [{**problem, "loc": ("body", *problem["loc"])} for problem in exc.errors()]
            status, problem = validation_problem(problems)
            return status, orjson.dumps(problem), []
        items, extra = await publish_body(node, key, body, call.headers.get("idempotency-key"))
        payload = {"items": items} if call.batch else items[0]
        return 202, orjson.dumps(payload), list((extra or {}).items())
    except TocsinError as exc:
        headers = [("www-authenticate", "Bearer")] if exc.status == 401 else []
        return exc.status, orjson.dumps(exc.to_dict()), headers
    except Exception:
        logger.exception("unexpected error on POST /v1/notifications")
        error = {"code": "internal_error", "message": "Something went wrong on the server."}
        return 500, orjson.dumps(error), []
