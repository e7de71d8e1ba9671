"""Every storage backend keeps the same promises (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tocsin.errors import Conflict
from tocsin.models import Audience, Draft, Mark, Published, PublishRequest, now_ms
from tocsin.storage import Storage, open_storage

DAY = 86_400_000


def request(
    *users: str, title: str = "t", key: str | None = None, fingerprint: str = "f", **kw: object
) -> PublishRequest:
    audience = Audience(everyone=True) if not users else Audience(users=users)
    draft = Draft(audience=audience, type="message", title=title, **kw)  # type: ignore[arg-type]
    return PublishRequest(
        drafts=(draft,), sender="key_1", idempotency_key=key, fingerprint=fingerprint
    )


async def publish(storage: Storage, *requests: PublishRequest) -> list[Published]:
    outcomes = await storage.publish(list(requests), now=now_ms(), idempotency_ttl_ms=DAY)
    assert all(isinstance(outcome, Published) for outcome in outcomes), outcomes
    return outcomes  # type: ignore[return-value]


async def test_seq_increases_across_events_and_batches(storage: Storage) -> None:
    """Each stored event gets the next global seq; current_seq reports the highest."""
    first = await publish(storage, request("a"), request("b"))
    second = await publish(storage, request("a"))
    seqs = [event.seq for outcome in first + second for event in outcome.events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    assert await storage.current_seq() == seqs[-1]


async def test_replay_returns_only_the_users_items_in_range(storage: Storage) -> None:
    """replay(after, upto) yields the user's items with after < seq <= upto, oldest first."""
    outcomes = await publish(
        storage, *(request("a" if i % 2 else "b", title=str(i)) for i in range(10))
    )
    seqs_a = [o.events[0].seq for i, o in enumerate(outcomes) if i % 2]
    top = await storage.current_seq()
    items = await storage.replay("a", after=seqs_a[1], upto=top, limit=100)
    assert [item.event.seq for item in items] == seqs_a[2:]
    limited = await storage.replay("a", after=0, upto=seqs_a[2], limit=2)
    assert [item.event.seq for item in limited] == seqs_a[:2]


async def test_broadcast_is_stored_once_and_seen_by_every_user(storage: Storage) -> None:
    """An everyone event is part of every user's feed, with per-user state."""
    [outcome] = await publish(storage, request(title="all"))
    event = outcome.events[0]
    for user in ("x", "y"):
        assert [
            i.event.id for i in await storage.replay(user, after=0, upto=event.seq, limit=10)
        ] == [event.id]
        assert (await storage.counts(user, now=now_ms())).unread == 1
    change = await storage.mark("x", Mark.READ, event.id, now=now_ms())
    assert change is not None
    assert change.counts.unread == 0
    assert (await storage.counts("y", now=now_ms())).unread == 1
    item = await storage.get_item("x", event.id, now=now_ms())
    assert item is not None
    assert item.read_at is not None


async def test_list_pages_newest_first_with_unread_filter(storage: Storage) -> None:
    """list_items pages by seq descending and can keep only unread items."""
    outcomes = await publish(storage, *(request("a", title=str(i)) for i in range(7)))
    ids = [o.events[0].id for o in outcomes]
    page = await storage.list_items("a", before=None, limit=4, unread_only=False, now=now_ms())
    assert [i.event.id for i in page] == ids[::-1][:4]
    rest = await storage.list_items(
        "a", before=page[-1].event.seq, limit=4, unread_only=False, now=now_ms()
    )
    assert [i.event.id for i in rest] == ids[::-1][4:]
    await storage.mark("a", Mark.READ, ids[6], now=now_ms())
    unread = await storage.list_items("a", before=None, limit=10, unread_only=True, now=now_ms())
    assert ids[6] not in [i.event.id for i in unread]
    assert len(unread) == 6


