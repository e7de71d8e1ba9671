"""Every bad input, over HTTP and WebSocket, gets a clear error and loses or harms nothing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import JWT_SECRET, Running, make_settings, run_server
from tests.integration.test_delivery import recv

PUBLISH = "/v1/notifications"
BATCH = "/v1/notifications/batch"
VALID = {"to": {"users": ["alice"]}, "title": "Hello"}


def with_(**fields: Any) -> dict[str, Any]:
    """The valid body with some fields replaced."""
    return {**VALID, **fields}


# (case, endpoint, JSON body): each must be refused with 422 invalid_request.
INVALID_BODIES: list[tuple[str, str, Any]] = [
    ("array body", PUBLISH, [VALID]),
    ("string body", PUBLISH, "hello"),
    ("number body", PUBLISH, 42),
    ("null body", PUBLISH, None),
    ("unknown top-level field", PUBLISH, with_(colour="red")),
    ("unknown field in to", PUBLISH, with_(to={"users": ["alice"], "groups": ["x"]})),
    ("unknown field in actor", PUBLISH, with_(actor={"id": "bob", "email": "b@x.test"})),
    ("title as number", PUBLISH, with_(title=5)),
    ("priority urgent", PUBLISH, with_(priority="urgent")),
    ("users not a list", PUBLISH, with_(to={"users": "alice"})),
    ("users and everyone", PUBLISH, with_(to={"users": ["alice"], "everyone": True})),
    ("empty to", PUBLISH, with_(to={})),
    ("no to", PUBLISH, {"title": "Hello"}),
    ("no title", PUBLISH, {"to": {"users": ["alice"]}}),
    ("empty title", PUBLISH, with_(title="")),
    ("title of 501 chars", PUBLISH, with_(title="x" * 501)),
    ("data over 16 KiB", PUBLISH, with_(data={"blob": "x" * 16_400})),
    ("data not an object", PUBLISH, with_(data=[1, 2])),
    ("url javascript:", PUBLISH, with_(url="javascript:alert(1)")),
    ("url protocol-relative", PUBLISH, with_(url="//evil.example")),
    ("avatar javascript:", PUBLISH, with_(actor={"id": "bob", "avatar": "javascript:x"})),
    ("expires_at without zone", PUBLISH, with_(expires_at="2030-01-01T00:00:00")),
    ("batch of 0", BATCH, {"notifications": []}),
    ("batch of 1001", BATCH, {"notifications": [VALID] * 1001}),
    ("batch with a bad item", BATCH, {"notifications": [VALID, with_(title="")]}),
    ("batch with unknown field", BATCH, {"notifications": [VALID], "extra": 1}),
]

MALFORMED = [b"{not json", b'{"to": {"users": ["alice"]}, "title": "x"', b"\xff\xfe"]


def token_with(claims: dict[str, Any], secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret if alg != "none" else None, algorithm=alg)


def bad_tokens() -> dict[str, str]:
    """Tokens that must all be refused, and refused the same way."""
    now = int(time.time())
    return {
        "garbage": "not-a-jwt",
        "other secret": token_with({"sub": "alice", "exp": now + 600}, "other-secret" * 4),
        "expired": token_with({"sub": "alice", "exp": now - 120}),
        "no exp": token_with({"sub": "alice"}),
        "no sub": token_with({"exp": now + 600}),
        "alg none": token_with({"sub": "alice", "exp": now + 600}, alg="none"),
        "empty sub": token_with({"sub": "", "exp": now + 600}),
    }


def problems_with(response: httpx.Response, case: str, status: int, code: str) -> list[str]:
    """What differs from the expected JSON error (empty when it matches)."""
    try:
        body = response.json()
    except ValueError:
        return [f"{case}: {response.status_code} with a body that is not JSON: {response.text!r}"]
    if response.status_code != status or not isinstance(body, dict) or body.get("code") != code:
        return [f"{case}: expected {status} {code}, got {response.status_code} {body}"]
    if not isinstance(body.get("message"), str) or not body["message"]:
        return [f"{case}: no message in {body}"]
    return []


async def alice_items(server: Running) -> dict[str, Any]:
    async with server.http() as client:
        response = await client.get("/v1/me/notifications", headers=server.user_headers("alice"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def closed_with(ws: ClientConnection, timeout: float = 5) -> tuple[list[dict[str, Any]], int]:
    """The frames (heartbeats left out) received until the server closed, and its close code."""
    frames: list[dict[str, Any]] = []
    try:
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(timeout):
                while True:
                    frame = orjson.loads(await ws.recv())
                    if frame["type"] != "ping":
                        frames.append(frame)
    finally:
        await ws.close()
    assert ws.close_code is not None
    return frames, ws.close_code  # 1006 when the server sent no close frame


async def ready(server: Running, user: str = "alice") -> ClientConnection:
    ws = await server.connect(user)
    frame = await recv(ws)
    assert frame["type"] == "ready", frame
    return ws


async def send_all(ws: ClientConnection, messages: list[str | bytes]) -> None:
    """Send, ignoring a close that arrives half-way."""
    with contextlib.suppress(ConnectionClosed):
        for message in messages:
            await ws.send(message)


# ---------------------------------------------------------------- HTTP: bodies


async def test_malformed_json_is_400(server: Running) -> None:
    """A body that is not JSON is refused with 400 malformed_json on both publish endpoints."""
    problems: list[str] = []
    async with server.http() as client:
        for path in (PUBLISH, BATCH):
            for body in MALFORMED:
                response = await client.post(
                    path,
                    content=body,
                    headers={**server.key_headers(), "Content-Type": "application/json"},
                )
                problems += problems_with(response, f"{path} {body!r}", 400, "malformed_json")
    assert not problems, "\n".join(problems)


async def test_invalid_bodies_are_422_with_details(server: Running) -> None:
    """Valid JSON that breaks the schema is refused with 422 invalid_request and details."""
    problems: list[str] = []
    async with server.http() as client:
        for case, path, body in INVALID_BODIES:
            response = await client.post(
                path,
                content=orjson.dumps(body),
                headers={**server.key_headers(), "Content-Type": "application/json"},
            )
            found = problems_with(response, case, 422, "invalid_request")
            if not found and not response.json().get("details"):
                found = [f"{case}: no details in {response.json()}"]
            problems += found
    assert not problems, "\n".join(problems)


async def test_data_that_cannot_be_stored_exactly_is_refused(server: Running) -> None:
    """data with huge integers, lone surrogates, NaN or deep nesting gets a JSON 4xx, not a 500."""
    cases = {
        "integer over 64 bits": ('{"n": 100000000000000000000000000000}', {"invalid_request"}),
        "negative integer over 64 bits": ('{"n": -99999999999999999999999}', {"invalid_request"}),
        "lone surrogate": ('{"s": "\\ud800"}', {"malformed_json", "invalid_request"}),
        "nested 300 deep": (
            '{"a": ' * 300 + "{}" + "}" * 300,
            {"malformed_json", "invalid_request"},
        ),
        "NaN": ('{"f": NaN}', {"malformed_json", "invalid_request"}),
        "Infinity": ('{"f": -Infinity}', {"malformed_json", "invalid_request"}),
    }
    problems: list[str] = []
    async with server.http() as client:
        for case, (data, codes) in cases.items():
            body = '{"to": {"users": ["alice"]}, "title": "x", "data": ' + data + "}"
            response = await client.post(
                PUBLISH,
                content=body.encode(),
                headers={**server.key_headers(), "Content-Type": "application/json"},
            )
            got = problems_with(response, case, 422, "invalid_request")
            if got and response.status_code in (400, 422):
                got = [] if response.json().get("code") in codes else got
            problems += got
    assert not problems, "\n".join(problems)
    assert (await alice_items(server))["items"] == []


async def test_expires_at_outside_the_calendar_is_refused(server: Running) -> None:
    """An expires_at whose UTC instant is outside years 1-9999 is a 422; publishing goes on."""
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=3) as client:
        for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
            try:
                response = await client.post(
                    PUBLISH, json=with_(expires_at=value), headers=server.key_headers()
                )
            except httpx.TimeoutException:
                problems.append(f"{value}: no answer within 3 s")
                break
            problems += problems_with(response, value, 422, "invalid_request")
        try:
            valid = await client.post(PUBLISH, json=VALID, headers=server.key_headers())
            listing = await client.get("/v1/me/notifications", headers=server.user_headers("alice"))
        except httpx.TimeoutException:
            problems.append("a valid publish got no answer within 3 s afterwards")
        else:
            if valid.status_code != 202:
                problems.append(f"a valid publish afterwards got {valid.status_code}")
            if listing.status_code != 200 or len(listing.json()["items"]) != 1:
                problems.append(f"alice's list afterwards: {listing.status_code} {listing.text}")
    assert not problems, "\n".join(problems)


async def test_boundary_values_are_accepted(server: Running) -> None:
    """Safe URLs, a 500-char title and exactly 16 KiB of data are accepted and stored as sent."""
    cases = [
        {"url": "/inbox/1"},
        {"url": "https://x.test/a"},
        {"url": "http://x.test/a?b=c#d"},
        {"actor": {"id": "bob", "avatar": "https://x.test/bob.png"}},
        {"title": "t" * 500},
        {"data": {"b": "x" * (16_384 - 8)}},  # orjson.dumps gives exactly 16,384 bytes
    ]
    assert len(orjson.dumps(cases[-1]["data"])) == 16_384
    for fields in cases:
        await server.publish(["alice"], **{"title": "Hello", **fields})
    items = (await alice_items(server))["items"]
    assert [item["url"] for item in items[-3:]] == [
        "http://x.test/a?b=c#d",
        "https://x.test/a",
        "/inbox/1",
    ]
    assert items[0]["data"] == cases[-1]["data"]
    assert items[1]["title"] == "t" * 500
    assert items[2]["actor"]["avatar"] == "https://x.test/bob.png"


async def test_body_over_the_default_limit_is_413(server: Running) -> None:
    """A body over 1 MiB is refused with 413 payload_too_large, by its Content-Length."""
    body = orjson.dumps(with_(body="x" * (1_048_576 + 10)))
    async with server.http() as client:
        for path in (PUBLISH, BATCH):
            response = await client.post(
                path,
                content=body,
                headers={**server.key_headers(), "Content-Type": "application/json"},
            )
            assert problems_with(response, path, 413, "payload_too_large") == []


async def test_small_body_limit_applies_to_declared_and_chunked_bodies(tmp_path: Path) -> None:
    """With max_body_bytes=2048, larger bodies get 413 whether sized or chunked; smaller pass."""
    big = orjson.dumps(with_(body="x" * 3000))
    small = orjson.dumps(with_(body="x" * 100))

    def chunked(data: bytes) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 500):
                yield data[start : start + 500]

        return chunks()

    async with run_server(make_settings(tmp_path, max_body_bytes=2048)) as server:
        headers = {**server.key_headers(), "Content-Type": "application/json"}
        async with server.http() as client:
            sized = await client.post(PUBLISH, content=big, headers=headers)
            streamed = await client.post(PUBLISH, content=chunked(big), headers=headers)
            small_streamed = await client.post(PUBLISH, content=chunked(small), headers=headers)
        assert small_streamed.status_code == 202, small_streamed.text
        assert len((await alice_items(server))["items"]) == 1
        problems = problems_with(sized, "content-length", 413, "payload_too_large")
        problems += problems_with(streamed, "chunked", 413, "payload_too_large")
        assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- HTTP: credentials


async def test_bad_api_keys_are_401(server: Running) -> None:
    """Missing, wrong or non-key credentials on publish get 401 invalid_api_key and a challenge."""
    cases = {
        "missing": {},
        "wrong key": {"Authorization": "Bearer tsk_" + "A" * 43},
        "not a key": {"Authorization": "Bearer hello"},
        "user JWT": server.user_headers("alice"),
        "basic scheme": {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
        "key without scheme": {"Authorization": server.api_key},
    }
    problems: list[str] = []
    async with server.http() as client:
        for case, headers in cases.items():
            response = await client.post(PUBLISH, json=VALID, headers=headers)
            problems += problems_with(response, case, 401, "invalid_api_key")
            if "bearer" not in response.headers.get("www-authenticate", "").lower():
                problems.append(f"{case}: no WWW-Authenticate: Bearer")
    assert not problems, "\n".join(problems)
    assert (await alice_items(server))["items"] == []


async def test_bad_user_tokens_get_one_uniform_401(server: Running) -> None:
    """Every refused user token gets the same 401 invalid_token body and changes nothing."""
    published = await server.publish(["alice"])
    endpoints = [
        ("GET", "/v1/me/notifications"),
        ("GET", "/v1/me/counts"),
        ("POST", "/v1/me/notifications/read-all"),
        ("POST", f"/v1/me/notifications/{published['id']}/read"),
        ("DELETE", f"/v1/me/notifications/{published['id']}"),
        ("DELETE", "/v1/me/notifications"),
    ]
    headers_by_case = {name: {"Authorization": f"Bearer {t}"} for name, t in bad_tokens().items()}
    headers_by_case["no token"] = {}
    headers_by_case["API key as token"] = server.key_headers()
    bodies: set[bytes] = set()
    problems: list[str] = []
    async with server.http() as client:
        for case, headers in headers_by_case.items():
            for method, path in endpoints:
                response = await client.request(method, path, headers=headers)
                problems += problems_with(response, f"{case} {method} {path}", 401, "invalid_token")
                if "bearer" not in response.headers.get("www-authenticate", "").lower():
                    problems.append(f"{case} {method} {path}: no WWW-Authenticate: Bearer")
                bodies.add(response.content)
    assert not problems, "\n".join(problems)
    assert len(bodies) == 1, f"the 401 bodies differ: {bodies}"
    listing = await alice_items(server)
    assert [item["id"] for item in listing["items"]] == [published["id"]]
    assert listing["items"][0]["read_at"] is None
    assert listing["counts"] == {"unread": 1, "unseen": 1}


# ---------------------------------------------------------------- HTTP: ids and parameters


async def test_foreign_ids_are_404_and_leave_the_owner_untouched(server: Running) -> None:
    """Alice cannot read, unread, see or dismiss Bob's notification; Bob's state is unchanged."""
    bobs = await server.publish(["bob"], "For Bob")
    await server.publish(["alice"], "For Alice")
    base = f"/v1/me/notifications/{bobs['id']}"
    problems: list[str] = []
    async with server.http() as client:
        alice = server.user_headers("alice")
        for method, path in [
            ("POST", f"{base}/read"),
            ("POST", f"{base}/unread"),
            ("POST", f"{base}/seen"),
            ("DELETE", base),
        ]:
            response = await client.request(method, path, headers=alice)
            problems += problems_with(response, f"{method} {path}", 404, "not_found")
        bob = await client.get("/v1/me/notifications", headers=server.user_headers("bob"))
        alice_list = await client.get("/v1/me/notifications", headers=alice)
    assert not problems, "\n".join(problems)
    (item,) = bob.json()["items"]
    assert item["id"] == bobs["id"]
    assert (item["seen_at"], item["read_at"], item["archived_at"]) == (None, None, None)
    assert bob.json()["counts"] == {"unread": 1, "unseen": 1}
    assert [i["title"] for i in alice_list.json()["items"]] == ["For Alice"]
    assert alice_list.json()["counts"] == {"unread": 1, "unseen": 1}


async def test_unknown_ids_are_404(server: Running) -> None:
    """Unknown ids on read, unread, seen and dismiss get 404 not_found."""
    problems: list[str] = []
    async with server.http() as client:
        headers = server.user_headers("alice")
        for item_id in ("00000000-0000-0000-0000-000000000000", "nope", "1"):
            base = f"/v1/me/notifications/{item_id}"
            for method, path in [
                ("POST", f"{base}/read"),
                ("POST", f"{base}/unread"),
                ("POST", f"{base}/seen"),
                ("DELETE", base),
            ]:
                response = await client.request(method, path, headers=headers)
                problems += problems_with(response, f"{method} {path}", 404, "not_found")
    assert not problems, "\n".join(problems)


async def test_bad_cursor_is_400(server: Running) -> None:
    """A cursor that was never a next_cursor gets 400 invalid_cursor."""
    problems: list[str] = []
    async with server.http() as client:
        for cursor in ("abc", "-1", "1.5", "9" * 25):
            response = await client.get(
                "/v1/me/notifications",
                params={"cursor": cursor},
                headers=server.user_headers("alice"),
            )
            problems += problems_with(response, f"cursor={cursor}", 400, "invalid_cursor")
    assert not problems, "\n".join(problems)


async def test_bad_limit_is_422(server: Running) -> None:
    """limit outside 1..100 (or not a number) gets 422 invalid_request."""
    problems: list[str] = []
    async with server.http() as client:
        for limit in ("0", "101", "-5", "ten"):
            response = await client.get(
                "/v1/me/notifications",
                params={"limit": limit},
                headers=server.user_headers("alice"),
            )
            problems += problems_with(response, f"limit={limit}", 422, "invalid_request")
        edge = await client.get(
            "/v1/me/notifications", params={"limit": "100"}, headers=server.user_headers("alice")
        )
    assert not problems, "\n".join(problems)
    assert edge.status_code == 200


async def test_idempotency_key_over_255_chars_is_422(server: Running) -> None:
    """An Idempotency-Key of 256 chars is refused (422); one of 255 chars is accepted."""
    async with server.http() as client:
        long = await client.post(
            PUBLISH, json=VALID, headers={**server.key_headers(), "Idempotency-Key": "k" * 256}
        )
        batch = await client.post(
            BATCH,
            json={"notifications": [VALID]},
            headers={**server.key_headers(), "Idempotency-Key": "k" * 256},
        )
        edge = await client.post(
            PUBLISH, json=VALID, headers={**server.key_headers(), "Idempotency-Key": "k" * 255}
        )
    problems = problems_with(long, "single", 422, "invalid_idempotency_key")
    problems += problems_with(batch, "batch", 422, "invalid_idempotency_key")
    assert not problems, "\n".join(problems)
    assert edge.status_code == 202, edge.text
    assert len((await alice_items(server))["items"]) == 1


async def test_rejected_requests_store_and_deliver_nothing(server: Running) -> None:
    """After every kind of bad publish, one valid publish is all Alice has and all she receives."""
    ws = await ready(server)
    before = await server.node.storage.current_seq()
    json_headers = {**server.key_headers(), "Content-Type": "application/json"}
    async with server.http() as client:
        for _, path, body in INVALID_BODIES:
            await client.post(path, content=orjson.dumps(body), headers=json_headers)
        for body in MALFORMED:
            await client.post(PUBLISH, content=body, headers=json_headers)
        await client.post(
            PUBLISH, content=orjson.dumps(with_(body="x" * 1_100_000)), headers=json_headers
        )
        await client.post(PUBLISH, json=VALID)
        await client.post(PUBLISH, json=VALID, headers=server.user_headers("alice"))
        await client.post(
            PUBLISH, json=VALID, headers={**server.key_headers(), "Idempotency-Key": "k" * 256}
        )
    published = await server.publish(["alice"], "The valid one")
    frame = await recv(ws)
    assert (frame["type"], frame["seq"]) == ("notification", published["seq"])
    assert published["seq"] == before + 1, "a refused request used a seq"
    listing = await alice_items(server)
    assert [item["id"] for item in listing["items"]] == [published["id"]]
    assert listing["counts"] == {"unread": 1, "unseen": 1}
    await ws.close()


# ---------------------------------------------------------------- WebSocket: before auth


async def test_first_message_must_be_a_valid_auth(server: Running) -> None:
    """A first message that is not a valid auth gets an error frame, then close 4001."""
    cases = [
        ('{"type": "ping"}', "auth_required"),
        ('{"type": "resume", "after": 0}', "auth_required"),
        ("{not json", "malformed_json"),
        ('{"type": "auth"}', "invalid_message"),
        ('{"type": "auth", "token": 5}', "invalid_message"),
        ("[1, 2]", "invalid_message"),
    ]
    problems: list[str] = []
    for message, code in cases:
        ws = await websockets.connect(server.ws_url)
        await ws.send(message)
        frames, close = await closed_with(ws)
        codes = [frame.get("code") for frame in frames if frame["type"] == "error"]
        if close != 4001 or codes != [code] or any(f["type"] == "ready" for f in frames):
            problems.append(f"{message}: frames {frames}, close {close}")
    assert not problems, "\n".join(problems)


async def test_bad_tokens_close_4001(server: Running) -> None:
    """Forged, expired, incomplete or unsigned tokens get error invalid_token, then close 4001."""
    problems: list[str] = []
    for case, token in bad_tokens().items():
        ws = await websockets.connect(server.ws_url)
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        frames, close = await closed_with(ws)
        if close != 4001 or [f.get("code") for f in frames] != ["invalid_token"]:
            problems.append(f"{case}: frames {frames}, close {close}")
    assert not problems, "\n".join(problems)


async def test_no_auth_in_time_closes_4002(tmp_path: Path) -> None:
    """A connection that sends no auth within auth_timeout is closed with 4002."""
    async with run_server(make_settings(tmp_path, auth_timeout_seconds=0.5)) as server:
        started = time.monotonic()
        ws = await websockets.connect(server.ws_url)
        frames, close = await closed_with(ws)
        elapsed = time.monotonic() - started
    assert close == 4002
    assert [f.get("code") for f in frames] == ["auth_timeout"]
    assert 0.4 < elapsed < 3


# ---------------------------------------------------------------- WebSocket: after auth


async def test_bad_messages_after_auth_keep_the_connection(server: Running) -> None:
    """Bad messages after auth get error frames; the connection stays open and keeps working."""
    ws = await ready(server)
    cases = [
        ("{not json", "malformed_json"),
        ('{"type": "subscribe"}', "invalid_message"),
        ('{"type": "ping", "extra": 1}', "invalid_message"),
        ('{"type": "resume", "after": -1}', "invalid_message"),
        ('{"type": "resume", "after": "5"}', "invalid_message"),
        ('{"type": "resume"}', "invalid_message"),
        ('"ping"', "invalid_message"),
    ]
    for message, code in cases:
        await ws.send(message)
        frame = await recv(ws)
        assert (frame["type"], frame.get("code")) == ("error", code), message
    await ws.send('{"type": "ping"}')
    assert (await recv(ws))["type"] == "pong"
    published = await server.publish(["alice"], "Still here")
    frame = await recv(ws)
    assert (frame["type"], frame["seq"]) == ("notification", published["seq"])
    await ws.close()


async def test_more_than_ten_bad_messages_close_4000(server: Running) -> None:
    """The eleventh bad message closes the connection with 4000."""
    ws = await ready(server)
    await send_all(ws, ["{bad"] * 11)
    frames, close = await closed_with(ws)
    assert close == 4000
    assert [f.get("code") for f in frames] == ["malformed_json"] * 11


async def test_binary_frame_closes_1003(server: Running) -> None:
    """A binary frame is refused with close 1003."""
    ws = await ready(server)
    await send_all(ws, [b'{"type": "ping"}'])
    _, close = await closed_with(ws)
    assert close == 1003


async def test_oversize_text_frame_closes_1009(server: Running) -> None:
    """A text message over ws_max_message_bytes is refused with close 1009; one at it is fine."""
    ws = await ready(server)
    prefix, suffix = '{"type": "ping", "x": "', '"}'
    at_limit = prefix + "y" * (65_536 - len(prefix) - len(suffix)) + suffix
    await ws.send(at_limit)
    frame = await recv(ws)
    assert (frame["type"], frame.get("code")) == ("error", "invalid_message")
    await send_all(ws, ["x" * 65_537])
    _, close = await closed_with(ws)
    assert close == 1009


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, final client frame (payload under 64 KiB)."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    else:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    return header + mask + masked


async def read_server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(length)


async def test_invalid_utf8_text_closes_1007(server: Running) -> None:
    """A text frame that is not UTF-8 is refused with close 1007 (raw socket, by hand)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        auth = orjson.dumps({"type": "auth", "token": server.token("alice")})
        writer.write(client_frame(0x1, auth))
        opcode, payload = await asyncio.wait_for(read_server_frame(reader), 5)
        assert (opcode, orjson.loads(payload)["type"]) == (0x1, "ready")
        writer.write(client_frame(0x1, b'{"type": "ping", "x": "\xff\xfe"}'))
        while True:
            opcode, payload = await asyncio.wait_for(read_server_frame(reader), 5)
            if opcode == 0x8:
                break
        assert int.from_bytes(payload[:2], "big") == 1007
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_message_flood_closes_4029(server: Running) -> None:
    """200 pings sent as fast as possible exceed 20/s (burst 40) and close with 4029."""
    ws = await ready(server)
    await send_all(ws, ['{"type": "ping"}'] * 200)
    frames, close = await closed_with(ws)
    assert close == 4029
    pongs = sum(1 for frame in frames if frame["type"] == "pong")
    assert 38 <= pongs < 200, pongs  # a burst of 40 messages, the auth message included


