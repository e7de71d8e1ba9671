"""Who is calling: users by JWT, backends by API key."""

from tocsin.auth.api_keys import ApiKeys, hash_secret, new_secret
from tocsin.auth.tickets import Tickets
from tocsin.auth.tokens import Principal, TokenVerifier, issue_token

__all__ = [
    "ApiKeys",
    "Principal",
    "Tickets",
    "TokenVerifier",
    "hash_secret",
    "issue_token",
    "new_secret",
]
