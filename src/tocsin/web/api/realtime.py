"""HTTP side of the real-time transports: tickets, long-polling, and the SSE/WS descriptions."""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from tocsin.auth.tokens import Principal
from tocsin.errors import BadRequest, Unauthorized
from tocsin.hub import Frame
from tocsin.models import now_ms
from tocsin.protocol import envelopes, sse
from tocsin.protocol.envelopes import ProtocolError
from tocsin.web.api.deps import NodeDep, UserDep, user_bearer
from tocsin.web.api.responses import errors, json_response
from tocsin.web.api.schemas import ErrorOut, PollOut, TicketOut
from tocsin.web.node import Node

router = APIRouter(tags=["realtime"])

POLL_PAGE = 100
MAX_POLL_SECONDS = 60.0
GATHER_SECONDS = 0.01  # after the first live frame, wait this long for the ones behind it


@router.post(
    "/v1/tickets",
    response_model=TicketOut,
    responses=errors(401),
    summary="Get a single-use ticket",
)
async def ticket(node: NodeDep, user: UserDep) -> Response:
    """A ticket for `/v1/sse?ticket=...` (or `/v1/poll`), valid 30 s and for one use.

    EventSource cannot send an Authorization header; the ticket keeps the long-lived JWT out
    of URLs and logs.
    """
    return json_response({"ticket": node.tickets.issue(user), "expires_in": node.tickets.seconds})


class _PollWaiter:
    """A hub subscriber that collects the frames for one waiting poll request."""

    __slots__ = ("arrived", "frames", "user")

    def __init__(self, user: str) -> None:
        self.user = user
        self.frames: list[Frame] = []
        self.arrived = asyncio.Event()

    def send(self, frame: Frame) -> None:
        self.frames.extend(frame.parts or (frame,))
        self.arrived.set()

    def deliver(self, frame: Frame) -> None:
        self.send(frame)

    def flush(self) -> None:
        pass

    def tick(self, now: float, wall: float) -> None:
        pass


async def _poll_principal(node: Node, request: Request, ticket: str | None) -> Principal:
    credentials: HTTPAuthorizationCredentials | None = await user_bearer(request)
    if credentials is not None:
        return node.tokens.verify(credentials.credentials)
    if ticket is not None:
        return await node.tickets.redeem(ticket)
    raise Unauthorized("The token is invalid or expired.", code="invalid_token")


@router.get(
    "/v1/poll",
    response_model=PollOut,
    responses=errors(400, 401, 422, 503),
    summary="Long-poll for notifications",
)
async def poll(
    request: Request,
    node: NodeDep,
    after: Annotated[
        str | None, Query(description="Your cursor: the `cursor` of the previous answer.")
    ] = None,
    timeout: Annotated[
        float, Query(ge=0, le=MAX_POLL_SECONDS, description="Seconds to wait (0 = short poll).")
    ] = 25.0,
    ticket: Annotated[
        str | None, Query(description="A ticket, when no Authorization header can be sent.")
    ] = None,
) -> Response:
    """Answers at once when anything newer than `after` exists, otherwise waits up to
    `timeout` seconds for a live notification or read-state change (then an empty list).

    Without `after` the answer is a `ready` envelope and the current cursor. Messages are the
    same envelopes as on the WebSocket. Authenticate with `Authorization: Bearer <jwt>`.
    """
    try:
        cursor = sse.parse_cursor(after, "after")
    except ProtocolError as exc:
        raise BadRequest(exc.message, code=exc.code) from None
    principal = await _poll_principal(node, request, ticket)
    user, storage = principal.user, node.storage
    if cursor is None:
        upto, counts = await node.starts(user)
        ready = envelopes.ready(user, upto, counts, node.hub.heartbeat_seconds)
        return _answer([ready], upto, counts.to_dict())
    waiter = _PollWaiter(user)
    node.hub.add(waiter)  # before reading storage, so nothing slips between the two
    try:
        upto = await storage.current_seq()
        items = await storage.replay(user, after=cursor, upto=upto, limit=POLL_PAGE)
        if items:
            last = items[-1].event.seq if len(items) == POLL_PAGE else upto
            messages = [envelopes.replayed_notification(item) for item in items]
            return await _answer_with_counts(node, user, messages, last)
        if upto > cursor:
            cursor = upto  # nothing of the user's in between: move the cursor on
        if timeout > 0 and not waiter.frames:
            try:
                await asyncio.wait_for(waiter.arrived.wait(), timeout)
                await asyncio.sleep(GATHER_SECONDS)
            except TimeoutError:
                pass
    finally:
        node.hub.remove(waiter)
    messages = []
    for frame in waiter.frames:
        if frame.seq is not None:
            if frame.seq <= cursor:
                continue
            cursor = frame.seq
        messages.append(frame.payload)
    return await _answer_with_counts(node, user, messages, cursor)


async def _answer_with_counts(
    node: Node, user: str, messages: list[bytes], cursor: int
) -> Response:
    counts = await node.storage.counts(user, now=now_ms())
    return _answer(messages, cursor, counts.to_dict())


def _answer(messages: list[bytes], cursor: int, counts: dict[str, int]) -> Response:
    body = b'{"messages":[' + b",".join(messages) + b'],"cursor":%d,"counts":' % cursor
    return Response(body + orjson.dumps(counts) + b"}", media_type="application/json")


@router.get(
    "/v1/sse",
    summary="Server-Sent Events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream."},
        400: {"model": ErrorOut, "description": "Malformed Last-Event-ID."},
        401: {"model": ErrorOut, "description": "Missing, invalid, expired or reused ticket."},
        403: {"model": ErrorOut, "description": "Origin not allowed."},
    },
)
async def sse_info(
    ticket: Annotated[str, Query(description="From `POST /v1/tickets`.")],
    last_event_id: Annotated[
        str | None, Query(description="Resume cursor (or the `Last-Event-ID` header).")
    ] = None,
) -> Response:
    """An event stream of the same envelopes as the WebSocket: `id:` is the seq; a
    reconnect with `Last-Event-ID` replays what was missed, then goes live. Heartbeat
    `{"type":"ping"}` events every 25 s; `retry: 3000`; no proxy buffering.

    (Served outside ASGI; this route only answers when a request cannot be handed over,
    e.g. behind a pipelined request, and asks the client to retry.)
    """
    return json_response(
        {"code": "retry", "message": "Reconnect to /v1/sse."}, 503, {"Retry-After": "1"}
    )
