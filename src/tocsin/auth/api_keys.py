"""API keys that backends use to publish. Only a SHA-256 hash of each secret is stored."""

from __future__ import annotations

import hashlib
import secrets
import time

from tocsin.errors import Unauthorized
from tocsin.models import ApiKey
from tocsin.storage.base import Storage

PREFIX = "tsk_"
CACHE_SECONDS = 30.0


def new_secret() -> str:
    """A new API key secret: ``tsk_`` and 43 URL-safe characters (256 bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    """Looks keys up in storage, with a short cache so publishing stays cheap."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cache: dict[str, tuple[ApiKey, float]] = {}

    async def authenticate(self, secret: str | None) -> ApiKey:
        """The live key for ``secret``.

        Raises:
            Unauthorized: missing, unknown or revoked key (``invalid_api_key``).
        """
        if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
            raise _invalid()
        digest = hash_secret(secret)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        key = await self._storage.find_api_key(digest)
        if key is None:
            self._cache.pop(digest, None)
            raise _invalid()
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (key, time.monotonic() + CACHE_SECONDS)
        return key


def _invalid() -> Unauthorized:
    return Unauthorized("A valid API key is required.", code="invalid_api_key")
