"""python-socketio on uvicorn: `sio.emit` for broadcasts, one room per user for targeted ones.

Run: uvicorn --factory psio_server:create_app (from this folder), with the same HTTP control
surface as the Node peers (control.js): POST /broadcast, POST /publish, GET /healthz.
"""

from __future__ import annotations

import json
from typing import Any

import socketio

Scope = dict[str, Any]


async def _read_json(receive: Any) -> Any:
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            return json.loads(body or b"{}")


async def _answer(send: Any, status: int, body: bytes = b'{"ok":true}') -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> socketio.ASGIApp:
    """Build the Socket.IO server with the control endpoints mounted beside it."""
    sio = socketio.AsyncServer(async_mode="asgi", transports=["websocket"])

    @sio.event
    async def connect(sid: str, environ: Any, auth: Any) -> None:
        user = str((auth or {}).get("user", "anonymous"))
        await sio.enter_room(sid, user)

    async def control(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/healthz":
            await _answer(send, 200, b"ok")
            return
        if scope["method"] != "POST":
            await _answer(send, 404, b"")
            return
        body = await _read_json(receive)
        if path == "/broadcast":
            for k in range(body["count"]):
                msg = {
                    "type": "notification",
                    "i": body["start"] + k,
                    "t": body["t"],
                    "body": body["body"],
                }
                await sio.emit("n", msg)
        elif path == "/publish":
            msg = {"type": "notification", "i": body["i"], "t": body["t"], "body": body["body"]}
            await sio.emit("n", msg, to=body["user"])
        else:
            await _answer(send, 404, b"")
            return
        await _answer(send, 200)

    return socketio.ASGIApp(sio, other_asgi_app=control)
