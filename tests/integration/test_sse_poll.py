"""Server-Sent Events, long-polling and tickets against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import Running
from tocsin.auth.tickets import Tickets
from tocsin.web.logs import RedactQuery


async def ticket(server: Running, user: str) -> str:
    async with server.http() as client:
        response = await client.post("/v1/tickets", headers=server.user_headers(user))
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 30
    value: str = response.json()["ticket"]
    return value


class EventStream:
    """Reads SSE events (id, parsed data) from a streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 5) -> tuple[int | None, dict[str, Any]]:
        event_id: int | None = None
        data: list[str] = []
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and data:
                    message: dict[str, Any] = orjson.loads("\n".join(data))
                    if message["type"] == "ping":
                        event_id, data = None, []
                        continue
                    return event_id, message
        raise AssertionError("stream ended")


@contextlib.asynccontextmanager
async def sse(
    server: Running, user: str, *, query: str = "", headers: dict[str, str] | None = None
) -> AsyncIterator[EventStream]:
    url = f"/v1/sse?ticket={await ticket(server, user)}{query}"
    async with server.http() as client, client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        yield EventStream(response)


async def test_sse_delivers_live_notifications_with_seq_ids(server: Running) -> None:
    """An EventSource client gets ready, then live notifications whose id is the seq."""
    async with sse(server, "alice") as stream:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"].startswith("no-cache")
        assert stream.response.headers["x-accel-buffering"] == "no"
        event_id, ready = await stream.next()
        assert ready["type"] == "ready"
        assert event_id == ready["seq"]
        published = await server.publish(["alice"], "hello sse")
        event_id, frame = await stream.next()
        assert frame["type"] == "notification"
        assert event_id == frame["seq"] == published["seq"]


@pytest.mark.parametrize("how", ["header", "query"])
async def test_sse_resumes_from_last_event_id(server: Running, how: str) -> None:
    """Last-Event-ID (header or query) replays exactly what was missed, then goes live."""
    first = await server.publish(["bob"], "seen")
    missed = [(await server.publish(["bob"], f"missed {i}"))["seq"] for i in range(3)]
    await server.publish(["carol"], "not bob's")
    options: dict[str, Any] = (
        {"headers": {"Last-Event-ID": str(first["seq"])}}
        if how == "header"
        else {"query": f"&last_event_id={first['seq']}"}
    )
    async with sse(server, "bob", **options) as stream:
        assert (await stream.next())[1]["type"] == "ready"
        replayed = [(await stream.next())[0] for _ in missed]
        assert replayed == missed
        event_id, resumed = await stream.next()
        assert resumed["type"] == "resumed"
        assert event_id == resumed["seq"]
        live = await server.publish(["bob"], "live")
        assert (await stream.next())[0] == live["seq"]


async def test_sse_gets_read_state_changes(server: Running) -> None:
    """A read-all made elsewhere reaches the SSE stream as a state envelope."""
    await server.publish(["dan"], "x")
    async with sse(server, "dan") as stream:
        await stream.next()
        async with server.http() as client:
            await client.post("/v1/me/notifications/read-all", headers=server.user_headers("dan"))
        event_id, frame = await stream.next()
        assert event_id is None
        assert frame["type"] == "state"
        assert frame["counts"] == {"unread": 0, "unseen": 0}


async def test_sse_is_handed_over_on_a_reused_keep_alive_connection(server: Running) -> None:
    """An SSE request on a connection that served another request first still streams."""
    async with server.http() as client:
        response = await client.post("/v1/tickets", headers=server.user_headers("eve"))
        url = f"/v1/sse?ticket={response.json()['ticket']}"
        async with client.stream("GET", url) as stream_response:
            assert stream_response.status_code == 200
            stream = EventStream(stream_response)
            assert (await stream.next())[1]["type"] == "ready"
            published = await server.publish(["eve"], "again")
            assert (await stream.next())[0] == published["seq"]