async def test_marks_set_timestamps_and_counts(storage: Storage) -> None:
    """seen/read/unread/archived change state as timestamps and update unread/unseen counts."""
    outcomes = await publish(storage, request("a"), request("a"), request("a"))
    first, second, third = (o.events[0].id for o in outcomes)
    now = now_ms()
    assert (await storage.counts("a", now=now)).unread == 3
    change = await storage.mark("a", Mark.SEEN, first, now=now)
    assert change is not None
    assert (change.counts.unread, change.counts.unseen) == (3, 2)
    change = await storage.mark("a", Mark.READ, second, now=now)
    assert change is not None
    assert (change.counts.unread, change.counts.unseen) == (2, 1)
    change = await storage.mark("a", Mark.UNREAD, second, now=now)
    assert change is not None
    assert change.counts.unread == 3
    change = await storage.mark("a", Mark.ARCHIVED, third, now=now)
    assert change is not None
    assert (change.counts.unread, change.counts.unseen) == (2, 0)
    listed = await storage.list_items("a", before=None, limit=10, unread_only=False, now=now)
    assert third not in [i.event.id for i in listed]
    change = await storage.mark("a", Mark.READ, None, now=now)
    assert change is not None
    assert change.ids is None
    assert (change.counts.unread, change.counts.unseen) == (0, 0)
    change = await storage.mark("a", Mark.ARCHIVED, None, now=now)
    assert change is not None
    assert await storage.list_items("a", before=None, limit=10, unread_only=False, now=now) == []


async def test_marking_someone_elses_item_changes_nothing(storage: Storage) -> None:
    """An id that is not the user's is unknown to them (None), and the owner's state holds."""
    [outcome] = await publish(storage, request("owner"))
    item_id = outcome.events[0].id
    assert await storage.mark("intruder", Mark.READ, item_id, now=now_ms()) is None
    assert await storage.mark("intruder", Mark.ARCHIVED, "no-such-id", now=now_ms()) is None
    assert await storage.get_item("intruder", item_id, now=now_ms()) is None
    assert (await storage.counts("owner", now=now_ms())).unread == 1


async def test_expired_items_are_not_listed_counted_or_replayed(storage: Storage) -> None:
    """Items past expires_at leave lists, counts and replays."""
    now = now_ms()
    await publish(
        storage,
        request("a", title="old", expires_at=now - 1000),
        request("a", title="new", expires_at=now + DAY),
    )
    listed = await storage.list_items("a", before=None, limit=10, unread_only=False, now=now)
    assert [i.event.title for i in listed] == ["new"]
    assert (await storage.counts("a", now=now)).unread == 1
    replayed = await storage.replay("a", after=0, upto=await storage.current_seq(), limit=10)
    assert [i.event.title for i in replayed] == ["new"]


async def test_idempotency_key_stores_once_and_detects_a_different_body(storage: Storage) -> None:
    """A repeated key returns the first events; a different body under it is a Conflict."""
    [first] = await publish(storage, request("a", key="k1"))
    [again] = await publish(storage, request("a", key="k1"))
    assert again.replayed
    assert [e.id for e in again.events] == [e.id for e in first.events]
    [conflict] = await storage.publish(
        [request("a", key="k1", fingerprint="other")], now=now_ms(), idempotency_ttl_ms=DAY
    )
    assert isinstance(conflict, Conflict)
    same_batch = await storage.publish(
        [request("a", key="k2"), request("a", key="k2"), request("a", key="k2", fingerprint="x")],
        now=now_ms(),
        idempotency_ttl_ms=DAY,
    )
    assert isinstance(same_batch[0], Published)
    assert isinstance(same_batch[1], Published)
    assert same_batch[1].replayed
    assert same_batch[1].events[0].id == same_batch[0].events[0].id
    assert isinstance(same_batch[2], Conflict)
    assert (
        len(await storage.list_items("a", before=None, limit=10, unread_only=False, now=now_ms()))
        == 2
    )


async def test_idempotency_keys_expire(storage: Storage) -> None:
    """After the retention window the same key stores a new notification."""
    now = now_ms()
    [first] = await storage.publish(
        [request("a", key="k")], now=now - 2 * DAY, idempotency_ttl_ms=DAY
    )
    [second] = await storage.publish([request("a", key="k")], now=now, idempotency_ttl_ms=DAY)
    assert isinstance(first, Published)
    assert isinstance(second, Published)
    assert not second.replayed
    assert second.events[0].id != first.events[0].id


