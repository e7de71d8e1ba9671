"""``POST /v1/tickets`` answered outside ASGI: the same answers as the FastAPI route, header
for header (CORS included), and plain HTTP/1.1 on the connection."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import JWT_SECRET, Running, make_settings, run_server
from tocsin.auth.tokens import issue_token
from tocsin.web.transports import tickets

APP = "https://app.example"
LIMIT = 2048
CORS = {"no CORS": (), "listed origins": (APP, "http://localhost:3000"), "any origin": ("*",)}
UNAUTHORIZED = {"code": "invalid_token", "message": "The token is invalid or expired."}


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]  # lower-case names, in order
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def json(self) -> Any:
        return orjson.loads(self.body)


async def read_answer(reader: asyncio.StreamReader) -> Answer | None:
    """One response, or None when the server closed the connection."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    pairs = [line.split(":", 1) for line in lines]
    headers = [(name.lower(), value.strip()) for name, value in pairs]
    length = int(dict(headers)["content-length"])
    return Answer(int(status_line.split(" ")[1]), headers, await reader.readexactly(length))


def health(server: Running) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()


def post(
    server: Running,
    authorization: str | None = None,
    *,
    headers: str = "",
    body: bytes = b"",
    target: str = "/v1/tickets",
    version: str = "1.1",
) -> bytes:
    """A raw ticket request; a body is sent with its Content-Length unless chunked."""
    head = f"POST {target} HTTP/{version}\r\nHost: 127.0.0.1:{server.port}\r\n"
    if authorization is not None:
        head += f"Authorization: {authorization}\r\n"
    if body and "transfer-encoding" not in headers.lower():
        head += f"Content-Length: {len(body)}\r\n"
    return (head + headers + "\r\n").encode() + body


def bearer(server: Running, user: str = "alice") -> str:
    return f"Bearer {server.token(user)}"


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"


