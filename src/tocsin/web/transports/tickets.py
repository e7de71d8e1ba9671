"""``POST /v1/tickets`` answered straight from the HTTP protocol.

Every event stream and long-poll starts by buying a ticket, so a reconnect storm is a storm
of ticket requests. Served here they cost no ASGI request, whose short-lived objects, made
among the long-lived ones of thousands of open streams, fragment the heap and cost CPU. The
FastAPI route (``web/api/realtime.py``) documents the endpoint and answers whenever the
shortcut is not taken; the answers are the same, header for header: like the route, this
never reads the request body, and a missing, malformed or non-Bearer ``Authorization``
header gets the same ``401 invalid_token`` as a bad token.
"""

from __future__ import annotations

import orjson

from tocsin.errors import TocsinError, Unauthorized
from tocsin.web.node import Node
from tocsin.web.transports.answers import Answer, internal_error, refused

PATH = b"/v1/tickets"


def answer(node: Node, authorization: str | None) -> Answer:
    """The status, the headers (besides content type and length) and the JSON body for a
    request whose (first) ``Authorization`` header is ``authorization``."""
    try:
        principal = node.tokens.verify(_bearer(authorization))
        ticket = {"ticket": node.tickets.issue(principal), "expires_in": node.tickets.seconds}
        return 200, [], orjson.dumps(ticket)
    except TocsinError as exc:
        return refused(exc)
    except Exception:
        return internal_error("POST /v1/tickets")


def _bearer(authorization: str | None) -> str:
    """The token of ``Bearer <token>``, read as FastAPI's ``HTTPBearer`` reads it.

    Raises:
        Unauthorized: no header, no token, or another scheme (``UserDep``'s answer).
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if not (scheme and token) or scheme.lower() != "bearer":
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    return token
