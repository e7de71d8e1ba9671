"""The storage logic written once in portable SQL, over a small async database adapter.

Backends (``sqlite.py``, ``postgres.py``) only supply a ``Database``: how to open
connections, run a statement and hold a transaction. Statements use ``:name`` parameters.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from tocsin.errors import Conflict, StorageError, TocsinError
from tocsin.ids import new_id
from tocsin.models import (
    Actor,
    ApiKey,
    Audience,
    Counts,
    Draft,
    Event,
    Item,
    Mark,
    Priority,
    Published,
    PublishRequest,
    StateChange,
    now_ms,
)
from tocsin.storage.base import Storage

Row = tuple[Any, ...]
Params = Mapping[str, Any]


class Session(abc.ABC):
    """Statements inside one transaction or one read."""

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params | None = None) -> None: ...

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @abc.abstractmethod
    async def fetch_each(self, statements: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        """Each statement's rows, in one trip, all read from one snapshot of the database
        (outside a transaction, they run in a read-only one of their own)."""


class Database(abc.ABC):
    """Connections of one backend."""

    url: str

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """A write transaction, committed on exit (rolled back on error)."""

    @abc.abstractmethod
    def reader(self) -> AbstractAsyncContextManager[Session]:
        """A read-only unit of work."""


EVENT_COLUMNS = (
    "e.seq, e.id, e.everyone, e.type, e.title, e.body, e.priority, e.url, e.actor, e.data, "
    "e.created_at, e.expires_at, e.sender"
)
ITEM_COLUMNS = EVENT_COLUMNS + ", i.seen_at, i.read_at, i.archived_at"

# A user's feed is the union of their direct items and the broadcast events (with the
# user's state row, if any). {d} and {b} are extra conditions on each branch.
DIRECT = (
    f"SELECT {ITEM_COLUMNS} FROM items i JOIN events e ON e.seq = i.seq "
    "WHERE i.user_id = :user AND i.direct {d}"
)
BROADCAST = (
    f"SELECT {ITEM_COLUMNS} FROM events e "
    "LEFT JOIN items i ON i.user_id = :user AND i.seq = e.seq WHERE e.everyone {b}"
)
VISIBLE_D = "AND i.archived_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > :now)"
VISIBLE_B = "AND i.archived_at IS NULL AND (e.expires_at IS NULL OR e.expires_at > :now)"


def _feed(direct: str, broadcast: str, order: str) -> str:
    return (
        f"SELECT * FROM ({DIRECT.format(d=direct)} ORDER BY i.seq {order} LIMIT :limit) AS d "
        f"UNION ALL "
        f"SELECT * FROM ({BROADCAST.format(b=broadcast)} ORDER BY e.seq {order} LIMIT :limit) AS b "
        f"ORDER BY seq {order} LIMIT :limit"
    )


REPLAY = _feed(
    VISIBLE_D + " AND i.seq > :after AND i.seq <= :upto",
    VISIBLE_B + " AND e.seq > :after AND e.seq <= :upto",
    "ASC",
)
LIST_ALL = _feed(VISIBLE_D + " AND i.seq < :before", VISIBLE_B + " AND e.seq < :before", "DESC")
LIST_UNREAD = _feed(
    VISIBLE_D + " AND i.seq < :before AND i.read_at IS NULL",
    VISIBLE_B + " AND e.seq < :before AND i.read_at IS NULL",
    "DESC",
)
GET_ITEM = f"{DIRECT.format(d='AND e.id = :id')} UNION ALL {BROADCAST.format(b='AND e.id = :id')}"

COUNT_D = (
    "SELECT count(*) FROM items i WHERE i.user_id = :user AND i.direct "
    "AND i.archived_at IS NULL AND i.{col} IS NULL "
    "AND (i.expires_at IS NULL OR i.expires_at > :now)"
)
COUNT_B = (
    "SELECT count(*) FROM events e LEFT JOIN items i ON i.user_id = :user AND i.seq = e.seq "
    "WHERE e.everyone AND i.archived_at IS NULL AND i.{col} IS NULL "
    "AND (e.expires_at IS NULL OR e.expires_at > :now)"
)
COUNTS = (
    f"SELECT ({COUNT_D.format(col='read_at')}) + ({COUNT_B.format(col='read_at')}), "
    f"({COUNT_D.format(col='seen_at')}) + ({COUNT_B.format(col='seen_at')})"
)

EVENTS_BETWEEN = (
    f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.seq > :after AND e.seq <= :upto "
    "ORDER BY e.seq LIMIT :limit"
)
# by the primary key (user_id, seq): a probe per user, whatever the size of the table
RECIPIENTS_AMONG = (
    "SELECT seq, user_id FROM items WHERE direct AND user_id IN ({users}) "
    "AND seq >= :low AND seq <= :high ORDER BY seq"
)
USERS_PER_STATEMENT = 500
NEXT_SEQ = "UPDATE tocsin_counters SET value = value + :n WHERE name = 'seq' RETURNING value"
CURRENT_SEQ = "SELECT value FROM tocsin_counters WHERE name = 'seq'"
DATABASE_ID = "SELECT value FROM tocsin_counters WHERE name = 'database_id'"
SPEND_TICKET = (
    "INSERT INTO spent_tickets (jti, expires_at) VALUES (:jti, :expires_at) "
    "ON CONFLICT (jti) DO NOTHING RETURNING jti"
)
INSERT_EVENT = (
    "INSERT INTO events (seq, id, everyone, recipients, type, title, body, priority, url, "
    "actor, data, created_at, expires_at, sender) VALUES (:seq, :id, :everyone, :recipients, "
    ":type, :title, :body, :priority, :url, :actor, :data, :created_at, :expires_at, :sender)"
)
INSERT_ITEM = (
    "INSERT INTO items (user_id, seq, direct, expires_at) "
    "VALUES (:user, :seq, :direct, :expires_at)"
)
FIND_IDEMPOTENT = "SELECT fingerprint, seqs FROM idempotency WHERE sender = :sender AND key = :key"
INSERT_IDEMPOTENT = (
    "INSERT INTO idempotency (sender, key, fingerprint, seqs, created_at) "
    "VALUES (:sender, :key, :fingerprint, :seqs, :created_at)"
)
PURGE_IDEMPOTENT = "DELETE FROM idempotency WHERE created_at < :cutoff"
FIND_FOR_MARK = (
    "SELECT e.seq, e.everyone, e.expires_at FROM events e "
    "LEFT JOIN items i ON i.user_id = :user AND i.seq = e.seq "
    "WHERE e.id = :id AND (e.everyone OR i.user_id IS NOT NULL)"
)
# Broadcast events get a state row for the user the first time their state changes.
ENSURE_STATE_ONE = (
    "INSERT INTO items (user_id, seq, direct, expires_at) VALUES (:user, :seq, :direct, "
    ":expires_at) ON CONFLICT (user_id, seq) DO NOTHING"
)
ENSURE_STATE_ALL = (
    "INSERT INTO items (user_id, seq, direct, expires_at) "
    "SELECT :user, e.seq, :direct, e.expires_at FROM events e WHERE e.everyone "
    "AND (e.expires_at IS NULL OR e.expires_at > :now) ON CONFLICT (user_id, seq) DO NOTHING"
)
SET_STATE = {
    Mark.SEEN: "seen_at = COALESCE(seen_at, :now)",
    Mark.READ: "read_at = COALESCE(read_at, :now), seen_at = COALESCE(seen_at, :now)",
    Mark.UNREAD: "read_at = NULL",
    Mark.ARCHIVED: "archived_at = COALESCE(archived_at, :now)",
}
API_KEY_COLUMNS = "id, name, created_at, revoked_at"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _event(row: Row) -> Event:
    actor = orjson.loads(row[8]) if row[8] else None
    return Event(
        seq=int(row[0]),
        id=row[1],
        audience=Audience(everyone=bool(row[2])),
        type=row[3],
        title=row[4],
        body=row[5],
        priority=Priority(row[6]),
        url=row[7],
        actor=Actor(**actor) if actor else None,
        data=orjson.loads(row[9]),
        created_at=int(row[10]),
        expires_at=row[11],
        sender=row[12],
    )


def _item(row: Row) -> Item:
    return Item(event=_event(row), seen_at=row[13], read_at=row[14], archived_at=row[15])


def _api_key(row: Row) -> ApiKey:
    return ApiKey(id=row[0], name=row[1], created_at=row[2], revoked_at=row[3])


def _new_event(seq: int, draft: Draft, sender: str, now: int) -> Event:
    return Event(
        seq=seq,
        id=new_id(now),
        audience=draft.audience,
        type=draft.type,
        title=draft.title,
        body=draft.body,
        priority=draft.priority,
        url=draft.url,
        actor=draft.actor,
        data=draft.data,
        created_at=now,
        expires_at=draft.expires_at,
        sender=sender,
    )


def _event_params(event: Event) -> dict[str, Any]:
    actor = event.actor
    return {
        "seq": event.seq,
        "id": event.id,
        "everyone": event.audience.everyone,
        "recipients": len(event.audience.users),
        "type": event.type,
        "title": event.title,
        "body": event.body,
        "priority": event.priority.value,
        "url": event.url,
        "actor": _json({"id": actor.id, "name": actor.name, "avatar": actor.avatar})
        if actor
        else None,
        "data": _json(event.data),
        "created_at": event.created_at,
        "expires_at": event.expires_at,
        "sender": event.sender,
    }


class SqlStorage(Storage):
    """``Storage`` over any ``Database``; the backends differ only in their adapter."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def publish(
        self, requests: Sequence[PublishRequest], *, now: int, idempotency_ttl_ms: int
    ) -> list[Published | TocsinError]:
        outcomes: list[Published | TocsinError | None] = [None] * len(requests)
        async with self._db.transaction() as tx:
            await tx.execute(PURGE_IDEMPOTENT, {"cutoff": now - idempotency_ttl_ms})
            fresh: list[int] = []
            # Per key: the fingerprint that owns it, and its events when stored before
            # (else the index of the request in this batch that stores them).
            keys: dict[tuple[str, str], tuple[str, tuple[Event, ...] | int]] = {}
            for index, request in enumerate(requests):
                key = request.idempotency_key
                if key is None:
                    fresh.append(index)
                    continue
                if (request.sender, key) in keys:
                    continue  # a repeat within this batch: resolved after the insert
                found = await tx.fetchone(FIND_IDEMPOTENT, {"sender": request.sender, "key": key})
                if found is None:
                    fresh.append(index)
                    keys[(request.sender, key)] = (request.fingerprint, index)
                    continue
                events = await _load_events(tx, orjson.loads(found[1]))
                keys[(request.sender, key)] = (found[0], events)
                outcomes[index] = (
                    Published(events=events, replayed=True)
                    if found[0] == request.fingerprint
                    else _key_conflict()
                )
            total = sum(len(requests[index].drafts) for index in fresh)
            if total:
                top = await tx.fetchone(NEXT_SEQ, {"n": total})
                assert top is not None  # the counter row is created by the first migration
                seq = int(top[0]) - total + 1
                event_rows: list[dict[str, Any]] = []
                item_rows: list[dict[str, Any]] = []
                idempotency_rows: list[dict[str, Any]] = []
                for index in fresh:
                    request = requests[index]
                    events = tuple(
                        _new_event(seq + offset, draft, request.sender, now)
                        for offset, draft in enumerate(request.drafts)
                    )
                    seq += len(events)
                    event_rows.extend(_event_params(event) for event in events)
                    for event in events:
                        item_rows.extend(
                            {
                                "user": user,
                                "seq": event.seq,
                                "direct": True,
                                "expires_at": event.expires_at,
                            }
                            for user in event.audience.users
                        )
                    outcomes[index] = Published(events=events)
                    if request.idempotency_key is not None:
                        idempotency_rows.append(
                            {
                                "sender": request.sender,
                                "key": request.idempotency_key,
                                "fingerprint": request.fingerprint,
                                "seqs": _json([event.seq for event in events]),
                                "created_at": now,
                            }
                        )
                await tx.executemany(INSERT_EVENT, event_rows)
                if item_rows:
                    await tx.executemany(INSERT_ITEM, item_rows)
                if idempotency_rows:
                    await tx.executemany(INSERT_IDEMPOTENT, idempotency_rows)
        for index, request in enumerate(requests):
            if outcomes[index] is not None or request.idempotency_key is None:
                continue
            owner, stored = keys[(request.sender, request.idempotency_key)]
            if isinstance(stored, int):
                first = outcomes[stored]
                stored = first.events if isinstance(first, Published) else ()
            outcomes[index] = (
                Published(events=stored, replayed=True)
                if request.fingerprint == owner
                else _key_conflict()
            )
        return [outcome for outcome in outcomes if outcome is not None]

    async def database_id(self) -> str:
        async with self._db.reader() as session:
            row = await session.fetchone(DATABASE_ID)
        if row is None:
            raise StorageError("The database has no id: run `tocsin migrate`.")
        return f"{int(row[0]):016x}"

    async def current_seq(self) -> int:
        async with self._db.reader() as session:
            row = await session.fetchone(CURRENT_SEQ)
        return int(row[0]) if row else 0

    async def snapshot(self, users: Sequence[str], *, now: int) -> tuple[int, list[Counts]]:
        statements = [(CURRENT_SEQ, {}), *((COUNTS, {"user": u, "now": now}) for u in users)]
        async with self._db.reader() as session:
            seq, *rows = await session.fetch_each(statements)
        counts = [Counts(unread=int(r[0][0]), unseen=int(r[0][1])) for r in rows]
        return (int(seq[0][0]) if seq else 0), counts

    async def events(
        self, *, after: int, upto: int, limit: int, users: Sequence[str]
    ) -> list[Event]:
        params = {"after": after, "upto": upto, "limit": limit}
        async with self._db.reader() as session:
            rows = await session.fetchall(EVENTS_BETWEEN, params)
            if not rows:
                return []
            found = [_event(row) for row in rows]
            span = {"low": found[0].seq, "high": found[-1].seq}
            statements = []
            for start in range(0, len(users), USERS_PER_STATEMENT):
                chunk = users[start : start + USERS_PER_STATEMENT]
                names = {f"u{index}": user for index, user in enumerate(chunk)}
                placeholders = ", ".join(f":{name}" for name in names)
                statements.append((RECIPIENTS_AMONG.format(users=placeholders), span | names))
            answers = await session.fetch_each(statements) if statements else []
        recipients: dict[int, list[str]] = {}
        for answer in answers:
            for seq, user in answer:
                recipients.setdefault(int(seq), []).append(user)
        for event in found:
            if not event.audience.everyone:
                event.audience = Audience(users=tuple(recipients.get(event.seq, ())))
        return found

    async def replay(self, user: str, *, after: int, upto: int, limit: int) -> list[Item]:
        params = {"user": user, "after": after, "upto": upto, "limit": limit, "now": now_ms()}
        async with self._db.reader() as session:
            rows = await session.fetchall(REPLAY, params)
        return [_item(row) for row in rows]

    async def list_items(
        self, user: str, *, before: int | None, limit: int, unread_only: bool, now: int
    ) -> list[Item]:
        params = {
            "user": user,
            "before": before if before is not None else 2**62,
            "limit": limit,
            "now": now,
        }
        async with self._db.reader() as session:
            rows = await session.fetchall(LIST_UNREAD if unread_only else LIST_ALL, params)
        return [_item(row) for row in rows]

    async def get_item(self, user: str, item_id: str, *, now: int) -> Item | None:
        async with self._db.reader() as session:
            row = await session.fetchone(GET_ITEM, {"user": user, "id": item_id})
        return _item(row) if row else None

    async def counts(self, user: str, *, now: int) -> Counts:
        async with self._db.reader() as session:
            return await _counts(session, user, now)

    async def mark(
        self, user: str, mark: Mark, item_id: str | None, *, now: int
    ) -> StateChange | None:
        assignment = SET_STATE[mark]
        async with self._db.transaction() as tx:
            if item_id is None:
                if mark is Mark.UNREAD:
                    raise ValueError("only one item at a time can be marked unread")
                await tx.execute(ENSURE_STATE_ALL, {"user": user, "direct": False, "now": now})
                await tx.execute(
                    f"UPDATE items SET {assignment} WHERE user_id = :user AND archived_at IS NULL",
                    {"user": user, "now": now},
                )
            else:
                found = await tx.fetchone(FIND_FOR_MARK, {"user": user, "id": item_id})
                if found is None:
                    return None
                seq, everyone, expires_at = int(found[0]), bool(found[1]), found[2]
                if everyone:
                    await tx.execute(
                        ENSURE_STATE_ONE,
                        {"user": user, "seq": seq, "direct": False, "expires_at": expires_at},
                    )
                await tx.execute(
                    f"UPDATE items SET {assignment} WHERE user_id = :user AND seq = :seq",
                    {"user": user, "seq": seq, "now": now},
                )
            counts = await _counts(tx, user, now)
        ids = None if item_id is None else (item_id,)
        return StateChange(user=user, mark=mark, ids=ids, at=now, counts=counts)

    async def spend_tickets(self, tickets: Sequence[tuple[str, int]], *, now: int) -> list[bool]:
        # an expired ticket is refused, even one that was valid when it joined the batch;
        # the others are inserted in jti order, so concurrent batches on other nodes take
        # their row locks in the same order (no deadlock)
        live = sorted((i for i, t in enumerate(tickets) if t[1] > now), key=lambda i: tickets[i])
        statements = [
            (SPEND_TICKET, {"jti": tickets[i][0], "expires_at": tickets[i][1]}) for i in live
        ]
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM spent_tickets WHERE expires_at < :now", {"now": now})
            rows = await tx.fetch_each(statements) if statements else []
        spent = [False] * len(tickets)
        for i, found in zip(live, rows, strict=True):
            spent[i] = bool(found)
        return spent

    async def create_api_key(self, name: str, secret_hash: str, *, now: int) -> ApiKey:
        key = ApiKey(id="key_" + uuid.uuid4().hex[:16], name=name, created_at=now)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO api_keys (id, name, secret_hash, created_at) "
                "VALUES (:id, :name, :hash, :now)",
                {"id": key.id, "name": name, "hash": secret_hash, "now": now},
            )
        return key

    async def find_api_key(self, secret_hash: str) -> ApiKey | None:
        async with self._db.reader() as session:
            row = await session.fetchone(
                f"SELECT {API_KEY_COLUMNS} FROM api_keys "
                "WHERE secret_hash = :hash AND revoked_at IS NULL",
                {"hash": secret_hash},
            )
        return _api_key(row) if row else None

    async def list_api_keys(self) -> list[ApiKey]:
        async with self._db.reader() as session:
            rows = await session.fetchall(
                f"SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
            )
        return [_api_key(row) for row in rows]

    async def revoke_api_key(self, key_id: str, *, now: int) -> bool:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL "
                "RETURNING id",
                {"id": key_id, "now": now},
            )
        return row is not None


def _key_conflict() -> Conflict:
    return Conflict(
        "This Idempotency-Key was already used with a different request body.",
        code="idempotency_key_reused",
    )


async def _load_events(session: Session, seqs: Sequence[int]) -> tuple[Event, ...]:
    if not seqs:
        return ()
    names = {f"s{index}": int(seq) for index, seq in enumerate(seqs)}
    placeholders = ", ".join(f":{name}" for name in names)
    rows = await session.fetchall(
        f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.seq IN ({placeholders}) ORDER BY e.seq",
        names,
    )
    return tuple(_event(row) for row in rows)


async def _counts(session: Session, user: str, now: int) -> Counts:
    row = await session.fetchone(COUNTS, {"user": user, "now": now})
    assert row is not None  # an aggregate always returns one row
    return Counts(unread=int(row[0]), unseen=int(row[1]))