async def test_streams_connecting_together_each_start_with_their_own_counts(
    server: Running,
) -> None:
    """Starts read in one batch still answer each user with their own counts, and a ticket
    presented twice at once is accepted once."""
    users = [f"burst{i}" for i in range(8)]
    for i, user in enumerate(users):
        for _ in range(i):
            await server.publish([user], "before")
    tickets = [await ticket(server, user) for user in users]
    twice = await ticket(server, "burst-twice")

    async def first_event(value: str) -> tuple[int, dict[str, Any] | None]:
        async with (
            server.http() as client,
            client.stream("GET", f"/v1/sse?ticket={value}") as response,
        ):
            if response.status_code != 200:
                return response.status_code, orjson.loads(await response.aread())
            return 200, (await EventStream(response).next())[1]

    answers = await asyncio.gather(*(first_event(v) for v in [*tickets, twice, twice]))
    for i, (user, (status, ready)) in enumerate(zip(users, answers, strict=False)):
        assert status == 200
        assert ready is not None
        assert (ready["type"], ready["user"]) == ("ready", user)
        assert ready["counts"] == {"unread": i, "unseen": i}
    assert sorted(status for status, _ in answers[-2:]) == [200, 401]
    assert [body["code"] for status, body in answers[-2:] if status == 401] == ["invalid_ticket"]


async def test_tickets_are_single_use_and_not_tokens(server: Running) -> None:
    """A spent, expired or forged ticket gets 401 invalid_ticket; a ticket is no JWT."""
    value = await ticket(server, "fay")
    async with server.http() as client:
        async with client.stream("GET", f"/v1/sse?ticket={value}") as first:
            assert first.status_code == 200
        again = await client.get(f"/v1/sse?ticket={value}")
        expired = Tickets(server.node.settings.jwt_secret, server.node.storage, seconds=-120)
        late = await client.get(
            f"/v1/sse?ticket={expired.issue(server.node.tokens.verify(server.token('fay')))}"
        )
        forged = await client.get("/v1/sse?ticket=abc.def.ghi")
        missing = await client.get("/v1/sse")
        as_token = await client.get("/v1/me/counts", headers={"Authorization": f"Bearer {value}"})
        jwt_as_ticket = await client.get(f"/v1/sse?ticket={server.token('fay')}")
        no_auth = await client.post("/v1/tickets")
    for response in (again, late, forged, missing, jwt_as_ticket):
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_ticket"
    assert as_token.status_code == 401
    assert as_token.json()["code"] == "invalid_token"
    assert no_auth.status_code == 401