# ---------------------------------------------------------------- WebSocket: handshake


async def test_foreign_origin_is_refused_403(server: Running) -> None:
    """A browser Origin that is not allowed gets HTTP 403 origin_not_allowed at the handshake."""
    with pytest.raises(InvalidStatus) as info:
        await websockets.connect(server.ws_url, origin="https://evil.example")
    assert info.value.response.status_code == 403
    assert orjson.loads(info.value.response.body or b"{}")["code"] == "origin_not_allowed"


async def test_allowed_origin_connects(tmp_path: Path) -> None:
    """An Origin in allowed_origins connects and authenticates; others are still refused."""
    settings = make_settings(tmp_path, allowed_origins=("https://app.example",))
    async with run_server(settings) as server:
        async with websockets.connect(server.ws_url, origin="https://app.example") as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": server.token("alice")}).decode())
            assert (await recv(ws))["type"] == "ready"
        with pytest.raises(InvalidStatus) as info:
            await websockets.connect(server.ws_url, origin="https://evil.example")
        assert info.value.response.status_code == 403


async def test_same_origin_connects(server: Running) -> None:
    """The server's own origin (http://host:port) may connect without being listed."""
    origin = f"http://127.0.0.1:{server.port}"
    async with websockets.connect(server.ws_url, origin=origin) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": server.token("alice")}).decode())
        assert (await recv(ws))["type"] == "ready"


