"""End to end: the notification center (``<tocsin-bell>``) in Debian's Chromium, on a real server.

The bell is mounted by ``/demo/test-bell.html`` (token and options in the URL hash); the server
runs with ``demo=True`` so that ``/demo/...`` is served. One server and one browser serve the
whole module; each test uses users of its own and a fresh browser context.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import Running, make_settings, run_server
from tocsin.models import Actor, Audience, Draft, Priority, PublishRequest

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Screenshots refresh docs/screenshots only when asked (TOCSIN_SCREENSHOTS=1); otherwise they
# go to a temporary folder, so a test run leaves the working tree as it was.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("TOCSIN_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "tocsin-screenshots"
)
VIEWPORT = {"width": 1100, "height": 680}

# Records every `new Notification(...)` while still creating the real one.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  function Recorded(title, options = {}) {
    const record = { title, body: options.body, tag: options.tag, icon: options.icon };
    window.__notes.push(record);
    let real;
    try {
      real = Reflect.construct(Real, [title, options], Recorded);
    } catch (err) {
      record.error = String(err);
      real = Object.assign(new EventTarget(), { close() {} });
    }
    window.__lastNote = real;
    return real;
  }
  Recorded.prototype = Real.prototype;
  Object.defineProperty(Recorded, "permission", {
    get: () => window.__permission ?? Real.permission,
  });
  Recorded.requestPermission = async () => {
    window.__asked = { withGesture: navigator.userActivation.isActive };
    window.__permission = "granted";
    return "granted";
  };
  window.Notification = Recorded;
})();
"""

HIDE_TAB = """
Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
document.dispatchEvent(new Event("visibilitychange"));
"""


# Fixtures


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    async with run_server(make_settings(tmp_path_factory.mktemp("bell"), demo=True)) as running:
        yield running


def chromium_path() -> str:
    """Debian's Chromium; the tests fail (never skip) without it."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required at {CHROMIUM}: apt-get install -y chromium")
    return str(CHROMIUM)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """One headless Chromium for the module (one per test would cost a second each)."""
    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Bell:
    """A test page with a bell, for one user."""

    page: Page
    app: Running
    user: str
    dialogs: list[str] = field(default_factory=list)

    @property
    def button(self) -> Any:
        return self.page.locator("tocsin-bell .bell")

    @property
    def badge(self) -> Any:
        return self.page.locator("tocsin-bell .badge")

    @property
    def panel(self) -> Any:
        return self.page.locator("tocsin-bell .panel")

    @property
    def cards(self) -> Any:
        return self.page.locator("tocsin-bell .card")

    @property
    def toasts(self) -> Any:
        return self.page.locator("tocsin-bell .toast:not(.leaving)")

    @property
    def modal(self) -> Any:
        return self.page.locator("tocsin-bell dialog.modal")

    def card(self, title: str) -> Any:
        return self.cards.filter(has=self.page.locator(".title-text", has_text=title))

    async def open(self) -> None:
        await self.button.click()
        await expect(self.panel).to_be_visible()

    async def shadow(self, expression: str) -> Any:
        """Evaluate ``expression`` with ``root`` bound to the bell's shadow root."""
        return await self.page.evaluate(
            f"(() => {{ const root = document.querySelector('tocsin-bell').shadowRoot; "
            f"return {expression}; }})()"
        )

    async def focused(self) -> str | None:
        """What has focus inside the bell: a card's title, a class name, or None."""
        result: str | None = await self.shadow(
            "(() => { const a = root.activeElement; if (!a) return null;"
            " const t = a.querySelector?.('.title-text');"
            " return t ? t.textContent : a.className; })()"
        )
        return result


Opener = Callable[..., Awaitable[Bell]]


