"""The inbox API: listing, paging, counts, read state, broadcasts, expiry and idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection

from tests.conftest import Running
from tests.integration.test_delivery import recv
from tocsin.auth.api_keys import hash_secret, new_secret
from tocsin.models import now_ms

NOTIFICATIONS = "/v1/me/notifications"


async def inbox(server: Running, user: str, **params: Any) -> dict[str, Any]:
    """One page of the user's inbox."""
    async with server.http() as client:
        response = await client.get(NOTIFICATIONS, params=params, headers=server.user_headers(user))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def counts(server: Running, user: str) -> dict[str, Any]:
    async with server.http() as client:
        response = await client.get("/v1/me/counts", headers=server.user_headers(user))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def change(server: Running, user: str, method: str, path: str) -> dict[str, Any]:
    """A read-state change by ``user``; its JSON answer."""
    async with server.http() as client:
        response = await client.request(method, path, headers=server.user_headers(user))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def post(
    server: Running,
    body: dict[str, Any],
    *,
    key: str | None = None,
    path: str = "/v1/notifications",
) -> httpx.Response:
    headers = server.key_headers()
    if key is not None:
        headers["Idempotency-Key"] = key
    async with server.http() as client:
        return await client.post(path, json=body, headers=headers)


async def batch(server: Running, users: list[str], count: int) -> list[dict[str, Any]]:
    """Publish ``count`` notifications titled n0, n1, ... in one batch; their answers."""
    body = {"notifications": [{"to": {"users": users}, "title": f"n{i}"} for i in range(count)]}
    response = await post(server, body, path="/v1/notifications/batch")
    assert response.status_code == 202, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def no_frame(ws: ClientConnection, wait: float = 0.5) -> None:
    """Nothing but heartbeats arrives within ``wait`` seconds."""
    try:
        frame = await recv(ws, wait)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected frame {frame}")


def iso_in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


# ---------------------------------------------------------------- listing and counts


async def test_pages_newest_first_without_gaps_or_duplicates(server: Running) -> None:
    """45 items page as 20, 20, 5 by next_cursor, newest first; the last page has no cursor."""
    published = await batch(server, ["alice"], 45)
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 20}
    while True:
        page = await inbox(server, "alice", **params)
        pages.append(page)
        if page["next_cursor"] is None:
            break
        assert len(pages) < 5, "paging does not end"
        params = {"limit": 20, "cursor": page["next_cursor"]}
    assert [len(page["items"]) for page in pages] == [20, 20, 5]
    seqs = [item["seq"] for page in pages for item in page["items"]]
    assert seqs == sorted((p["seq"] for p in published), reverse=True)
    assert len({item["id"] for page in pages for item in page["items"]}) == 45
    assert pages[0]["items"][0]["title"] == "n44"
    assert all(page["counts"] == {"unread": 45, "unseen": 45} for page in pages)


async def test_unread_filter_and_counts(server: Running) -> None:
    """unread=true lists only unread items; counts agree between the list and /v1/me/counts."""
    first, second, third = await batch(server, ["alice"], 3)
    await change(server, "alice", "POST", f"{NOTIFICATIONS}/{second['id']}/read")
    await change(server, "alice", "POST", f"{NOTIFICATIONS}/{third['id']}/seen")
    unread = await inbox(server, "alice", unread="true")
    assert [item["id"] for item in unread["items"]] == [third["id"], first["id"]]
    everything = await inbox(server, "alice")
    assert [item["id"] for item in everything["items"]] == [third["id"], second["id"], first["id"]]
    assert everything["counts"] == unread["counts"] == {"unread": 2, "unseen": 1}
    assert await counts(server, "alice") == {"unread": 2, "unseen": 1}
    assert await counts(server, "bob") == {"unread": 0, "unseen": 0}
    paged = await inbox(server, "alice", unread="true", limit=1)
    rest = await inbox(server, "alice", unread="true", limit=1, cursor=paged["next_cursor"])
    assert [i["id"] for i in paged["items"] + rest["items"]] == [third["id"], first["id"]]


# ---------------------------------------------------------------- read state


