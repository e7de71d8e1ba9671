"""JSON responses encoded with orjson, and the error answers shared by every route."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from tocsin.web.api.schemas import ErrorOut


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of error answers."""
    text = {
        400: "Malformed request (bad JSON, bad cursor).",
        401: "Missing, invalid or expired credentials.",
        404: "Unknown id, or an id that is not yours.",
        409: "Idempotency-Key reused with a different body.",
        413: "Body larger than the configured limit.",
        422: "The body or parameters failed validation.",
        503: "The database is unavailable.",
    }
    return {status: {"model": ErrorOut, "description": text[status]} for status in statuses}
