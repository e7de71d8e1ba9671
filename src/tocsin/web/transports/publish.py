"""``POST /v1/notifications`` (and ``/batch``) answered straight from the HTTP protocol.

Publishing is the hot path of every backend. The FastAPI routes document the endpoints and
share this module's logic (``publish_body``), but requests are served here without the ASGI
stack, whose layers cost several times the work of storing and delivering a notification.
Validation, errors and answers are the same as the routes'; ``transports.http`` frames them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from pydantic import ValidationError

from tocsin.errors import TocsinError
from tocsin.web.api.publish import publish_body
from tocsin.web.api.responses import validation_problem
from tocsin.web.api.schemas import BatchIn, NotificationIn
from tocsin.web.node import Node
from tocsin.web.transports.answers import Answer, internal_error, refused

PATHS = {b"/v1/notifications": False, b"/v1/notifications/batch": True}


@dataclass(slots=True)
class PublishCall:
    """One publish request being received."""

    headers: dict[str, str]
    batch: bool
    body: bytearray = field(default_factory=bytearray)


async def answer(node: Node, call: PublishCall) -> Answer:
    """The status, the headers (besides content type and length) and the JSON body."""
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
            return status, [], orjson.dumps(problem)
        items, extra = await publish_body(node, key, body, call.headers.get("idempotency-key"))
        payload = {"items": items} if call.batch else items[0]
        return 202, list((extra or {}).items()), orjson.dumps(payload)
    except TocsinError as exc:
        return refused(exc)
    except Exception:
        return internal_error("POST /v1/notifications")