# Requests to answer as the route does. Each is followed on its connection by GET /healthz,
# so what becomes of the connection (and of a body the route never reads) is compared too.
VARIANTS: dict[str, Callable[[Running], bytes]] = {
    "valid token": lambda s: post(s, bearer(s)),
    "lower-case scheme": lambda s: post(s, "bearer " + s.token("alice")),
    "spaces around the token": lambda s: post(s, f"Bearer   {s.token('alice')}  "),
    "no Authorization": lambda s: post(s),
    "empty Authorization": lambda s: post(s, ""),
    "Basic scheme": lambda s: post(s, "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
    "Bearer without token": lambda s: post(s, "Bearer"),
    "Bearer and a space": lambda s: post(s, "Bearer "),
    "garbage token": lambda s: post(s, "Bearer abc.def.ghi"),
    "expired token": lambda s: post(s, f"Bearer {issue_token(JWT_SECRET, 'al', ttl=-3600)}"),
    "wrong secret": lambda s: post(s, f"Bearer {issue_token('x' * 40, 'alice')}"),
    "API key": lambda s: post(s, f"Bearer {s.api_key}"),
    "first of two Authorization valid": lambda s: post(
        s, bearer(s), headers="Authorization: Bearer nope\r\n"
    ),
    "first of two Authorization invalid": lambda s: post(
        s, "Bearer nope", headers=f"Authorization: {bearer(s)}\r\n"
    ),
    "JSON body": lambda s: post(s, bearer(s), body=b'{"user": "mallory"}'),
    "malformed body": lambda s: post(s, bearer(s), body=b"{nope"),
    "body at the limit": lambda s: post(s, bearer(s), body=b"x" * LIMIT),
    "declared body over the limit": lambda s: post(
        s, bearer(s), headers=f"Content-Length: {LIMIT + 1}\r\n"
    ),
    "declared body over the limit, no token": lambda s: post(
        s, headers=f"Content-Length: {LIMIT + 1}\r\n"
    ),
    "small chunked body": lambda s: post(
        s, bearer(s), headers="Transfer-Encoding: chunked\r\n", body=chunked(b"abc")
    ),
    "chunked body over the limit": lambda s: post(
        s, bearer(s), headers="Transfer-Encoding: chunked\r\n", body=chunked(b"x" * 3 * LIMIT)
    ),
    "Expect: 100-continue": lambda s: post(
        s, bearer(s), headers="Expect: 100-continue\r\n", body=b"abc"
    ),
    "HTTP/1.0": lambda s: post(s, bearer(s), version="1.0"),
    "HTTP/1.0 keep-alive": lambda s: post(
        s, bearer(s), headers="Connection: keep-alive\r\n", version="1.0"
    ),
    "Connection: close": lambda s: post(s, bearer(s), headers="Connection: close\r\n"),
    "Connection: close, no token": lambda s: post(s, headers="Connection: close\r\n"),
    "query string": lambda s: post(s, bearer(s), target="/v1/tickets?user=mallory"),
    "allowed Origin": lambda s: post(s, bearer(s), headers=f"Origin: {APP}\r\n"),
    "allowed Origin, no token": lambda s: post(s, headers=f"Origin: {APP}\r\n"),
    "allowed Origin, body over the limit": lambda s: post(
        s, bearer(s), headers=f"Origin: {APP}\r\nContent-Length: {LIMIT + 1}\r\n"
    ),
    "other Origin": lambda s: post(s, bearer(s), headers="Origin: https://evil.example\r\n"),
    "other Origin, no token": lambda s: post(s, headers="Origin: https://evil.example\r\n"),
    "Origin null": lambda s: post(s, bearer(s), headers="Origin: null\r\n"),
    "Origin in other case": lambda s: post(s, bearer(s), headers="Origin: https://APP.example\r\n"),
    "Origin with a slash": lambda s: post(s, bearer(s), headers=f"Origin: {APP}/\r\n"),
    "Origin of the server": lambda s: post(
        s, bearer(s), headers=f"Origin: http://127.0.0.1:{s.port}\r\n"
    ),
    "two Origins, the second allowed": lambda s: post(
        s, bearer(s), headers=f"Origin: https://evil.example\r\nOrigin: {APP}\r\n"
    ),
    "two Origins, the first allowed": lambda s: post(
        s, bearer(s), headers=f"Origin: {APP}\r\nOrigin: https://evil.example\r\n"
    ),
}


@pytest.fixture
def shortcut_calls(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The Authorization headers the shortcut answered."""
    calls: list[str | None] = []
    answer = tickets.answer

    def counted(node: Any, authorization: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
        calls.append(authorization)
        return answer(node, authorization)

    monkeypatch.setattr(tickets, "answer", counted)
    return calls


@pytest.fixture(params=list(CORS))
async def cors_server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Running]:
    settings = make_settings(tmp_path, max_body_bytes=LIMIT, allowed_origins=CORS[request.param])
    async with run_server(settings) as running:
        yield running


async def exchange(server: Running, data: bytes) -> list[Answer | None]:
    """The answers to ``data`` and a GET /healthz behind it, with dates and tickets masked;
    None once the server closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data + health(server))
    answers: list[Answer | None] = []
    try:
        for _ in range(2):
            answer = await read_answer(reader)
            answers.append(answer)
            if answer is None:
                break
            answer.headers = [(k, "-" if k == "date" else v) for k, v in answer.headers]
            if answer.body.startswith(b'{"ticket":'):
                ticket = answer.json()["ticket"]
                assert isinstance(ticket, str) and len(ticket) > 100
                answer.body = answer.body.replace(ticket.encode(), b"T")
            elif answer.body.startswith(b'{"status":"ok"'):
                answer.body = b"healthy"
    finally:
        writer.close()
    return answers


def ordered(answers: list[Answer | None]) -> list[tuple[int, list[tuple[str, str]], bytes] | None]:
    """Answers with their headers sorted: Starlette's 413 puts the same headers in another
    order (content-type before content-length, connection before CORS)."""
    return [None if a is None else (a.status, sorted(a.headers), a.body) for a in answers]


async def test_answers_are_the_routes(
    cors_server: Running, shortcut_calls: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """For each request, the shortcut's answers (and what follows on the connection) are
    those of the FastAPI route, for each CORS configuration."""
    shortcut = {
        name: await exchange(cors_server, make(cors_server)) for name, make in VARIANTS.items()
    }
    answered = len(shortcut_calls)
    monkeypatch.setattr(tickets, "PATH", b"/v1/tickets/no-shortcut")
    route = {
        name: await exchange(cors_server, make(cors_server)) for name, make in VARIANTS.items()
    }
    assert len(shortcut_calls) == answered  # the route answered these
    assert answered == len(VARIANTS) - 3  # not the three bodies over the limit
    exact = [name for name in VARIANTS if "over the limit" not in name]
    differences = {
        name: (shortcut[name], route[name])
        for name in VARIANTS
        if (shortcut[name] if name in exact else ordered(shortcut[name]))
        != (route[name] if name in exact else ordered(route[name]))
    }
    assert not differences
    # Sanity: the comparison covered what it should.
    assert route["valid token"][0] is not None and route["valid token"][0].status == 200
    assert route["Connection: close"][1:] == [None]
    assert route["declared body over the limit"][0] is not None
    assert route["declared body over the limit"][0].status == 413
    assert route["chunked body over the limit"][0] is not None
    assert route["chunked body over the limit"][0].status == 200  # the route never reads it


async def test_a_ticket_and_its_headers(server: Running, shortcut_calls: list[str | None]) -> None:
    """200 with a 30-second ticket, as JSON, with a Date and no CORS headers by default."""
    async with server.http() as client:
        response = await client.post("/v1/tickets", headers=server.user_headers("alice"))
    assert len(shortcut_calls) == 1
    assert response.status_code == 200
    assert set(response.json()) == {"ticket", "expires_in"}
    assert response.json()["expires_in"] == 30
    assert response.headers["content-type"] == "application/json"
    assert "date" in response.headers
    assert not any(name.startswith("access-control") for name in response.headers)
    assert "vary" not in response.headers


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic YTpi", "Bearer abc.def.ghi", "Token x", "expired"],
)
async def test_missing_or_bad_tokens_get_the_same_401(
    server: Running, shortcut_calls: list[str | None], authorization: str | None
) -> None:
    """No header, no token, another scheme, a forged or expired token: one uniform answer."""
    if authorization == "expired":
        authorization = f"Bearer {issue_token(JWT_SECRET, 'alice', ttl=-3600)}"
    headers = {} if authorization is None else {"Authorization": authorization}
    async with server.http() as client:
        response = await client.post("/v1/tickets", headers=headers)
    assert len(shortcut_calls) == 1
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("origins", [(APP,), ("*",)], ids=["listed", "any"])
async def test_cors_headers(
    tmp_path: Path, shortcut_calls: list[str | None], origins: tuple[str, ...]
) -> None:
    """An allowed Origin is answered with access-control-allow-origin (itself, or * when any
    origin is allowed); another Origin, or none, gets only ``vary: Origin``; so do errors."""
    async with run_server(make_settings(tmp_path, allowed_origins=origins)) as server:
        token = server.user_headers("alice")
        async with server.http() as client:
            allowed = await client.post("/v1/tickets", headers={**token, "Origin": APP})
            refused = await client.post("/v1/tickets", headers={"Origin": APP})
            other = await client.post(
                "/v1/tickets", headers={**token, "Origin": "https://evil.example"}
            )
            absent = await client.post("/v1/tickets", headers=token)
    assert len(shortcut_calls) == 4
    assert [r.status_code for r in (allowed, refused, other, absent)] == [200, 401, 200, 200]
    expected = APP if origins == (APP,) else "*"
    for response in (allowed, refused):
        assert response.headers["access-control-allow-origin"] == expected
        assert response.headers["vary"] == "Origin"
        assert "access-control-allow-credentials" not in response.headers
    if origins == (APP,):
        assert "access-control-allow-origin" not in other.headers
    else:
        assert other.headers["access-control-allow-origin"] == "*"
    assert other.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in absent.headers
    assert absent.headers["vary"] == "Origin"


async def test_preflight_still_goes_through_asgi(
    tmp_path: Path, shortcut_calls: list[str | None]
) -> None:
    """OPTIONS is no shortcut: Starlette's CORSMiddleware answers the preflight."""
    settings = make_settings(tmp_path, allowed_origins=(APP,))
    async with run_server(settings) as server, server.http() as client:
        response = await client.options(
            "/v1/tickets",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
    assert shortcut_calls == []
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]


async def test_a_ticket_opens_one_event_stream_and_one_poll(
    server: Running, shortcut_calls: list[str | None]
) -> None:
    """Tickets bought through the shortcut are accepted by /v1/sse and /v1/poll, once."""
    async with server.http() as client:
        headers = server.user_headers("alice")
        for_sse = (await client.post("/v1/tickets", headers=headers)).json()["ticket"]
        for_poll = (await client.post("/v1/tickets", headers=headers)).json()["ticket"]
        async with client.stream("GET", f"/v1/sse?ticket={for_sse}") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    assert orjson.loads(line[6:])["type"] == "ready"
                    break
        again = await client.get(f"/v1/sse?ticket={for_sse}")
        polled = await client.get(f"/v1/poll?ticket={for_poll}")
        polled_again = await client.get(f"/v1/poll?ticket={for_poll}")
    assert len(shortcut_calls) == 2
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_ticket"
    assert polled.status_code == 200
    assert polled.json()["messages"][0]["type"] == "ready"
    assert polled.json()["messages"][0]["user"] == "alice"
    assert polled_again.status_code == 401
    assert polled_again.json()["code"] == "invalid_ticket"


async def test_pipelined_requests_are_answered_in_order(
    server: Running, shortcut_calls: list[str | None]
) -> None:
    """A ticket, a publish, a health check and a ticket sent at once come back in order,
    and so do a publish and a ticket behind it."""
    publish = orjson.dumps({"to": {"users": ["alice"]}, "title": "hi"})
    notification = (
        f"POST /v1/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.api_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(publish)}\r\n\r\n"
    ).encode() + publish
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        post(server, bearer(server, "alice"))
        + notification
        + health(server)
        + post(server, bearer(server, "bob"))
        + notification
        + post(server, bearer(server, "carol"))
    )
    answers = [await read_answer(reader) for _ in range(6)]
    writer.close()
    assert [answer.status if answer else None for answer in answers] == [
        200,
        202,
        200,
        200,
        202,
        200,
    ]
    assert answers[2] is not None and answers[2].json()["status"] == "ok"
    for index, user in ((0, "alice"), (3, "bob"), (5, "carol")):
        answer = answers[index]
        assert answer is not None
        assert (await server.node.tickets.redeem(answer.json()["ticket"])).user == user
    assert shortcut_calls  # the first ticket at least; one behind a publish may go to ASGI