async def test_upgrade_on_another_path_is_404(server: Running) -> None:
    """A WebSocket upgrade on a path other than /v1/ws gets HTTP 404."""
    with pytest.raises(InvalidStatus) as info:
        await websockets.connect(f"ws://127.0.0.1:{server.port}/v1/other")
    assert info.value.response.status_code == 404


async def test_token_in_subprotocol_needs_no_auth_message(server: Running) -> None:
    """A token offered as subprotocol tocsin.token.<jwt> authenticates; tocsin.v1 is chosen."""
    token = server.token("alice")
    async with websockets.connect(
        server.ws_url,
        subprotocols=["tocsin.v1", "tocsin.token." + token],
    ) as ws:
        assert ws.subprotocol == "tocsin.v1"
        frame = await recv(ws)
        assert (frame["type"], frame["user"]) == ("ready", "alice")
        published = await server.publish(["alice"])
        assert (await recv(ws))["seq"] == published["seq"]


# ---------------------------------------------------------------- WebSocket: neighbours


async def test_bad_connections_never_harm_a_neighbour(server: Running) -> None:
    """Misbehaving connections are closed alone; Alice's good connection still gets her mail."""
    good = await ready(server)
    closes: list[int] = []

    forged = await websockets.connect(server.ws_url)
    await forged.send(
        orjson.dumps({"type": "auth", "token": bad_tokens()["other secret"]}).decode()
    )
    closes.append((await closed_with(forged))[1])

    unauthenticated = await websockets.connect(server.ws_url)
    await unauthenticated.send("{garbage")
    closes.append((await closed_with(unauthenticated))[1])

    binary = await ready(server)
    await send_all(binary, [b"\x00" * 10])
    closes.append((await closed_with(binary))[1])

    big = await ready(server)
    await send_all(big, ["x" * 70_000])
    closes.append((await closed_with(big))[1])

    flood = await ready(server)
    await send_all(flood, ['{"type": "ping"}'] * 200)
    closes.append((await closed_with(flood))[1])

    assert closes == [4001, 4001, 1003, 1009, 4029]
    published = await server.publish(["alice"], "Neighbour is fine")
    frame = await recv(good)
    assert (frame["type"], frame["seq"]) == ("notification", published["seq"])
    await good.send('{"type": "ping"}')
    assert (await recv(good))["type"] == "pong"
    await good.close()
