"""``POST /v1/notifications``: backends publish with an API key."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Response

from tocsin.errors import InvalidRequest
from tocsin.models import ApiKey, PublishRequest, iso
from tocsin.web.api.deps import ApiKeyDep, NodeDep
from tocsin.web.api.responses import errors, json_response
from tocsin.web.api.schemas import BatchIn, BatchOut, NotificationIn, PublishedOut
from tocsin.web.node import Node

router = APIRouter(prefix="/v1/notifications", tags=["publish"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Repeat a request with the same key within 24 h: it is stored and "
        "delivered once and the first answer is returned (`Idempotent-Replayed: true`).",
    ),
]


def _check_key(key: str | None) -> None:
    if key is not None and not (1 <= len(key) <= 255 and key.isprintable()):
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 printable characters.", code="invalid_idempotency_key"
        )


def _fingerprint(body: NotificationIn | BatchIn) -> str:
    """What a repeat with the same Idempotency-Key must match."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def publish_body(
    node: Node, key: ApiKey, body: NotificationIn | BatchIn, idempotency_key: str | None
) -> tuple[list[dict[str, object]], dict[str, str] | None]:
    """Store and deliver; the answer items and the headers for the response."""
    _check_key(idempotency_key)
    items = body.notifications if isinstance(body, BatchIn) else [body]
    published = await node.publisher.publish(
        PublishRequest(
            drafts=tuple(item.draft() for item in items),
            sender=key.id,
            idempotency_key=idempotency_key,
            fingerprint=_fingerprint(body) if idempotency_key is not None else "",
        )
    )
    answer: list[dict[str, object]] = [
        {"id": event.id, "seq": event.seq, "created_at": iso(event.created_at)}
        for event in published.events
    ]
    return answer, {"Idempotent-Replayed": "true"} if published.replayed else None


@router.post(
    "",
    status_code=202,
    response_model=PublishedOut,
    responses=errors(400, 401, 409, 413, 422, 503),
    summary="Publish a notification",
)
async def publish(
    body: NotificationIn, node: NodeDep, key: ApiKeyDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Store a notification for its recipients, then deliver it to their live connections.

    Answers once the notification is committed; every recipient's inbox has it even when
    they are offline.
    """
    answer, headers = await publish_body(node, key, body, idempotency_key)
    return json_response(answer[0], 202, headers)


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchOut,
    responses=errors(400, 401, 409, 413, 422, 503),
    summary="Publish many notifications",
)
async def publish_batch(
    body: BatchIn, node: NodeDep, key: ApiKeyDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Store up to 1,000 notifications in one transaction, then deliver them in order."""
    answer, headers = await publish_body(node, key, body, idempotency_key)
    return json_response({"items": answer}, 202, headers)
