"""``/v1/me/...``: a user's inbox, counts and read state (user JWT)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from tocsin.errors import BadRequest
from tocsin.models import Mark, now_ms
from tocsin.protocol.envelopes import change_dict, item_dict
from tocsin.web.api.deps import NodeDep, UserDep
from tocsin.web.api.responses import errors, json_response
from tocsin.web.api.schemas import ChangeOut, CountsOut, InboxOut

router = APIRouter(prefix="/v1/me", tags=["inbox"])

Handler = Callable[..., Awaitable[Any]]
ItemId = Annotated[str, Path(min_length=1, max_length=100, description="A notification id.")]


def _cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 19:
        raise BadRequest("cursor must be a value returned as next_cursor.", code="invalid_cursor")
    return int(value)


@router.get(
    "/notifications",
    response_model=InboxOut,
    responses=errors(400, 401, 422, 503),
    summary="List my notifications",
)
async def list_notifications(
    node: NodeDep,
    user: UserDep,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    unread: Annotated[bool, Query(description="Only unread items.")] = False,
) -> Response:
    """Newest first, archived and expired items left out, with the current counts."""
    now = now_ms()
    before = _cursor(cursor)
    items = await node.storage.list_items(
        user.user, before=before, limit=limit, unread_only=unread, now=now
    )
    counts = await node.storage.counts(user.user, now=now)
    next_cursor = str(items[-1].event.seq) if len(items) == limit else None
    return json_response(
        {
            "items": [item_dict(item) for item in items],
            "next_cursor": next_cursor,
            "counts": counts.to_dict(),
        }
    )


@router.get("/counts", response_model=CountsOut, responses=errors(401, 503), summary="My counts")
async def counts(node: NodeDep, user: UserDep) -> Response:
    """Unread and unseen counts (what a badge shows)."""
    return json_response((await node.storage.counts(user.user, now=now_ms())).to_dict())


async def _mark(node: NodeDep, user: str, mark: Mark, item_id: str | None) -> Response:
    change = await node.publisher.mark(user, mark, item_id)
    return json_response(change_dict(change))


def _route(method: str, path: str, summary: str) -> Callable[[Handler], Handler]:
    return router.api_route(
        path,
        methods=[method],
        summary=summary,
        response_model=ChangeOut,
        responses=errors(401, 404, 503),
    )


@_route("POST", "/notifications/read-all", "Mark all read")
async def read_all(node: NodeDep, user: UserDep) -> Response:
    """Every item becomes read (and seen); other connections of the user are told at once."""
    return await _mark(node, user.user, Mark.READ, None)


@_route("POST", "/notifications/seen-all", "Mark all seen")
async def seen_all(node: NodeDep, user: UserDep) -> Response:
    """Every item becomes seen (the badge clears); read state is unchanged."""
    return await _mark(node, user.user, Mark.SEEN, None)


@_route("POST", "/notifications/{item_id}/read", "Mark read")
async def read(node: NodeDep, user: UserDep, item_id: ItemId) -> Response:
    """The item becomes read (and seen)."""
    return await _mark(node, user.user, Mark.READ, item_id)


@_route("POST", "/notifications/{item_id}/unread", "Mark unread")
async def unread(node: NodeDep, user: UserDep, item_id: ItemId) -> Response:
    """The item becomes unread again."""
    return await _mark(node, user.user, Mark.UNREAD, item_id)


@_route("POST", "/notifications/{item_id}/seen", "Mark seen")
async def seen(node: NodeDep, user: UserDep, item_id: ItemId) -> Response:
    """The item becomes seen."""
    return await _mark(node, user.user, Mark.SEEN, item_id)


@_route("DELETE", "/notifications/{item_id}", "Dismiss")
async def dismiss(node: NodeDep, user: UserDep, item_id: ItemId) -> Response:
    """Archive the item: it leaves lists and counts (kept, with ``archived_at``)."""
    return await _mark(node, user.user, Mark.ARCHIVED, item_id)


@_route("DELETE", "/notifications", "Clear all")
async def clear_all(node: NodeDep, user: UserDep) -> Response:
    """Archive every item."""
    return await _mark(node, user.user, Mark.ARCHIVED, None)
