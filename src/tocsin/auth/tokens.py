"""User JSON Web Tokens: ``sub`` is the user id, ``roles`` their roles, ``exp`` required."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from tocsin.errors import Unauthorized

USER_ID = re.compile(r"^[^\x00-\x1f\x7f\ud800-\udfff]{1,255}$")
LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user."""

    user: str
    roles: tuple[str, ...]
    expires_at: float  # seconds since the epoch


def _invalid() -> Unauthorized:
    # Uniform on purpose: never tell a caller why a token was refused.
    return Unauthorized("The token is invalid or expired.", code="invalid_token")


class TokenVerifier:
    """Checks user JWTs against the configured secret(s), algorithms, audience and issuer.

    Several secrets may be configured to rotate keys: tokens signed with any of them are
    accepted; new tokens are signed with the first.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        algorithms: Sequence[str] = ("HS256",),
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("at least one JWT secret is needed")
        self._secrets = tuple(secrets)
        self._algorithms = list(algorithms)
        self._audience = audience
        self._issuer = issuer

    def verify(self, token: str) -> Principal:
        """The principal of a valid token.

        Raises:
            Unauthorized: forged, expired, malformed, or without ``sub``/``exp`` (uniform).
        """
        claims: dict[str, object] | None = None
        for secret in self._secrets:
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=self._algorithms,
                    audience=self._audience,
                    issuer=self._issuer,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                raise _invalid() from None
        if claims is None:
            raise _invalid()
        user, roles, exp = claims.get("sub"), claims.get("roles", []), claims.get("exp")
        if not isinstance(user, str) or not USER_ID.match(user):
            raise _invalid()
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise _invalid()
        if not isinstance(exp, int | float):
            raise _invalid()
        return Principal(user=user, roles=tuple(roles), expires_at=float(exp))

    def issue(self, user: str, *, roles: Sequence[str] = (), ttl: float = 3600) -> str:
        """A token for ``user`` signed with the first secret (development and tests)."""
        return issue_token(
            self._secrets[0],
            user,
            roles=roles,
            ttl=ttl,
            algorithm=self._algorithms[0],
            audience=self._audience,
            issuer=self._issuer,
        )


def issue_token(
    secret: str,
    user: str,
    *,
    roles: Sequence[str] = (),
    ttl: float = 3600,
    algorithm: str = "HS256",
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """Sign a user token with ``sub``, ``roles``, ``iat`` and ``exp`` (now + ``ttl`` seconds)."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": user, "iat": now, "exp": now + int(ttl)}
    if roles:
        claims["roles"] = list(roles)
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm=algorithm)
