"""The browser client in real Chromium against a real server: every transport, fallback,
restarts without loss, shared tabs and token refresh."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.conftest import Running, make_settings, run_server
from tests.e2e.proxy import refusing
from tocsin.models import Audience, Draft, PublishRequest, now_ms
from tocsin.storage import open_storage

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>e2e</title></head><body>
<ol id="log"></ol>
<script type="module">
import { Tocsin } from "/tocsin.js";
window.received = [];
window.states = [];
window.counts = [];
window.tokenCalls = 0;
window.start = (options = {}) => {
  const tocsin = new Tocsin({
    url: location.origin,
    token: async () => { window.tokenCalls += 1; return await window.getToken(); },
    ...options,
  });
  tocsin.on("notification", (n) => {
    window.received.push(n.seq);
    const item = document.createElement("li");
    item.textContent = n.title;
    document.getElementById("log").append(item);
  });
  tocsin.on("state", (state) => window.states.push(state));
  tocsin.on("counts", (counts) => window.counts.push(counts));
  tocsin.connect();
  window.tocsin = tocsin;
};
window.pageReady = true;
</script></body></html>
"""


async def open_client(
    context: BrowserContext,
    base: str,
    token: Callable[[], str],
    options: dict[str, Any] | None = None,
) -> Page:
    """A page of origin ``base`` running the client with ``options``."""
    page = await context.new_page()
    await page.expose_function("getToken", token)
    # A real response from the server gives the page its origin (a page fulfilled by
    # Playwright would count as public and be refused loopback access by Chromium).
    await page.goto(f"{base}/healthz")
    await page.set_content(PAGE)
    await page.wait_for_function("window.pageReady === true")
    await page.evaluate("options => window.start(options)", options or {})
    await page.wait_for_function("window.tocsin.state === 'connected'", timeout=15_000)
    return page


async def received(page: Page, count: int, timeout: float = 15) -> list[int]:
    await page.wait_for_function(f"window.received.length >= {count}", timeout=timeout * 1000)
    result: list[int] = await page.evaluate("window.received")
    return result


async def publish_many(server: Running, user: str, count: int, prefix: str) -> list[int]:
    return [(await server.publish([user], f"{prefix} {i}"))["seq"] for i in range(count)]


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context()
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.mark.parametrize("transport", ["websocket", "sse", "longpoll"])
async def test_each_transport_alone_delivers_live(
    server: Running, context: BrowserContext, transport: str
) -> None:
    """Forced to one transport, the client receives live notifications in order."""
    page = await open_client(
        context, server.url, lambda: server.token("alice"), {"transports": [transport]}
    )
    assert await page.evaluate("window.tocsin.transport") == transport
    seqs = await publish_many(server, "alice", 3, transport)
    assert await received(page, 3) == seqs
    assert await page.locator("#log li").all_inner_texts() == [f"{transport} {i}" for i in range(3)]