async def test_api_keys_create_find_list_revoke(storage: Storage) -> None:
    """API keys are found by secret hash until revoked."""
    key = await storage.create_api_key("backend", "hash-1", now=now_ms())
    found = await storage.find_api_key("hash-1")
    assert found is not None
    assert found.id == key.id
    assert await storage.find_api_key("hash-2") is None
    assert [k.name for k in await storage.list_api_keys()] == ["backend"]
    assert await storage.revoke_api_key(key.id, now=now_ms())
    assert not await storage.revoke_api_key(key.id, now=now_ms())
    assert await storage.find_api_key("hash-1") is None


async def test_concurrent_publishers_commit_in_seq_order(database_url: str) -> None:
    """A reader resuming after the last seq it saw never misses one committed later.

    On PostgreSQL concurrent transactions could commit sequence values out of order; the
    counter row lock must prevent a client that resumed after N from missing N-1.
    """
    stores = [open_storage(database_url) for _ in range(4)]
    for store in stores:
        await store.open()
    reader = stores[0]
    stop = asyncio.Event()
    violations: list[str] = []

    async def writer(store: Storage, index: int) -> None:
        for i in range(40):
            await store.publish(
                [request("u", title=f"{index}-{i}")], now=now_ms(), idempotency_ttl_ms=DAY
            )

    async def follow() -> None:
        # Like a client: after each read, resume from the highest seq received so far.
        cursor = 0
        seen: list[int] = []
        while not stop.is_set():
            items = await reader.replay("u", after=cursor, upto=2**62, limit=10_000)
            seen.extend(item.event.seq for item in items)
            if items:
                cursor = items[-1].event.seq
            await asyncio.sleep(0)
        seen.extend(
            i.event.seq for i in await reader.replay("u", after=cursor, upto=2**62, limit=10_000)
        )
        everything = await reader.replay("u", after=0, upto=2**62, limit=10_000)
        if seen != [item.event.seq for item in everything]:
            violations.append(
                f"the follower missed {sorted(set(i.event.seq for i in everything) - set(seen))}"
            )

    try:
        follower = asyncio.create_task(follow())
        await asyncio.gather(*(writer(store, index) for index, store in enumerate(stores[1:])))
        stop.set()
        await follower
    finally:
        for store in stores:
            await store.close()
    assert violations == []


@pytest.mark.postgres
async def test_postgres_counter_lock_serialises_concurrent_transactions(pg_url: str) -> None:
    """While one transaction holds a seq uncommitted, a later one cannot commit a higher seq."""
    import psycopg

    first_store = open_storage(pg_url)
    await first_store.open()  # creates the schema
    await first_store.close()
    async with (
        await psycopg.AsyncConnection.connect(pg_url) as slow,
        await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as fast,
    ):
        await slow.execute("UPDATE tocsin_counters SET value = value + 1 WHERE name = 'seq'")
        blocked = asyncio.create_task(
            fast.execute(
                "UPDATE tocsin_counters SET value = value + 1 WHERE name = 'seq' RETURNING value"
            )
        )
        await asyncio.sleep(0.3)
        assert not blocked.done()  # waits for the first transaction's row lock
        await slow.commit()
        cursor = await asyncio.wait_for(blocked, 5)
        row = await cursor.fetchone()
        assert row is not None
        assert row[0] == 2


async def test_repeats_in_one_batch_are_judged_against_the_stored_body(storage: Storage) -> None:
    """In one batch, a request with the stored body replays even after a conflicting one."""
    [first] = await publish(storage, request("a", key="k3"))
    outcomes = await storage.publish(
        [request("a", key="k3", fingerprint="other"), request("a", key="k3")],
        now=now_ms(),
        idempotency_ttl_ms=DAY,
    )
    assert isinstance(outcomes[0], Conflict)
    assert isinstance(outcomes[1], Published)
    assert outcomes[1].replayed
    assert [e.id for e in outcomes[1].events] == [e.id for e in first.events]