async def test_expect_100_continue_is_answered_without_waiting_for_the_body(
    server: Running, shortcut_calls: list[str | None]
) -> None:
    """Like the route, which never asks for the body, the ticket comes at once with no
    interim 100 Continue; a body sent after it is dropped and the connection goes on."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        post(server, bearer(server), headers="Expect: 100-continue\r\nContent-Length: 5\r\n")
    )
    answer = await read_answer(reader)
    assert answer is not None
    assert answer.status == 200
    assert "ticket" in answer.json()
    writer.write(b"hello" + health(server))  # the body, late, then the next request
    after = await read_answer(reader)
    writer.close()
    assert after is not None
    assert after.status == 200
    assert after.json()["status"] == "ok"
    assert len(shortcut_calls) == 1


async def test_keep_alive_and_closing(server: Running, shortcut_calls: list[str | None]) -> None:
    """HTTP/1.1 keeps the connection for the next request; HTTP/1.0 and Connection: close
    close it after the answer, saying so."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for _ in range(3):
        writer.write(post(server, bearer(server)))
        answer = await read_answer(reader)
        assert answer is not None
        assert answer.status == 200
        assert answer.header("connection") is None
    writer.close()
    for request in (
        post(server, bearer(server), version="1.0"),
        post(server, bearer(server), headers="Connection: close\r\n"),
        post(server, headers="Connection: close\r\n"),
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request)
        answer = await read_answer(reader)
        assert answer is not None
        assert answer.header("connection") == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()
    assert len(shortcut_calls) == 6