async def test_sse_rejects_bad_cursor_and_foreign_origin(server: Running) -> None:
    """A malformed Last-Event-ID is 400 invalid_cursor; a foreign Origin is 403."""
    async with server.http() as client:
        for bad in ("abc", "-1", "1.5", "9" * 30):
            response = await client.get(
                f"/v1/sse?ticket={await ticket(server, 'gil')}", headers={"Last-Event-ID": bad}
            )
            assert response.status_code == 400
            assert response.json()["code"] == "invalid_cursor"
        response = await client.get(
            f"/v1/sse?ticket={await ticket(server, 'gil')}",
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 403


async def test_poll_without_cursor_answers_ready(server: Running) -> None:
    """The first poll returns a ready envelope and the current cursor at once."""
    await server.publish(["hal"], "x")
    async with server.http() as client:
        response = await client.get("/v1/poll", headers=server.user_headers("hal"))
    body = response.json()
    assert body["messages"][0]["type"] == "ready"
    assert body["cursor"] == body["messages"][0]["seq"]
    assert body["counts"] == {"unread": 1, "unseen": 1}


async def test_poll_returns_missed_items_at_once(server: Running) -> None:
    """Items newer than after come back immediately, oldest first, with the new cursor."""
    seqs = [(await server.publish(["ivy"], f"n{i}"))["seq"] for i in range(3)]
    async with server.http() as client:
        response = await client.get(
            f"/v1/poll?after={seqs[0]}&timeout=20", headers=server.user_headers("ivy")
        )
    body = response.json()
    assert [m["seq"] for m in body["messages"]] == seqs[1:]
    assert body["cursor"] >= seqs[-1]


async def test_poll_waits_for_a_live_notification(server: Running) -> None:
    """With nothing new, a poll waits and returns the next notification when it comes."""
    async with server.http() as client:
        cursor = (await client.get("/v1/poll", headers=server.user_headers("jo"))).json()["cursor"]
        pending = asyncio.create_task(
            client.get(f"/v1/poll?after={cursor}&timeout=10", headers=server.user_headers("jo"))
        )
        await asyncio.sleep(0.3)
        assert not pending.done()
        await server.publish(["someone"], "not jo's")
        published = await server.publish(["jo"], "for jo")
        body = (await asyncio.wait_for(pending, 5)).json()
    assert [m["seq"] for m in body["messages"]] == [published["seq"]]
    assert body["cursor"] == published["seq"]


async def test_short_poll_and_timeout_return_empty(server: Running) -> None:
    """timeout=0 answers at once; a quiet poll answers an empty list after its timeout."""
    async with server.http() as client:
        cursor = (await client.get("/v1/poll", headers=server.user_headers("kim"))).json()["cursor"]
        started = asyncio.get_running_loop().time()
        short = await client.get(
            f"/v1/poll?after={cursor}&timeout=0", headers=server.user_headers("kim")
        )
        quiet = await client.get(
            f"/v1/poll?after={cursor}&timeout=0.3", headers=server.user_headers("kim")
        )
        elapsed = asyncio.get_running_loop().time() - started
    assert short.json()["messages"] == []
    assert quiet.json()["messages"] == []
    assert 0.3 <= elapsed < 3


async def test_poll_accepts_a_ticket_and_refuses_bad_input(server: Running) -> None:
    """A ticket authenticates a poll once; bad after/timeout and missing auth are refused."""
    async with server.http() as client:
        value = await ticket(server, "lou")
        assert (await client.get(f"/v1/poll?timeout=0&ticket={value}")).status_code == 200
        assert (await client.get(f"/v1/poll?timeout=0&ticket={value}")).status_code == 401
        assert (await client.get("/v1/poll?timeout=0")).status_code == 401
        headers = server.user_headers("lou")
        bad_after = await client.get("/v1/poll?after=abc", headers=headers)
        assert bad_after.status_code == 400
        assert bad_after.json()["code"] == "invalid_cursor"
        for bad in ("-1", "61", "soon"):
            response = await client.get(f"/v1/poll?after=0&timeout={bad}", headers=headers)
            assert response.status_code == 422


async def test_poll_gets_state_changes_while_waiting(server: Running) -> None:
    """A read-state change during a long poll is returned as a state envelope."""
    published = await server.publish(["max"], "x")
    async with server.http() as client:
        pending = asyncio.create_task(
            client.get(
                f"/v1/poll?after={published['seq']}&timeout=10", headers=server.user_headers("max")
            )
        )
        await asyncio.sleep(0.3)
        await client.post(
            f"/v1/me/notifications/{published['id']}/read", headers=server.user_headers("max")
        )
        body = (await asyncio.wait_for(pending, 5)).json()
    assert [m["type"] for m in body["messages"]] == ["state"]
    assert body["counts"]["unread"] == 0


def test_access_log_redacts_query_strings() -> None:
    """uvicorn access records lose their query string (tickets never reach logs)."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/v1/poll?ticket=secret&after=1", "1.1", 200),
        None,
    )
    assert RedactQuery().filter(record)
    assert "secret" not in record.getMessage()
    assert "/v1/poll?[redacted]" in record.getMessage()