async def test_falls_back_to_sse_then_polling_when_blocked(
    server: Running, context: BrowserContext
) -> None:
    """With the WebSocket refused the client uses SSE; with SSE refused too, long-polling."""
    async with refusing(server.port, "/v1/ws") as proxy:
        base = f"http://127.0.0.1:{proxy.port}"
        page = await open_client(context, base, lambda: server.token("bob"))
        assert await page.evaluate("window.tocsin.transport") == "sse"
        seqs = await publish_many(server, "bob", 2, "sse")
        assert await received(page, 2) == seqs
        await page.close()
    async with refusing(server.port, "/v1/ws", "/v1/sse") as proxy:
        base = f"http://127.0.0.1:{proxy.port}"
        page = await open_client(context, base, lambda: server.token("carol"))
        assert await page.evaluate("window.tocsin.transport") == "longpoll"
        seqs = await publish_many(server, "carol", 2, "poll")
        assert await received(page, 2) == seqs
        assert proxy.refusals >= 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_server_restart_loses_and_repeats_nothing(browser: Browser, tmp_path: Path) -> None:
    """Stopped and restarted while notifications keep being published, the page shows each
    exactly once, in order."""
    settings = make_settings(tmp_path, port=free_port(), heartbeat_seconds=2)
    expected: list[int] = []
    context = await browser.new_context()
    try:
        async with run_server(settings) as server:
            page = await open_client(context, server.url, lambda: server.token("dana"))
            expected += await publish_many(server, "dana", 3, "before")
            await received(page, 3)
            token = server.token("dana")
        # The server is down: notifications are still stored (by another writer).
        store = open_storage(settings.resolved_database_url)
        await store.open()
        for i in range(4):
            draft = Draft(audience=Audience(users=("dana",)), type="t", title=f"while down {i}")
            [outcome] = await store.publish(
                [PublishRequest(drafts=(draft,), sender="test")],
                now=now_ms(),
                idempotency_ttl_ms=1,
            )
            expected.append(outcome.events[0].seq)  # type: ignore[union-attr]
        await store.close()
        await page.wait_for_function("window.tocsin.state !== 'connected'", timeout=10_000)
        async with run_server(settings) as server:
            assert token
            expected += await publish_many(server, "dana", 3, "after")
            assert await received(page, len(expected), timeout=30) == expected
            await asyncio.sleep(0.5)
            assert await page.evaluate("window.received") == expected
            titles = await page.locator("#log li").all_inner_texts()
            assert len(titles) == len(set(titles)) == len(expected)
    finally:
        await context.close()


async def test_tabs_share_one_connection_and_a_new_leader_takes_over(
    server: Running, context: BrowserContext
) -> None:
    """Two tabs of one browser hold one server connection; both update; when the leader
    closes, the other tab connects and keeps receiving."""
    token: Callable[[], str] = lambda: server.token("erin")  # noqa: E731
    first = await open_client(context, server.url, token)
    second = await open_client(context, server.url, token)
    await asyncio.sleep(1)
    assert server.node.hub.connections("erin") == 1
    seqs = await publish_many(server, "erin", 2, "shared")
    assert await received(first, 2) == seqs
    assert await received(second, 2) == seqs
    leader_first = server.node.hub.connections("erin")
    await first.close()
    await second.wait_for_function("window.tocsin.state === 'connected'", timeout=10_000)
    more = await publish_many(server, "erin", 1, "after leader left")
    assert await received(second, 3, timeout=15) == seqs + more
    assert leader_first == 1
    await asyncio.sleep(0.5)
    assert server.node.hub.connections("erin") == 1


async def test_read_state_changed_in_one_tab_reaches_the_other(
    server: Running, context: BrowserContext
) -> None:
    """markAllRead in one tab updates the counts in another tab at once."""
    await publish_many(server, "fred", 2, "unread")
    token: Callable[[], str] = lambda: server.token("fred")  # noqa: E731
    first = await open_client(context, server.url, token)
    second = await open_client(context, server.url, token)
    await second.wait_for_function("window.counts.some(c => c.unread === 2)", timeout=5_000)
    await first.evaluate("window.tocsin.markAllRead()")
    await second.wait_for_function("window.counts.at(-1).unread === 0", timeout=5_000)


async def test_token_is_refreshed_when_it_expires(tmp_path: Path, browser: Browser) -> None:
    """An expired session is closed by the server; the client asks for a new token and
    resumes without missing anything."""
    async with run_server(make_settings(tmp_path, heartbeat_seconds=1)) as server:
        calls = 0

        def token() -> str:
            nonlocal calls
            calls += 1
            # The first token is already past its expiry (beyond the 30 s leeway) at the
            # first heartbeat: the server ends the session with 4003.
            return server.token("gina", ttl=-29.5 if calls == 1 else 3600)

        context = await browser.new_context()
        try:
            page = await open_client(context, server.url, token, {"transports": ["websocket"]})
            await page.wait_for_function("window.tokenCalls >= 2", timeout=15_000)
            await page.wait_for_function("window.tocsin.state === 'connected'", timeout=15_000)
            seqs = await publish_many(server, "gina", 2, "after refresh")
            assert await received(page, 2) == seqs
        finally:
            await context.close()