async def test_bodies(tmp_path: Path, shortcut_calls: list[str | None]) -> None:
    """A declared body over the limit gets the publishes' 413 and the connection closes
    unread; a body within it, or a streamed one of any size, is ignored, as by the route."""
    async with run_server(make_settings(tmp_path, max_body_bytes=LIMIT)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(post(server, bearer(server), headers=f"Content-Length: {LIMIT + 1}\r\n"))
        refused = await read_answer(reader)
        assert refused is not None
        assert refused.status == 413
        assert refused.json() == {
            "code": "payload_too_large",
            "message": f"The body is larger than {LIMIT} bytes.",
        }
        assert refused.header("connection") == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            post(server, bearer(server), body=b"{}")
            + post(
                server,
                bearer(server),
                headers="Transfer-Encoding: chunked\r\n",
                body=chunked(b"x" * 5 * LIMIT),
            )
            + health(server)
        )
        answers = [await read_answer(reader) for _ in range(3)]
        writer.close()
        assert [a.status if a else None for a in answers] == [200, 200, 200]
        assert len(shortcut_calls) == 2


async def test_access_log_line(
    server: Running, shortcut_calls: list[str | None], caplog: pytest.LogCaptureFixture
) -> None:
    """A ticket is logged like any request, with its client, its status and no query."""
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(caplog.handler)
    try:
        async with server.http() as client:
            await client.post("/v1/tickets?secret=1", headers=server.user_headers("alice"))
            await client.post("/v1/tickets")
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(shortcut_calls) == 2
    assert len(lines) == 2
    assert re.fullmatch(
        r'127\.0\.0\.1:\d+ - "POST /v1/tickets\?\[redacted\] HTTP/1.1" 200', lines[0]
    )
    assert re.fullmatch(r'127\.0\.0\.1:\d+ - "POST /v1/tickets HTTP/1.1" 401', lines[1])


async def test_shutdown_closes_an_idle_connection(tmp_path: Path) -> None:
    """A connection kept alive after a ticket does not hold up a graceful shutdown."""
    async with run_server(make_settings(tmp_path)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(post(server, bearer(server)))
        answer = await read_answer(reader)
        assert answer is not None and answer.status == 200
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_httpx_client_reuses_its_connection(
    server: Running, shortcut_calls: list[str | None]
) -> None:
    """An ordinary client buys tickets and calls ASGI routes over one kept-alive connection."""
    async with httpx.AsyncClient(base_url=server.url, limits=httpx.Limits(max_connections=1)) as c:
        for _ in range(3):
            assert (await c.post("/v1/tickets", headers=server.user_headers("dan"))).is_success
            assert (await c.get("/healthz")).is_success
    assert len(shortcut_calls) == 3
