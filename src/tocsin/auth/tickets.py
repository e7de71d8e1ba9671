"""Short-lived, single-use tickets for transports that cannot send headers (EventSource).

A ticket is a signed token (valid ``TICKET_SECONDS``) made from a user JWT by
``POST /v1/tickets``; it may appear in a URL because it is spent on first use, which
storage records so no node accepts it twice. Tickets are signed with a key derived from the
JWT secret, so a ticket is never accepted as a user token, nor a user token as a ticket.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import jwt

from tocsin.auth.tokens import Principal
from tocsin.batching import Coalescer
from tocsin.errors import Unauthorized
from tocsin.storage.base import Storage

TICKET_SECONDS = 30
AUDIENCE = "tocsin:ticket"


def _invalid() -> Unauthorized:
    return Unauthorized("The ticket is invalid, expired or already used.", code="invalid_ticket")


class Tickets:
    """Issues and redeems tickets."""

    def __init__(self, secret: str, storage: Storage, *, seconds: int = TICKET_SECONDS) -> None:
        self._key = hashlib.sha256(b"tocsin-ticket:" + secret.encode()).hexdigest()
        self._storage = storage
        self.seconds = seconds
        # streams that connect together spend their tickets in one transaction
        self._spend: Coalescer[tuple[str, int], bool] = Coalescer(self._spend_together)

    def issue(self, principal: Principal) -> str:
        """A ticket for ``principal``, valid for ``seconds`` and one use."""
        now = int(time.time())
        claims = {
            "sub": principal.user,
            "roles": list(principal.roles),
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self.seconds,
            "jti": secrets.token_urlsafe(16),
            "session_exp": principal.expires_at,
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    async def redeem(self, ticket: str | None) -> Principal:
        """Spend a ticket and return whom it was issued to.

        Raises:
            Unauthorized: ``invalid_ticket`` when it is missing, forged, expired or reused.
        """
        if not ticket or len(ticket) > 4096:
            raise _invalid()
        try:
            claims = jwt.decode(
                ticket,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "sub", "jti", "session_exp"]},
            )
        except jwt.PyJWTError:
            raise _invalid() from None
        user, roles, jti = claims["sub"], claims.get("roles", []), claims["jti"]
        if not (isinstance(user, str) and isinstance(jti, str) and isinstance(roles, list)):
            raise _invalid()
        if not await self._spend((jti, int(claims["exp"]) * 1000)):
            raise _invalid()
        return Principal(
            user=user,
            roles=tuple(str(role) for role in roles),
            expires_at=float(claims["session_exp"]),
        )

    async def _spend_together(self, tickets: list[tuple[str, int]]) -> list[bool]:
        return await self._storage.spend_tickets(tickets, now=int(time.time() * 1000))
