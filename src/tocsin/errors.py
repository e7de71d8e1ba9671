"""Errors raised by Tocsin.

Every error carries a stable machine-readable ``code``, a human ``message`` and the HTTP
``status`` it maps to at the edge. The tree::

    TocsinError                      root: catch this to catch everything Tocsin raises
    ├── BadRequest          (400)     malformed input (bad cursor, bad JSON)
    ├── InvalidRequest      (422)     well-formed input that fails validation
    ├── Unauthorized        (401)     missing, forged, expired token or API key (uniform)
    ├── Forbidden           (403)     authenticated but not allowed (e.g. Origin)
    ├── NotFound            (404)     unknown id, or an id that belongs to someone else
    ├── Conflict            (409)     an Idempotency-Key reused with a different body
    ├── PayloadTooLarge     (413)     body or message over the configured limit
    ├── RateLimited         (429)     too many requests or messages
    ├── StorageError        (503)     the database could not be reached or failed
    └── BrokerUnavailable   (503)     the broker between nodes could not be reached
"""

from __future__ import annotations


class TocsinError(Exception):
    """Root of every error Tocsin raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        """The JSON body sent to clients: ``{"code": ..., "message": ...}``."""
        return {"code": self.code, "message": self.message}


class BadRequest(TocsinError):
    status = 400
    code = "bad_request"


class InvalidRequest(TocsinError):
    status = 422
    code = "invalid_request"


class Unauthorized(TocsinError):
    status = 401
    code = "invalid_token"


class Forbidden(TocsinError):
    status = 403
    code = "forbidden"


class NotFound(TocsinError):
    status = 404
    code = "not_found"


class Conflict(TocsinError):
    status = 409
    code = "conflict"


class PayloadTooLarge(TocsinError):
    status = 413
    code = "payload_too_large"


class RateLimited(TocsinError):
    status = 429
    code = "rate_limited"


class StorageError(TocsinError):
    status = 503
    code = "storage_unavailable"


class BrokerUnavailable(TocsinError):
    status = 503
    code = "broker_unavailable"
