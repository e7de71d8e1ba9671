"""The ASGI application: the HTTP API, its docs, and the wiring of one node."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import swagger_ui_bundle
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

import tocsin
from tocsin.errors import TocsinError
from tocsin.storage.sqlite import sqlite_path
from tocsin.web.api import inbox, publish, realtime
from tocsin.web.api.responses import json_response, validation_problem
from tocsin.web.api.schemas import ErrorOut, HealthOut
from tocsin.web.demo import mount_demo
from tocsin.web.limits import BodyLimit
from tocsin.web.node import Node

DESCRIPTION = """
Tocsin stores every notification and delivers it live to each open browser tab of its
recipients (WebSocket at `/v1/ws`), or later when they come back.

* **Backends** publish with an API key: `Authorization: Bearer tsk_...`
  (`tocsin api-key create NAME`).
* **Users** read and change their inbox with a JWT: `Authorization: Bearer <jwt>` (`sub` = user id).
* **Errors** are JSON: `{"code": "stable_code", "message": "human text"}`.

The WebSocket protocol is described in `docs/protocol.md`.
"""

logger = logging.getLogger("tocsin.web")
STATIC = Path(__file__).with_name("static")
STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def create_app(node: Node) -> FastAPI:
    """The ASGI app for ``node``; its lifespan starts and stops the node."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await node.start()
        logger.info("Tocsin %s ready, storage: %s%s", tocsin.__version__, _where(node), _via(node))
        try:
            yield
        finally:
            await node.stop()

    app = FastAPI(
        title="Tocsin",
        version=tocsin.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={500: {"model": ErrorOut, "description": "Unexpected server error."}},
    )
    app.state.node = node
    app.include_router(publish.router)
    app.include_router(inbox.router)
    app.include_router(realtime.router)
    _system_routes(app)
    _error_handlers(app)
    app.mount(
        "/_swagger", StaticFiles(directory=Path(swagger_ui_bundle.swagger_ui_path)), name="swagger"
    )
    _client_routes(app)
    if node.settings.demo:
        mount_demo(app, node)
    else:

        @app.get("/", include_in_schema=False)
        async def home() -> Response:
            return RedirectResponse("/docs")

    app.add_middleware(BodyLimit, max_bytes=node.settings.max_body_bytes)
    origins = list(node.settings.allowed_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            max_age=600,
        )
    return app


class PublicFiles(StaticFiles):
    """Static files any origin may load (the browser client is public code)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "no-cache"
        return response


CLIENT_ENTRY = b'export * from "./tocsin/index.js";\nexport { default } from "./tocsin/index.js";\n'


def _client_routes(app: FastAPI) -> None:
    """The browser client: ``/tocsin.js`` (ES module) and its files under ``/tocsin/``."""

    @app.get("/tocsin.js", include_in_schema=False)
    async def client_entry() -> Response:
        return Response(
            CLIENT_ENTRY,
            media_type="text/javascript",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    app.mount("/tocsin", PublicFiles(directory=STATIC / "js", check_dir=False), name="client")


def _system_routes(app: FastAPI) -> None:
    @app.get("/healthz", response_model=HealthOut, tags=["system"], summary="Health")
    async def healthz(request: Request) -> Response:
        """Liveness: 200 while the node runs."""
        node: Node = request.app.state.node
        return json_response(
            {
                "status": "ok",
                "version": tocsin.__version__,
                "connections": len(node.hub),
                "users": node.hub.users,
                "broker": _broker_kind(node.settings.broker_url),
                "pid": os.getpid(),
            }
        )

    @app.get(
        "/v1/ws",
        tags=["realtime"],
        summary="WebSocket",
        status_code=101,
        responses={426: {"model": ErrorOut, "description": "Not a WebSocket upgrade."}},
    )
    async def websocket_info() -> Response:
        """The real-time endpoint. Open it as a WebSocket; see `docs/protocol.md`.

        Send `{"type": "auth", "token": "<jwt>", "after": <seq>}` first; the server answers
        `ready`, replays what was missed after `after`, then delivers live
        `notification` and `state` frames.
        """
        return json_response(
            {"code": "upgrade_required", "message": "Open /v1/ws as a WebSocket."},
            426,
            {"Upgrade": "websocket"},
        )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Tocsin API",
            swagger_js_url="/_swagger/swagger-ui-bundle.js",
            swagger_css_url="/_swagger/swagger-ui.css",
            swagger_favicon_url="/_swagger/favicon-32x32.png",
        )


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TocsinError)
    async def tocsin_error(request: Request, exc: TocsinError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return json_response(exc.to_dict(), exc.status, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        status, body = validation_problem(exc.errors())
        return json_response(body, status)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return json_response(
            {"code": "internal_error", "message": "Something went wrong on the server."}, 500
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "http_error")
        headers: dict[str, Any] | None = getattr(exc, "headers", None)
        return json_response({"code": code, "message": str(exc.detail)}, exc.status_code, headers)


def _broker_kind(url: str) -> str:
    """``memory``, ``redis`` or ``nats``, whatever the URL's scheme variant."""
    scheme = url.split(":", 1)[0]
    return {"rediss": "redis", "unix": "redis", "tls": "nats"}.get(scheme, scheme)


def _via(node: Node) -> str:
    """The broker between nodes, when there is one, without credentials."""
    if not node.broker.crosses_nodes:
        return ""
    url = urlsplit(node.settings.broker_url)
    kind = {"redis": "Redis", "nats": "NATS"}[_broker_kind(node.settings.broker_url)]
    where = url.path if url.scheme == "unix" else f"{url.hostname}:{url.port or ''}"
    return f", broker: {kind} {where} (pid {os.getpid()})"


def _where(node: Node) -> str:
    """The database, without credentials."""
    database = node.settings.resolved_database_url
    if database.startswith("sqlite:"):
        return f"SQLite {sqlite_path(database)}"
    url = urlsplit(database)
    return f"PostgreSQL {url.hostname}:{url.port or 5432}{url.path}"