async def test_mark_read_answers_the_change_and_implies_seen(server: Running) -> None:
    """Marking one item read answers the change with counts; the item is then read and seen."""
    target, other = await batch(server, ["alice"], 2)
    answer = await change(server, "alice", "POST", f"{NOTIFICATIONS}/{target['id']}/read")
    assert set(answer) == {"action", "ids", "all", "at", "counts"}
    assert (answer["action"], answer["ids"], answer["all"]) == ("read", [target["id"]], False)
    assert answer["counts"] == {"unread": 1, "unseen": 1}
    items = {item["id"]: item for item in (await inbox(server, "alice"))["items"]}
    assert items[target["id"]]["read_at"] == answer["at"]
    assert items[target["id"]]["seen_at"] == answer["at"]
    assert (items[other["id"]]["read_at"], items[other["id"]]["seen_at"]) == (None, None)
    again = await change(server, "alice", "POST", f"{NOTIFICATIONS}/{target['id']}/read")
    assert again["counts"] == {"unread": 1, "unseen": 1}
    items = {item["id"]: item for item in (await inbox(server, "alice"))["items"]}
    assert items[target["id"]]["read_at"] == answer["at"], "a second read moved read_at"


async def test_mark_unread_keeps_seen(server: Running) -> None:
    """Marking a read item unread clears read_at only; it counts as unread again."""
    (item,) = await batch(server, ["alice"], 1)
    read = await change(server, "alice", "POST", f"{NOTIFICATIONS}/{item['id']}/read")
    answer = await change(server, "alice", "POST", f"{NOTIFICATIONS}/{item['id']}/unread")
    assert (answer["action"], answer["ids"], answer["all"]) == ("unread", [item["id"]], False)
    assert answer["counts"] == {"unread": 1, "unseen": 0}
    (stored,) = (await inbox(server, "alice"))["items"]
    assert (stored["read_at"], stored["seen_at"]) == (None, read["at"])


async def test_mark_seen_leaves_unread(server: Running) -> None:
    """Marking an item seen clears it from unseen but not from unread."""
    item, _ = await batch(server, ["alice"], 2)
    answer = await change(server, "alice", "POST", f"{NOTIFICATIONS}/{item['id']}/seen")
    assert (answer["action"], answer["ids"], answer["all"]) == ("seen", [item["id"]], False)
    assert answer["counts"] == {"unread": 2, "unseen": 1}
    stored = {i["id"]: i for i in (await inbox(server, "alice"))["items"]}[item["id"]]
    assert (stored["seen_at"], stored["read_at"]) == (answer["at"], None)


async def test_seen_all_then_read_all(server: Running) -> None:
    """seen-all clears unseen only; read-all clears both, broadcasts included; Bob is untouched."""
    await batch(server, ["alice", "bob"], 2)
    assert (await post(server, {"to": {"everyone": True}, "title": "all"})).status_code == 202
    seen = await change(server, "alice", "POST", f"{NOTIFICATIONS}/seen-all")
    assert (seen["action"], seen["ids"], seen["all"]) == ("seen", None, True)
    assert seen["counts"] == {"unread": 3, "unseen": 0}
    read = await change(server, "alice", "POST", f"{NOTIFICATIONS}/read-all")
    assert (read["action"], read["ids"], read["all"]) == ("read", None, True)
    assert read["counts"] == {"unread": 0, "unseen": 0}
    listing = await inbox(server, "alice")
    assert len(listing["items"]) == 3
    assert all(item["read_at"] == read["at"] for item in listing["items"])
    assert all(item["seen_at"] == seen["at"] for item in listing["items"])
    assert listing["counts"] == {"unread": 0, "unseen": 0}
    assert await counts(server, "bob") == {"unread": 3, "unseen": 3}


async def test_dismiss_one_removes_it_from_list_and_counts(server: Running) -> None:
    """DELETE of one item archives it: it leaves the list and the counts; others stay."""
    gone, kept = await batch(server, ["alice"], 2)
    answer = await change(server, "alice", "DELETE", f"{NOTIFICATIONS}/{gone['id']}")
    assert (answer["action"], answer["ids"], answer["all"]) == ("archived", [gone["id"]], False)
    assert answer["counts"] == {"unread": 1, "unseen": 1}
    listing = await inbox(server, "alice")
    assert [item["id"] for item in listing["items"]] == [kept["id"]]
    assert listing["counts"] == await counts(server, "alice") == {"unread": 1, "unseen": 1}
    assert (await inbox(server, "alice", unread="true"))["items"] == listing["items"]