@pytest_asyncio.fixture(loop_scope="module")
async def context(chromium: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await chromium.new_context(viewport=VIEWPORT, locale="en-US")
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest_asyncio.fixture(loop_scope="module")
async def open_bell(app: Running, context: BrowserContext) -> AsyncIterator[Opener]:
    """Opens test pages; fails the test if any of them raised an uncaught error."""
    errors: list[str] = []

    async def opener(user: str, ctx: BrowserContext | None = None, **params: Any) -> Bell:
        page = await (ctx or context).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        bell = Bell(page, app, user)

        async def on_dialog(dialog: Any) -> None:
            bell.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        fragment = urlencode({"user": user, "token": app.token(user), **params})
        await page.goto(f"{app.url}/demo/test-bell.html#{fragment}")
        await wait_ready(page)
        return bell

    yield opener
    assert errors == [], errors


async def wait_ready(page: Page) -> None:
    await page.wait_for_function(
        "window.bell && bell.loaded && bell.client && bell.client.state === 'connected'",
        timeout=10_000,
    )


def new_user(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def person(name: str, avatar: bool = True) -> dict[str, Any]:
    actor: dict[str, Any] = {"id": name.lower(), "name": name}
    if avatar and name.lower() in {"alice", "bob", "carol", "dave", "erin"}:
        actor["avatar"] = f"/demo/avatars/{name.lower()}.svg"
    return actor


async def publish_batch(app: Running, notifications: list[dict[str, Any]]) -> None:
    async with app.http() as client:
        response = await client.post(
            "/v1/notifications/batch",
            json={"notifications": notifications},
            headers=app.key_headers(),
        )
    assert response.status_code == 202, response.text


async def publish_raw(app: Running, user: str, **fields: Any) -> None:
    """Publish past the HTTP validation (as a buggy backend or old data would): the UI must
    hold on its own."""
    actor = fields.pop("actor", None)
    draft = Draft(
        audience=Audience(users=(user,)),
        type=fields.pop("type", "notification"),
        actor=Actor(**actor) if actor else None,
        priority=Priority(fields.pop("priority", "normal")),
        **fields,
    )
    await app.node.publisher.publish(PublishRequest(drafts=(draft,), sender="e2e"))


async def inbox(app: Running, user: str) -> dict[str, Any]:
    async with app.http() as client:
        response = await client.get(
            "/v1/me/notifications", params={"limit": 100}, headers=app.user_headers(user)
        )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def mark(app: Running, user: str, path: str) -> None:
    async with app.http() as client:
        response = await client.post(f"/v1/me/notifications/{path}", headers=app.user_headers(user))
    assert response.status_code == 200, response.text


def by_title(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["title"]: item for item in page["items"]}


async def shoot(page: Page, name: str, **options: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(350)  # let entry animations settle
    await page.screenshot(path=str(SHOTS / name), animations="disabled", **options)


# Tests


async def test_bell_is_neutral_then_accented_and_badge_caps_at_99(
    app: Running, open_bell: Opener
) -> None:
    """No unseen item: neutral bell, no badge; new items: accented bell, unread badge, 99+."""
    user = new_user("badge")
    bell = await open_bell(user)
    await expect(bell.badge).to_be_hidden()
    await expect(bell.button).not_to_have_class("bell accent")
    await expect(bell.button).to_have_attribute("aria-label", "Notifications")
    await expect(bell.button).to_have_attribute("aria-haspopup", "dialog")
    await expect(bell.button).to_have_attribute("aria-expanded", "false")

    for title in ("One", "Two", "Three"):
        await app.publish([user], title, priority="low", actor=person("Bob"))
    await expect(bell.badge).to_have_text("3")
    await expect(bell.button).to_have_class("bell accent")
    await expect(bell.button).to_have_attribute("aria-label", "Notifications, 3 unread")

    await publish_batch(
        app, [{"to": {"users": [user]}, "title": f"n{i}", "priority": "low"} for i in range(117)]
    )
    await expect(bell.badge).to_have_text("99+")

    await bell.open()  # opening marks everything seen: the accent goes, the unread badge stays
    await expect(bell.button).not_to_have_class("bell accent")
    await expect(bell.badge).to_have_class("badge quiet")
    await expect(bell.badge).to_have_text("99+")
    await expect(bell.button).to_have_attribute("aria-expanded", "true")
    async with app.http() as client:
        counts = (await client.get("/v1/me/counts", headers=app.user_headers(user))).json()
    assert counts == {"unread": 120, "unseen": 0}


async def test_dropdown_cards_show_type_actor_text_time_state_and_priority(
    app: Running, context: BrowserContext, open_bell: Opener
) -> None:
    """Each card: type icon, avatar and name (or the source), title, body, time, unread mark."""
    user = new_user("cards")
    await context.clock.install()  # real time flows; fast_forward below moves it on
    await publish_batch(
        app,
        [
            {"to": {"users": [user]}, **fields}
            for fields in [
                {"type": "system", "title": "Weekly digest ready", "priority": "low"},
                {
                    "type": "security",
                    "title": "New sign-in from Firefox on Linux",
                    "body": "If this was not you, change your password.",
                    "priority": "critical",
                },
                {
                    "type": "friend_request",
                    "title": "Dave sent you a friend request",
                    "actor": person("Dave"),
                    "priority": "high",
                },
                {"type": "like", "title": "Carol liked your photo", "actor": person("Carol")},
                {
                    "type": "message",
                    "title": "Bob sent you a message",
                    "body": "Are we still on for Friday? " + "It's a long message. " * 20,
                    "actor": person("Bob"),
                },
            ]
        ],
    )
    bell = await open_bell(user)
    await expect(bell.badge).to_have_text("5")
    await bell.open()
    await expect(bell.cards).to_have_count(5)

    titles = await bell.cards.locator(".title-text").all_text_contents()
    assert titles == [
        "Bob sent you a message",
        "Carol liked your photo",
        "Dave sent you a friend request",
        "New sign-in from Firefox on Linux",
        "Weekly digest ready",
    ]
    icons = {
        "Bob sent you a message": "icon-message",
        "Carol liked your photo": "icon-heart",
        "Dave sent you a friend request": "icon-userPlus",
        "New sign-in from Firefox on Linux": "icon-shield",
        "Weekly digest ready": "icon-info",
    }
    for title, icon in icons.items():
        await expect(bell.card(title).locator(f"svg.{icon}")).to_have_count(1)
    who = await bell.cards.locator(".who").all_text_contents()
    assert who == ["Bob", "Carol", "Dave", "System Alert", "System Alert"]
    bob = bell.card("Bob sent you a message")
    await expect(bob.locator("img.avatar")).to_have_attribute(
        "src", f"{app.url}/demo/avatars/bob.svg"
    )
    assert (
        await bob.locator("img.avatar").evaluate("i => getComputedStyle(i).borderRadius") == "50%"
    )
    await expect(bob.locator(".body")).to_contain_text("Are we still on for Friday?")
    # the long body is cut by CSS (two lines), not in the DOM
    clamp = await bob.locator(".body").evaluate("b => b.scrollHeight > b.clientHeight + 2")
    assert clamp
    await expect(bob.locator("time")).to_have_text("now")
    for card in await bell.cards.all():
        assert "unread" in (await card.get_attribute("class") or "")
        await expect(card.locator(".dot")).to_have_attribute("aria-label", "Unread")

    critical = bell.card("New sign-in")
    await expect(critical).to_have_class("card prio-critical unread")
    await expect(critical.locator(".prio")).to_have_text("!")
    await expect(critical.locator(".prio")).to_have_attribute("aria-label", "Critical")
    await expect(bell.card("Dave sent")).to_have_class("card prio-high unread")
    await expect(bell.card("Dave sent").locator(".prio")).to_have_text("!")
    await expect(bell.card("Weekly digest")).to_have_class("card prio-low unread")
    await expect(bell.card("Weekly digest").locator(".prio")).to_have_count(0)
    red = await critical.evaluate("c => getComputedStyle(c, '::before').backgroundColor")
    assert red == "rgb(220, 38, 38)"
    muted = (
        await bell.card("Weekly digest")
        .locator(".title")
        .evaluate("t => getComputedStyle(t).color")
    )
    assert muted == "rgb(107, 114, 128)"

    # Relative times stay current: 30 s ticks move "now" to "2 min. ago".
    await bell.page.clock.fast_forward(125_000)
    await expect(bob.locator("time")).to_have_text("2 min. ago")


async def test_grouped_items_show_as_one_card(app: Running, open_bell: Opener) -> None:
    """Items with the same data.group: one card, 'Ana and 4 others liked your post'."""
    user = new_user("group")
    likes = [
        {
            "to": {"users": [user]},
            "type": "like",
            "title": f"{name} liked your post",
            "actor": {"id": name.lower(), "name": name},
            "data": {"group": "post-42", "summary": "liked your post"},
            "url": "/demo/test-bell.html#post-42",
        }
        for name in ("Eve", "Dee", "Cid", "Bob", "Ana")
    ]
    await publish_batch(app, [{"to": {"users": [user]}, "title": "Unrelated"}, *likes])
    bell = await open_bell(user, capture="1")
    await bell.open()
    await expect(bell.cards).to_have_count(2)
    group = bell.cards.first
    await expect(group.locator(".title-text")).to_have_text("Ana and 4 others liked your post")
    await expect(group.locator(".who")).to_have_text("Ana, Bob, Cid, Dee, and Eve")
    await expect(group.locator(".count")).to_have_count(0)  # "4 others" says it
    await expect(group.locator(".avatars.stacked .avatar")).to_have_count(2)
    await group.click()
    await expect(group).to_have_class("card prio-normal read")
    opened = await bell.page.evaluate("window.__opened")
    assert opened == [f"{app.url}/demo/test-bell.html#post-42"]
    page = await inbox(app, user)
    assert sorted(bool(item["read_at"]) for item in page["items"]) == [False] + [True] * 5
    assert page["counts"]["unread"] == 1


async def test_read_dismiss_mark_all_and_clear_all_persist(app: Running, open_bell: Opener) -> None:
    """Card click reads, dismiss archives, mark all / clear all: kept after a reload."""
    user = new_user("actions")
    for title in ("Alpha", "Bravo", "Charlie", "Delta"):
        await app.publish([user], title, actor=person("Carol"))
    bell = await open_bell(user)
    await bell.open()
    await expect(bell.cards).to_have_count(4)

    await bell.card("Bravo").click()  # no URL: read, and the dropdown stays
    await expect(bell.card("Bravo")).to_have_class("card prio-normal read")
    await expect(bell.badge).to_have_text("3")
    await bell.card("Charlie").hover()
    await bell.card("Charlie").locator(".dismiss").click()
    await expect(bell.card("Charlie")).to_have_count(0)
    await expect(bell.badge).to_have_text("2")

    stored = by_title(await inbox(app, user))
    assert set(stored) == {"Alpha", "Bravo", "Delta"}
    assert stored["Bravo"]["read_at"] and not stored["Alpha"]["read_at"]

    await bell.page.reload()
    await wait_ready(bell.page)
    await expect(bell.badge).to_have_text("2")
    await bell.open()
    await expect(bell.cards.locator(".title-text")).to_have_text(["Delta", "Bravo", "Alpha"])
    await expect(bell.card("Bravo")).to_have_class("card prio-normal read")

    await bell.page.locator("tocsin-bell .mark-all").click()
    await expect(bell.cards.and_(bell.page.locator(".unread"))).to_have_count(0)
    await expect(bell.badge).to_be_hidden()
    await expect(bell.page.locator("tocsin-bell .mark-all")).to_be_disabled()
    assert (await inbox(app, user))["counts"] == {"unread": 0, "unseen": 0}

    await bell.page.locator("tocsin-bell .clear-all").click()
    await expect(bell.cards).to_have_count(0)
    await expect(bell.page.locator("tocsin-bell .empty:not(.failed)")).to_be_visible()
    await expect(bell.page.locator("tocsin-bell .empty-title").first).to_have_text(
        "You're all caught up"
    )
    await bell.page.reload()
    await wait_ready(bell.page)
    await bell.open()
    await expect(bell.page.locator("tocsin-bell .empty:not(.failed)")).to_be_visible()
    assert (await inbox(app, user))["items"] == []


async def test_card_click_follows_only_safe_urls(app: Running, open_bell: Opener) -> None:
    """Same-origin paths are followed in place (after marking read); unsafe URLs never."""
    user = new_user("links")
    await publish_raw(app, user, title="Script URL", url="javascript:window.__xss=1")
    await publish_raw(app, user, title="Protocol relative", url="//127.0.0.1:9/x")
    await app.publish([user], "External", url="https://example.invalid/page")
    await app.publish([user], "Health", url="/healthz")
    bell = await open_bell(user, capture="1")
    await bell.open()
    await bell.card("Script URL").click()
    await bell.card("Protocol relative").click()
    await bell.card("External").click()
    await expect(bell.card("External")).to_have_class("card prio-normal read")
    opened = await bell.page.evaluate("window.__opened")
    assert opened == [None, None, "https://example.invalid/page"]
    assert await bell.page.evaluate("window.__xss") is None

    plain = await open_bell(user)  # no capture: the bell navigates by itself
    await plain.open()
    async with plain.page.expect_navigation():
        await plain.card("Health").click()
    assert plain.page.url == f"{app.url}/healthz"
    assert by_title(await inbox(app, user))["Health"]["read_at"]


async def test_infinite_scroll_loads_older_items(app: Running, open_bell: Opener) -> None:
    """The dropdown shows a first page, then older pages as it is scrolled."""
    user = new_user("scroll")
    await publish_batch(
        app, [{"to": {"users": [user]}, "title": f"Item {i:02}"} for i in range(45)]
    )
    bell = await open_bell(user)
    await bell.open()
    await expect(bell.cards).to_have_count(20)
    scroller = bell.page.locator("tocsin-bell .scroller")
    for expected in (40, 45):
        await scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
        await expect(bell.cards).to_have_count(expected)
    await expect(bell.cards.last.locator(".title-text")).to_have_text("Item 00")
    await expect(bell.page.locator("tocsin-bell .feed")).to_have_attribute("aria-busy", "false")
    await expect(bell.cards.first).to_have_attribute("aria-setsize", "45")


async def test_toasts_stack_pause_on_hover_and_dismiss(app: Running, open_bell: Opener) -> None:
    """Normal/high items toast (max 3, polite live region); hover pauses; low never toasts."""
    user = new_user("toasts")
    bell = await open_bell(user, toast="1200")
    region = bell.page.locator("tocsin-bell .toasts")
    await expect(region).to_have_attribute("aria-live", "polite")

    await app.publish([user], "Quiet one", priority="low")
    await app.publish([user], "First toast", body="Hello", actor=person("Bob"))
    await expect(bell.toasts).to_have_count(1)
    await expect(bell.toasts.first.locator(".title-text")).to_have_text("First toast")
    await expect(bell.badge).to_have_text("2")

    await bell.toasts.first.hover()
    for title in ("Second", "Third"):
        await app.publish([user], title, priority="high", actor=person("Carol"))
    await expect(bell.toasts).to_have_count(3)
    await bell.page.wait_for_timeout(1800)  # the others time out; the hovered one waits
    await expect(bell.toasts).to_have_count(1)
    await expect(bell.toasts.first.locator(".title-text")).to_have_text("First toast")
    await bell.page.mouse.move(5, 400)
    await expect(bell.toasts).to_have_count(0, timeout=4000)

    for title in ("T1", "T2", "T3", "T4"):
        await app.publish([user], title)
    await expect(bell.toasts.locator(".title-text")).to_have_text(["T2", "T3", "T4"])
    await bell.toasts.first.hover()
    await bell.toasts.first.locator(".close").click()
    await expect(bell.toasts.locator(".title-text")).to_have_text(["T3", "T4"])
    assert "Quiet one" not in await region.inner_text()


async def test_critical_opens_a_modal_that_traps_focus_until_acknowledged(
    app: Running, open_bell: Opener
) -> None:
    """Critical: an alertdialog; Tab stays inside, Escape does not close, Acknowledge reads."""
    user = new_user("critical")
    bell = await open_bell(user)
    await bell.page.focus("#after")
    await app.publish(
        [user],
        "Unusual sign-in",
        body="A new device signed in.",
        priority="critical",
        type="security",
        url="/demo/test-bell.html#security",
    )
    await expect(bell.modal).to_be_visible()
    await expect(bell.modal).to_have_attribute("role", "alertdialog")
    await expect(bell.modal).to_have_attribute("aria-live", "assertive")
    await expect(bell.modal.locator(".modal-title")).to_have_text("Unusual sign-in")
    assert await bell.focused() == "btn primary acknowledge"
    await app.publish([user], "Second alert", priority="critical")
    await expect(bell.modal.locator(".waiting")).to_have_text("1 more alert waiting")
    for _ in range(3):
        await bell.page.keyboard.press("Tab")
        assert await bell.focused() in {"btn open", "btn primary acknowledge"}
    await bell.page.keyboard.press("Shift+Tab")
    assert await bell.focused() in {"btn open", "btn primary acknowledge"}
    await bell.page.keyboard.press("Escape")
    await expect(bell.modal).to_be_visible()
    assert await bell.page.evaluate("document.activeElement.id") != "after"

    await bell.modal.locator(".acknowledge").click()
    await expect(bell.modal.locator(".modal-title")).to_have_text("Second alert")
    await bell.modal.locator(".acknowledge").click()
    await expect(bell.modal).to_be_hidden()
    assert await bell.page.evaluate("document.activeElement.id") == "after"
    stored = by_title(await inbox(app, user))
    assert stored["Unusual sign-in"]["read_at"] and stored["Second alert"]["read_at"]

    await app.publish([user], "Read elsewhere", priority="critical")
    await expect(bell.modal).to_be_visible()
    await mark(app, user, by_title(await inbox(app, user))["Read elsewhere"]["id"] + "/read")
    await expect(bell.modal).to_be_hidden()  # read on another device: the alert goes away


async def test_keyboard_tab_enter_arrows_escape(app: Running, open_bell: Opener) -> None:
    """Tab reaches the bell, Enter opens, arrows move between cards, Escape closes."""
    user = new_user("keys")
    for title in ("Oldest", "Middle", "Newest"):
        await app.publish([user], title)
    bell = await open_bell(user)
    await bell.page.focus("#before")
    await bell.page.keyboard.press("Tab")
    assert await bell.page.evaluate("document.activeElement.tagName") == "TOCSIN-BELL"
    assert await bell.focused() == "bell accent"
    await bell.page.keyboard.press("Enter")
    await expect(bell.panel).to_be_visible()
    await expect(bell.panel).to_have_attribute("role", "dialog")
    await expect(bell.page.locator("tocsin-bell [role=feed]")).to_have_count(1)
    assert await bell.cards.first.evaluate("c => c.tagName") == "ARTICLE"
    assert await bell.focused() == "Newest"
    await bell.page.keyboard.press("ArrowDown")
    assert await bell.focused() == "Middle"
    await bell.page.keyboard.press("ArrowDown")
    await bell.page.keyboard.press("ArrowDown")
    assert await bell.focused() == "Oldest"
    await bell.page.keyboard.press("ArrowUp")
    assert await bell.focused() == "Middle"
    await bell.page.keyboard.press("Home")
    assert await bell.focused() == "Newest"
    await bell.page.keyboard.press("Enter")  # reads it (no URL)
    await expect(bell.card("Newest")).to_have_class("card prio-normal read")
    await bell.page.keyboard.press("Escape")
    await expect(bell.panel).to_be_hidden()
    await expect(bell.button).to_have_attribute("aria-expanded", "false")
    assert await bell.focused() == "bell"
    await bell.page.keyboard.press("ArrowDown")  # opens too
    await expect(bell.panel).to_be_visible()
    await bell.page.keyboard.press("Escape")
    await bell.page.keyboard.press("Tab")
    assert await bell.page.evaluate("document.activeElement.id") == "after"


async def test_dropdown_fits_a_phone_screen(
    app: Running, chromium: Browser, open_bell: Opener
) -> None:
    """On a narrow screen the dropdown becomes a sheet inside the viewport, under the bell."""
    user = new_user("phone")
    await app.publish([user], "Small screens too", body="x " * 80, actor=person("Dave"))
    ctx = await chromium.new_context(viewport={"width": 375, "height": 700}, has_touch=True)
    try:
        bell = await open_bell(user, ctx)
        await bell.open()
        box = await bell.panel.bounding_box()
        button = await bell.button.bounding_box()
        assert box is not None and button is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert box["y"] >= button["y"] + button["height"]
        await expect(bell.cards.first.locator(".dismiss")).to_have_css("opacity", "1")
    finally:
        await ctx.close()


# Text that would run script if it were ever parsed as HTML, or followed as a URL.
XSS_TEXT = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '"><svg onload="window.__xss=3">',
    "'><img src=x onerror=window.__xss=4>",
    "</title><script>window.__xss=5</script>",
    "</style><script>window.__xss=6</script>",
    '<iframe srcdoc="<script>parent.__xss=7</script>"></iframe>',
    "{{constructor.constructor('window.__xss=8')()}}",
    "${window.__xss=9}",
    '<a href="javascript:window.__xss=10">click me</a>',
    "\u202e<img src=x onerror=window.__xss=11>",
    '<details open ontoggle="window.__xss=12">',
    "&lt;img src=x onerror=window.__xss=13&gt;",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=14>",
    '<svg><animate onbegin="window.__xss=15" attributeName=x dur=1s>',
    '<input autofocus onfocus="window.__xss=16">',
    "\uff1cscript\uff1ewindow.__xss=17\uff1c/script\uff1e",
    "<scr\u200bipt>window.__xss=18</scr\u200bipt>",
    "<img src=x onerror=alert(19)>",
    "<template><img src=x onerror=window.__xss=20></template>",
    '<!--<img src="--><img src=x onerror=window.__xss=21>">',
    "\u2028<style>*{background:url(javascript:window.__xss=22)}</style>",
]
XSS_URLS = [
    "javascript:window.__xss=30",
    "JaVaScRiPt:window.__xss=31",
    " javascript:window.__xss=32",
    "java\tscript:window.__xss=33",
    "data:text/html,<script>window.__xss=34</script>",
    "vbscript:msgbox(35)",
    "//127.0.0.1:9/evil",
    "/\\127.0.0.1:9/evil",
    "\uff4aavascript:window.__xss=36",
]
XSS_AVATARS = [
    "javascript:window.__xss=40",
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='parent.__xss=41'/>",
]


async def test_xss_corpus_is_shown_as_text_and_never_runs(app: Running, open_bell: Opener) -> None:
    """Markup, script URLs and breakouts in every field: shown literally, never executed."""
    user = new_user("xss")
    n = len(XSS_TEXT)
    await publish_batch(
        app,
        [
            {
                "to": {"users": [user]},
                "title": XSS_TEXT[i],
                "body": XSS_TEXT[(i + 7) % n],
                "actor": {"id": f"a{i}", "name": XSS_TEXT[(i + 3) % n]},
                "priority": "low",
            }
            for i in range(n)
        ]
        + [
            {  # accepted by the server, harmless as an attribute value
                "to": {"users": [user]},
                "title": "Quoted avatar and path",
                "url": '/"><script>window.__xss=37</script>',
                "actor": {
                    "id": "q",
                    "name": "Q",
                    "avatar": 'https://127.0.0.1:9/a.png" onerror="window.__xss=42',
                },
                "priority": "low",
            },
            {  # a group whose summary and source are payloads too
                "to": {"users": [user]},
                "title": "g1",
                "actor": {"id": "g1", "name": "G1"},
                "data": {"group": "<g>", "summary": XSS_TEXT[0]},
                "priority": "low",
            },
            {
                "to": {"users": [user]},
                "title": "g2",
                "actor": {"id": "g2", "name": "G2"},
                "data": {"group": "<g>", "summary": XSS_TEXT[0]},
                "priority": "low",
            },
            {
                "to": {"users": [user]},
                "title": "Sourced",
                "data": {"source": XSS_TEXT[1]},
                "priority": "low",
            },
        ],
    )
    for i, url in enumerate(XSS_URLS):
        await publish_raw(app, user, title=f"url {i}", url=url, priority="low")
    for i, avatar in enumerate(XSS_AVATARS):
        await publish_raw(
            app,
            user,
            title=f"avatar {i}",
            actor={"id": f"v{i}", "name": "V", "avatar": avatar},
            priority="low",
        )

    bell = await open_bell(user, capture="1")
    await bell.open()
    total = n + 3 + len(XSS_URLS) + len(XSS_AVATARS)  # the two group items make one card
    scroller = bell.page.locator("tocsin-bell .scroller")
    for _ in range(5):
        await scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
        if await bell.cards.count() == total:
            break
        await bell.page.wait_for_timeout(150)
    await expect(bell.cards).to_have_count(total)

    titles = await bell.cards.locator(".title-text").all_text_contents()
    bodies = await bell.cards.locator(".body").all_text_contents()
    names = await bell.cards.locator(".who").all_text_contents()
    for payload in XSS_TEXT:
        assert payload in titles, payload
        assert payload in bodies, payload
        assert payload in names, payload
    assert f"G2 and G1 {XSS_TEXT[0]}" in titles
    assert XSS_TEXT[1] in names

    # Live paths: a toast and the critical modal.
    await bell.page.keyboard.press("Escape")
    await app.publish([user], XSS_TEXT[2], body=XSS_TEXT[0], actor={"id": "t", "name": XSS_TEXT[1]})
    toast = bell.toasts.first
    await expect(toast.locator(".title-text")).to_have_text(XSS_TEXT[2])
    await expect(toast.locator(".body")).to_have_text(XSS_TEXT[0])
    await expect(toast.locator(".who")).to_have_text(XSS_TEXT[1])
    await toast.hover()
    await app.publish(
        [user],
        XSS_TEXT[3],
        body=XSS_TEXT[4],
        priority="critical",
        actor={"id": "m", "name": XSS_TEXT[5]},
    )
    await expect(bell.modal.locator(".modal-title")).to_have_text(XSS_TEXT[3])
    await expect(bell.modal.locator(".modal-body")).to_have_text(XSS_TEXT[4])
    await expect(bell.modal.locator(".who")).to_have_text(XSS_TEXT[5])
    await bell.modal.locator(".acknowledge").click()
    await expect(bell.modal).to_be_hidden()

    await bell.open()
    for i in range(len(XSS_URLS)):
        await bell.card(f"url {i}").click()
    await bell.card("Quoted avatar and path").click()
    await bell.cards.first.hover()
    await bell.page.wait_for_timeout(300)  # let failing images fire their error events
    opened = await bell.page.evaluate("window.__opened")
    assert opened[: len(XSS_URLS)] == [None] * len(XSS_URLS)
    assert opened[-1] == f"{app.url}/%22%3E%3Cscript%3Ewindow.__xss=37%3C/script%3E"

    injected = await bell.shadow(
        "[...root.querySelectorAll('script, iframe, object, embed, details, input, math, a, style,"
        " template, svg:not(.icon), img:not(.avatar)')].map(e => e.outerHTML)"
    )
    assert injected == []
    sources = await bell.shadow("[...root.querySelectorAll('img')].map(i => i.getAttribute('src'))")
    assert all(src.startswith(("http://", "https://")) for src in sources), sources
    assert await bell.page.evaluate("window.__xss") is None
    assert bell.dialogs == []
    in_page = await bell.page.evaluate(
        "document.querySelectorAll('body script:not([type=module]), body img, body iframe').length"
    )
    assert in_page == 0


async def test_desktop_notification_when_the_tab_is_hidden(
    app: Running, chromium: Browser, open_bell: Opener
) -> None:
    """Hidden tab + permission: a system notification; its click opens the item and reads it."""
    user = new_user("desktop")
    ctx = await chromium.new_context(viewport=VIEWPORT)
    try:
        await ctx.grant_permissions(["notifications"], origin=app.url)
        await ctx.add_init_script(RECORD_NOTIFICATIONS)
        bell = await open_bell(user, ctx, capture="1")
        await bell.open()
        await expect(bell.page.locator("tocsin-bell .enable-desktop")).to_be_hidden()
        await bell.page.keyboard.press("Escape")

        await app.publish([user], "Visible tab", actor=person("Bob"))
        await expect(bell.toasts).to_have_count(1)
        assert await bell.page.evaluate("window.__notes.length") == 0

        await bell.page.evaluate(HIDE_TAB)
        await app.publish([user], "Low stays quiet", priority="low")
        await app.publish(
            [user],
            "Hidden tab",
            body="See this",
            actor=person("Carol"),
            url="/demo/test-bell.html#x",
        )
        await bell.page.wait_for_function("window.__notes.length === 1")
        note = (await bell.page.evaluate("window.__notes"))[0]
        assert note["title"] == "Hidden tab"
        assert note["body"] == "Carol: See this"
        assert note["icon"] == f"{app.url}/demo/avatars/carol.svg"
        assert "error" not in note
        await expect(
            bell.page.locator("tocsin-bell .toast .title-text", has_text="Hidden tab")
        ).to_have_count(0)

        await bell.page.evaluate("window.__lastNote.onclick(new Event('click'))")
        await bell.page.wait_for_function("window.__opened.length === 1")
        assert await bell.page.evaluate("window.__opened") == [f"{app.url}/demo/test-bell.html#x"]
        for _ in range(50):
            if by_title(await inbox(app, user))["Hidden tab"]["read_at"]:
                break
            await asyncio.sleep(0.1)
        assert by_title(await inbox(app, user))["Hidden tab"]["read_at"]
    finally:
        await ctx.close()


async def test_enable_desktop_button_asks_permission_from_the_click(
    app: Running, context: BrowserContext, open_bell: Opener
) -> None:
    """The 'Enable desktop notifications' button shows while permission is undecided."""
    await context.add_init_script("window.__permission = 'default';" + RECORD_NOTIFICATIONS)
    bell = await open_bell(new_user("perm"))
    await bell.open()
    button = bell.page.locator("tocsin-bell .enable-desktop")
    await expect(button).to_have_text("Enable desktop notifications")
    assert await bell.page.evaluate("window.__asked") is None  # never asked without a gesture
    await button.click()
    await expect(button).to_be_hidden()
    assert await bell.page.evaluate("window.__asked") == {"withGesture": True}


async def test_french_from_the_browser_language(
    app: Running, chromium: Browser, open_bell: Opener
) -> None:
    """Without a locale attribute the bell speaks the browser's language."""
    user = new_user("fr")
    await app.publish([user], "Maintenance ce soir", type="system")
    ctx = await chromium.new_context(viewport=VIEWPORT, locale="fr-FR")
    try:
        bell = await open_bell(user, ctx)
        await expect(bell.button).to_have_attribute("aria-label", "Notifications, 1 non lue")
        await bell.open()
        await expect(bell.page.locator("tocsin-bell .mark-all")).to_have_text(
            "Tout marquer comme lu"
        )
        await expect(bell.cards.first.locator(".who")).to_have_text("Alerte système")
        await expect(bell.cards.first.locator("time")).to_have_text("maintenant")
        await bell.page.evaluate("bell.locale = 'en'")
        await expect(bell.page.locator("tocsin-bell .mark-all")).to_have_text("Mark all as read")
    finally:
        await ctx.close()


async def test_screenshots(app: Running, chromium: Browser, open_bell: Opener) -> None:
    """The main states, saved to docs/screenshots for the README (and for a look by a human)."""
    user = new_user("shots")
    likes = [
        {
            "type": "like",
            "title": f"{name} liked your photo",
            "actor": person(name),
            "data": {"group": "photo-7", "summary": "liked your photo"},
        }
        for name in ("Erin", "Dave", "Bob", "Carol", "Alice")
    ]
    await publish_batch(
        app,
        [
            {"to": {"users": [user]}, **fields}
            for fields in [
                {"type": "system", "title": "Your weekly summary is ready", "priority": "low"},
                {
                    "type": "friend_request",
                    "title": "Dave sent you a friend request",
                    "actor": person("Dave"),
                },
                {
                    "type": "security",
                    "title": "New sign-in from Firefox on Linux",
                    "body": "Lyon, France. If this was not you, secure your account now.",
                    "priority": "high",
                },
                *likes,
                {
                    "type": "comment",
                    "title": "Bob commented on your photo",
                    "body": "What a view! Where was this taken? I want to go there next summer.",
                    "actor": person("Bob"),
                },
            ]
        ],
    )
    await mark(app, user, "seen-all")
    await publish_batch(
        app,
        [
            {
                "to": {"users": [user]},
                "type": "message",
                "title": "Carol sent you a message",
                "body": "Are we still on for Friday? I booked the table for 8.",
                "actor": person("Carol"),
            }
        ],
    )
    light = await chromium.new_context(viewport=VIEWPORT, color_scheme="light")
    dark = await chromium.new_context(viewport=VIEWPORT, color_scheme="dark")
    try:
        bell = await open_bell(user, light, toast="60000", name="Alex Morgan")
        await shoot(
            bell.page, "bell-badge.png", clip={"x": 760, "y": 0, "width": 340, "height": 60}
        )
        await bell.open()
        await shoot(bell.page, "dropdown-light.png")

        night = await open_bell(user, dark, name="Alex Morgan")
        await night.open()
        surface = await night.panel.evaluate("p => getComputedStyle(p).backgroundColor")
        assert surface == "rgb(24, 26, 33)"
        await shoot(night.page, "dropdown-dark.png")

        await bell.page.bring_to_front()
        await bell.page.keyboard.press("Escape")
        await bell.page.locator("#after").click()
        await app.publish(
            [user],
            "Erin mentioned you in “Trip planning”",
            type="mention",
            body="@alex can you bring the tent and the big stove?",
            actor=person("Erin"),
        )
        await app.publish(
            [user],
            "Bob sent you a message",
            type="message",
            body="Running 5 minutes late, sorry!",
            actor=person("Bob"),
            priority="high",
        )
        await expect(bell.toasts).to_have_count(2)
        await shoot(bell.page, "toast.png")
        await app.publish(
            [user],
            "Unusual sign-in blocked",
            type="security",
            body="We blocked a sign-in attempt from a new device in São Paulo, Brazil. "
            "If this was you, approve it from your security settings.",
            priority="critical",
            url="/demo/test-bell.html#security",
            data={"source": "Security"},
        )
        await expect(bell.modal).to_be_visible()
        await shoot(bell.page, "critical-modal.png")
        await bell.modal.locator(".acknowledge").click()
        await expect(bell.modal).to_be_hidden()
    finally:
        await light.close()
        await dark.close()


async def test_demo_app_two_people_see_notifications_live(
    chromium: Browser, tmp_path: Path
) -> None:
    """The demo at /: two windows as two people; likes, a broadcast and an alert arrive live."""
    # A server of its own: the maintenance notice goes to everyone.
    async with run_server(make_settings(tmp_path, demo=True)) as demo:
        ctx = await chromium.new_context(viewport={"width": 1200, "height": 760})
        errors: list[str] = []
        try:
            pages = {}
            for name in ("alice", "bob"):
                page = await ctx.new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(f"{demo.url}/")
                await page.locator(f"#people button[data-user={name}]").click()
                await expect(page.locator("#live")).to_have_attribute("data-state", "connected")
                pages[name] = page
            alice, bob = pages["alice"], pages["bob"]
            await alice.bring_to_front()  # a background tab gets no animation frames
            await expect(alice.locator("#me-name")).to_have_text("Alice")
            await expect(alice.locator("#actors [data-actor=alice]")).to_have_count(0)

            await alice.locator("[data-actor=bob][data-action=like]").click()
            await expect(alice.locator("tocsin-bell .badge")).to_have_text("1")
            await expect(alice.locator("tocsin-bell .toast .who")).to_have_text("Bob")
            await expect(bob.locator("tocsin-bell .badge")).to_be_hidden()
            await alice.locator("[data-actor=carol][data-action=comment]").click()
            await alice.locator("[data-actor=dave][data-action=friend_request]").click()
            await alice.locator("[data-actor=erin][data-action=message]").click()
            await expect(alice.locator("tocsin-bell .badge")).to_have_text("4")
            await alice.mouse.move(400, 700)
            await shoot(alice, "demo.png")

            await alice.locator("[data-admin=maintenance]").click()
            await expect(bob.locator("tocsin-bell .badge")).to_have_text("1")
            await expect(alice.locator("tocsin-bell .badge")).to_have_text("5")

            await alice.locator("[data-admin=system_alert]").click()
            modal = alice.locator("tocsin-bell dialog.modal")
            await expect(modal).to_be_visible()
            await modal.locator(".acknowledge").click()
            await expect(modal).to_be_hidden()
            await expect(bob.locator("tocsin-bell .badge")).to_have_text("1")  # alerts are personal

            await alice.reload()  # the window keeps its person
            await expect(alice.locator("#me-name")).to_have_text("Alice")
            await expect(alice.locator("tocsin-bell .badge")).to_have_text("5")
        finally:
            await ctx.close()
        assert errors == [], errors