async def test_snapshot_reads_the_seq_and_each_users_counts_together(storage: Storage) -> None:
    """snapshot(users) gives the committed seq and per-user counts, in the users' order."""
    assert await storage.snapshot([], now=now_ms()) == (await storage.current_seq(), [])
    await publish(storage, request("a"), request("a"), request("b"), request(title="all"))
    seq, counts = await storage.snapshot(["a", "b", "nobody", "a"], now=now_ms())
    assert seq == await storage.current_seq()
    assert [c.unread for c in counts] == [3, 2, 1, 3]
    assert [c.unseen for c in counts] == [3, 2, 1, 3]
    await storage.mark("a", Mark.READ, None, now=now_ms())
    _, after = await storage.snapshot(["a", "b"], now=now_ms())
    assert [c.unread for c in after] == [0, 2]


async def test_a_ticket_is_spent_once(storage: Storage) -> None:
    """spend_tickets answers True for a first use, False for any later one, even in one call."""
    later = now_ms() + 60_000
    spent = await storage.spend_tickets([("t1", later), ("t2", later), ("t1", later)], now=now_ms())
    assert spent == [True, True, False]
    assert await storage.spend_tickets([("t2", later), ("t3", later)], now=now_ms()) == [
        False,
        True,
    ]


async def test_an_expired_ticket_is_refused_even_if_never_spent(storage: Storage) -> None:
    """A ticket that expired while it waited is refused, spent before or not; the answers
    keep the callers' order whatever order the tickets are stored in."""
    now = now_ms()
    assert await storage.spend_tickets([("zz", now + 10), ("aa", now + 10)], now=now) == [
        True,
        True,
    ]
    assert await storage.spend_tickets([("zz", now + 10)], now=now + 5) == [False]
    late = [("zz", now + 10), ("new", now + 10), ("b", now + 99), ("a", now + 99), ("b", now + 99)]
    assert await storage.spend_tickets(late, now=now + 20) == [False, False, True, True, False]


async def test_events_in_a_range_name_only_the_asked_users_among_their_recipients(
    storage: Storage,
) -> None:
    """events(after, upto, users) gives every event in the range, oldest first, each with
    its recipients narrowed to the given users; a broadcast stays one for everyone."""
    outcomes = await publish(
        storage,
        request("a", "b", title="ab"),
        request("c", title="c"),
        request(title="all"),
        request("b", "a", "d", title="bad"),
        request("z", title="z"),
    )
    seqs = [outcome.events[0].seq for outcome in outcomes]
    found = await storage.events(after=seqs[0] - 1, upto=seqs[3], limit=100, users=["a", "d"])
    assert [event.seq for event in found] == seqs[:4]
    assert [event.title for event in found] == ["ab", "c", "all", "bad"]
    assert [sorted(event.audience.users) for event in found] == [["a"], [], [], ["a", "d"]]
    assert [event.audience.everyone for event in found] == [False, False, True, False]
    page = await storage.events(after=seqs[0], upto=seqs[-1], limit=2, users=[])
    assert [event.seq for event in page] == seqs[1:3]
    many = [f"user{index}" for index in range(1_200)] + ["z"]  # over one statement's share
    [last] = await storage.events(after=seqs[3], upto=seqs[4], limit=10, users=many)
    assert last.audience.users == ("z",)
    assert await storage.events(after=seqs[-1], upto=seqs[-1] + 5, limit=10, users=["a"]) == []


async def test_the_database_id_is_stable_and_differs_between_databases(
    storage: Storage, tmp_path: Path
) -> None:
    """database_id() is the same on every read and for every node on this database, and
    another database has another."""
    first = await storage.database_id()
    assert first == await storage.database_id()
    assert len(first) == 16 and int(first, 16) > 0
    other = open_storage(f"sqlite:///{tmp_path / 'other.db'}")
    await other.open()
    try:
        assert await other.database_id() != first
    finally:
        await other.close()