async def test_clear_all_empties_the_inbox_but_not_the_future(server: Running) -> None:
    """DELETE of all items empties list and counts; a later notification shows up as usual."""
    await batch(server, ["alice"], 3)
    assert (await post(server, {"to": {"everyone": True}, "title": "all"})).status_code == 202
    answer = await change(server, "alice", "DELETE", NOTIFICATIONS)
    assert (answer["action"], answer["ids"], answer["all"]) == ("archived", None, True)
    assert answer["counts"] == {"unread": 0, "unseen": 0}
    listing = await inbox(server, "alice")
    assert listing["items"] == [] and listing["next_cursor"] is None
    assert await counts(server, "alice") == {"unread": 0, "unseen": 0}
    later = await server.publish(["alice"], "later")
    listing = await inbox(server, "alice")
    assert [item["id"] for item in listing["items"]] == [later["id"]]
    assert listing["counts"] == {"unread": 1, "unseen": 1}


# ---------------------------------------------------------------- broadcast and expiry


async def test_broadcast_reaches_every_user_with_separate_state(server: Running) -> None:
    """A notification to everyone is in every inbox, even a new user's; state is per user."""
    response = await post(server, {"to": {"everyone": True}, "title": "Maintenance"})
    assert response.status_code == 202, response.text
    broadcast = response.json()
    for user in ("alice", "bob", "someone-never-seen"):
        listing = await inbox(server, user)
        assert [item["id"] for item in listing["items"]] == [broadcast["id"]], user
        assert listing["items"][0]["audience"] == "everyone"
        assert listing["counts"] == {"unread": 1, "unseen": 1}, user
    read = await change(server, "alice", "POST", f"{NOTIFICATIONS}/{broadcast['id']}/read")
    assert read["counts"] == {"unread": 0, "unseen": 0}
    await change(server, "carol", "DELETE", f"{NOTIFICATIONS}/{broadcast['id']}")
    assert (await inbox(server, "alice"))["items"][0]["read_at"] == read["at"]
    assert (await inbox(server, "carol"))["items"] == []
    bob = await inbox(server, "bob")
    assert bob["items"][0]["read_at"] is None
    assert bob["counts"] == await counts(server, "bob") == {"unread": 1, "unseen": 1}


async def test_expired_items_are_neither_listed_nor_counted(server: Running) -> None:
    """An item whose expires_at has passed is left out; one expiring later is listed."""
    await server.publish(["alice"], "old", expires_at=iso_in(timedelta(minutes=-1)))
    response = await post(
        server,
        {"to": {"everyone": True}, "title": "old too", "expires_at": iso_in(timedelta(minutes=-1))},
    )
    assert response.status_code == 202
    fresh = await server.publish(["alice"], "fresh", expires_at=iso_in(timedelta(hours=1)))
    listing = await inbox(server, "alice")
    assert [item["id"] for item in listing["items"]] == [fresh["id"]]
    assert listing["items"][0]["expires_at"] is not None
    assert listing["counts"] == await counts(server, "alice") == {"unread": 1, "unseen": 1}
    assert (await inbox(server, "alice", unread="true"))["items"] == listing["items"]


# ---------------------------------------------------------------- idempotency


