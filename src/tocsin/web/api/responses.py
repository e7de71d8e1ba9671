"""JSON responses encoded with orjson, and the error answers shared by every route."""

from __future__ import annotations

from collections.abc import Sequence
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


def validation_problem(problems: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    """Status and body for failed validation: 400 ``malformed_json`` or 422 ``invalid_request``."""
    for problem in problems:
        if problem.get("type") == "json_invalid":
            detail = problem.get("ctx", {}).get("error")
            message = (
                f"The body is not valid JSON: {detail}."
                if detail
                else "The body is not valid JSON."
            )
            return 400, {"code": "malformed_json", "message": message}
    details = [
        {
            "loc": list(problem.get("loc", ())),
            "msg": problem.get("msg", ""),
            "type": problem.get("type", ""),
        }
        for problem in problems
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"])
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return 422, {"code": "invalid_request", "message": message, "details": details}


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
