"""The demo app (``tocsin serve --demo``): a tiny social site and the backend it would have.

The backend part behaves like any application using Tocsin: it signs user tokens with the
shared secret and publishes through the public HTTP API with an API key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict

from tocsin.auth.api_keys import hash_secret, new_secret
from tocsin.errors import NotFound
from tocsin.models import now_ms
from tocsin.web.api.responses import json_response
from tocsin.web.node import Node

STATIC = Path(__file__).with_name("static") / "demo"
KEY_FILE = "demo-api-key"
TOKEN_SECONDS = 12 * 3600

USERS = {
    "alice": "Alice",
    "bob": "Bob",
    "carol": "Carol",
    "dave": "Dave",
    "erin": "Erin",
}

DemoUser = Literal["alice", "bob", "carol", "dave", "erin"]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: DemoUser


class Act(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actor: DemoUser
    target: DemoUser
    action: Literal["like", "comment", "message", "friend_request"]


class Admin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["system_alert", "maintenance"]
    target: DemoUser | None = None


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "name": USERS[user_id], "avatar": f"/demo/avatars/{user_id}.svg"}


def _story(act: Act) -> dict[str, Any]:
    name = USERS[act.actor]
    stories: dict[str, dict[str, Any]] = {
        "like": {
            "type": "like",
            "title": f"{name} liked your post",
            "body": "“Sunset over the harbour” has a new like.",
            "url": "/demo/#post-1",
            "data": {"group": "like:post-1", "summary": "liked your post"},
        },
        "comment": {
            "type": "comment",
            "title": f"{name} commented on your post",
            "body": "What a view! Where was this taken?",
            "url": "/demo/#post-1",
        },
        "message": {
            "type": "message",
            "title": f"New message from {name}",
            "body": "Are we still on for lunch tomorrow?",
            "url": f"/demo/#chat-{act.actor}",
            "priority": "high",
        },
        "friend_request": {
            "type": "friend_request",
            "title": f"{name} sent you a friend request",
            "body": "Accept to see each other's posts.",
            "url": f"/demo/#profile-{act.actor}",
        },
    }
    return {**stories[act.action], "actor": _user(act.actor)}


async def _api_key(node: Node) -> str:
    path = node.settings.data_dir / KEY_FILE
    if path.exists():
        secret = path.read_text().strip()
        if await node.storage.find_api_key(hash_secret(secret)) is not None:
            return secret
    secret = new_secret()
    await node.storage.create_api_key("demo app", hash_secret(secret), now=now_ms())
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def mount_demo(app: FastAPI, node: Node) -> None:
    """Serve the demo at ``/`` and ``/demo/``, with its backend under ``/demo/api``."""
    router = APIRouter(prefix="/demo/api", include_in_schema=False)
    state: dict[str, str] = {}

    async def publish(request: Request, body: dict[str, Any]) -> Response:
        if "key" not in state:
            state["key"] = await _api_key(node)
        transport = httpx.ASGITransport(app=request.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            answer = await client.post(
                "/v1/notifications",
                json=body,
                headers={"Authorization": f"Bearer {state['key']}"},
            )
        return Response(answer.content, answer.status_code, media_type="application/json")

    @router.get("/users")
    async def users() -> Response:
        return json_response([_user(user_id) for user_id in USERS])

    @router.post("/login")
    async def login(body: Login) -> Response:
        token = node.tokens.issue(body.user, ttl=TOKEN_SECONDS)
        return json_response({"token": token, "user": _user(body.user)})

    @router.post("/act")
    async def act(request: Request, body: Act) -> Response:
        if body.actor == body.target:
            raise NotFound("Pick another user to act on.")
        return await publish(request, {"to": {"users": [body.target]}, **_story(body)})

    @router.post("/admin")
    async def admin(request: Request, body: Admin) -> Response:
        if body.action == "maintenance":
            return await publish(
                request,
                {
                    "to": {"everyone": True},
                    "type": "system",
                    "title": "Scheduled maintenance tonight",
                    "body": "The site will be read-only from 22:00 to 22:30 UTC.",
                    "priority": "normal",
                    "data": {"source": "Operations"},
                },
            )
        target = body.target or "alice"
        return await publish(
            request,
            {
                "to": {"users": [target]},
                "type": "security",
                "title": "New sign-in from an unknown device",
                "body": "If this wasn't you, change your password now.",
                "priority": "critical",
                "url": "/demo/#security",
                "data": {"source": "Security"},
            },
        )

    app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/demo", StaticFiles(directory=STATIC, html=True, check_dir=False), name="demo")