async def test_same_key_and_body_is_stored_and_delivered_once(server: Running) -> None:
    """A repeated Idempotency-Key with the same body gets the first answer, marked replayed."""
    ws = await server.connect("alice")
    assert (await recv(ws))["type"] == "ready"
    body = {"to": {"users": ["alice"]}, "title": "Once"}
    first = await post(server, body, key="order-1")
    second = await post(server, body, key="order-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers.get("idempotent-replayed") == "true"
    frame = await recv(ws)
    assert frame["seq"] == first.json()["seq"]
    await no_frame(ws)
    listing = await inbox(server, "alice")
    assert [item["id"] for item in listing["items"]] == [first.json()["id"]]
    await ws.close()


async def test_same_key_with_another_body_is_409(server: Running) -> None:
    """Reusing an Idempotency-Key with a different body is refused with 409; nothing is added."""
    first = await post(server, {"to": {"users": ["alice"]}, "title": "A"}, key="k")
    other = await post(server, {"to": {"users": ["alice"]}, "title": "B"}, key="k")
    as_batch = await post(
        server,
        {"notifications": [{"to": {"users": ["alice"]}, "title": "A"}]},
        key="k",
        path="/v1/notifications/batch",
    )
    assert first.status_code == 202
    for response in (other, as_batch):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "idempotency_key_reused"
    assert [i["title"] for i in (await inbox(server, "alice"))["items"]] == ["A"]


async def test_concurrent_requests_with_one_key_store_once(server: Running) -> None:
    """20 concurrent requests with one key all get 202 and the same id; one item is stored."""
    ws = await server.connect("alice")
    assert (await recv(ws))["type"] == "ready"
    body = {"to": {"users": ["alice"]}, "title": "Race"}
    headers = {**server.key_headers(), "Idempotency-Key": "race"}
    async with server.http() as client:
        responses = await asyncio.gather(
            *(client.post("/v1/notifications", json=body, headers=headers) for _ in range(20))
        )
    assert [r.status_code for r in responses] == [202] * 20
    assert len({r.json()["id"] for r in responses}) == 1
    fresh = [r for r in responses if "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1
    assert (await recv(ws))["notification"]["id"] == responses[0].json()["id"]
    await no_frame(ws)
    assert len((await inbox(server, "alice"))["items"]) == 1
    await ws.close()


async def test_keys_are_scoped_to_the_api_key(server: Running) -> None:
    """The same Idempotency-Key from two API keys makes two notifications."""
    second_key = new_secret()
    await server.node.storage.create_api_key("second", hash_secret(second_key), now=now_ms())
    body = {"to": {"users": ["alice"]}, "title": "Same"}
    async with server.http() as client:
        one = await client.post(
            "/v1/notifications", json=body, headers={**server.key_headers(), "Idempotency-Key": "x"}
        )
        two = await client.post(
            "/v1/notifications",
            json=body,
            headers={"Authorization": f"Bearer {second_key}", "Idempotency-Key": "x"},
        )
    assert one.status_code == two.status_code == 202
    assert one.json()["id"] != two.json()["id"]
    assert "idempotent-replayed" not in two.headers
    assert len((await inbox(server, "alice"))["items"]) == 2


async def test_batch_with_a_key_is_stored_once(server: Running) -> None:
    """A repeated batch with the same Idempotency-Key gets the same items, stored once."""
    ws = await server.connect("alice")
    assert (await recv(ws))["type"] == "ready"
    body = {"notifications": [{"to": {"users": ["alice"]}, "title": f"b{i}"} for i in range(3)]}
    path = "/v1/notifications/batch"
    first = await post(server, body, key="batch-1", path=path)
    second = await post(server, body, key="batch-1", path=path)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert [(await recv(ws))["seq"] for _ in range(3)] == [i["seq"] for i in first.json()["items"]]
    await no_frame(ws)
    assert len((await inbox(server, "alice"))["items"]) == 3
    await ws.close()


async def test_batch_answers_and_delivers_in_order(server: Running) -> None:
    """A batch of 3 answers 3 ids in order with increasing seqs, delivered in that order."""
    ws = await server.connect("alice")
    assert (await recv(ws))["type"] == "ready"
    items = await batch(server, ["alice"], 3)
    assert len(items) == 3 and len({item["id"] for item in items}) == 3
    seqs = [item["seq"] for item in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    frames = [await recv(ws) for _ in range(3)]
    assert [f["notification"]["id"] for f in frames] == [item["id"] for item in items]
    assert [f["notification"]["title"] for f in frames] == ["n0", "n1", "n2"]
    listing = await inbox(server, "alice")
    assert [item["title"] for item in listing["items"]] == ["n2", "n1", "n0"]
    await ws.close()


# ---------------------------------------------------------------- system routes


async def test_healthz(server: Running) -> None:
    """GET /healthz answers 200 with status ok."""
    async with server.http() as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_openapi_and_docs(server: Running) -> None:
    """The OpenAPI document lists the public paths and /docs serves the Swagger UI page."""
    async with server.http() as client:
        spec = await client.get("/openapi.json")
        docs = await client.get("/docs")
        script = await client.get("/_swagger/swagger-ui-bundle.js")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/v1/notifications", "/v1/me/notifications", "/v1/me/counts"} <= set(paths)
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower()
    assert script.status_code == 200


async def test_ws_path_without_upgrade_is_426(server: Running) -> None:
    """A plain GET of /v1/ws answers 426 upgrade_required."""
    async with server.http() as client:
        response = await client.get("/v1/ws")
    assert response.status_code == 426
    assert response.json()["code"] == "upgrade_required"
    assert response.headers.get("upgrade", "").lower() == "websocket"


async def test_unknown_path_and_wrong_method_are_json(server: Running) -> None:
    """An unknown path is a JSON 404 not_found; a wrong method is a JSON 405."""
    async with server.http() as client:
        missing = await client.get("/v1/nope")
        wrong = await client.get("/v1/notifications", headers=server.key_headers())
        put = await client.put("/v1/me/counts", headers=server.user_headers("alice"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    for response in (wrong, put):
        assert response.status_code == 405
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["code"] == "method_not_allowed"
    body = orjson.loads(missing.content)
    assert isinstance(body["message"], str)
