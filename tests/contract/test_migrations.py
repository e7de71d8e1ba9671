"""Alembic migrations build the schema the storage code expects, and can be undone."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tocsin.storage import migrate

EXPECTED = {
    "tocsin_counters": {"name", "value"},
    "events": {
        "seq",
        "id",
        "everyone",
        "recipients",
        "type",
        "title",
        "body",
        "priority",
        "url",
        "actor",
        "data",
        "created_at",
        "expires_at",
        "sender",
    },
    "items": {"user_id", "seq", "direct", "expires_at", "seen_at", "read_at", "archived_at"},
    "api_keys": {"id", "name", "secret_hash", "created_at", "revoked_at"},
    "idempotency": {"sender", "key", "fingerprint", "seqs", "created_at"},
    "spent_tickets": {"jti", "expires_at"},
}


def schema(url: str) -> dict[str, set[str]]:
    engine = sa.create_engine(migrate.sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


async def test_upgrade_builds_the_schema_downgrade_removes_it(database_url: str) -> None:
    """head creates every table and column; base drops them; head again restores them."""
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert schema(database_url) == EXPECTED
    await asyncio.to_thread(migrate.upgrade, database_url)  # idempotent
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    assert schema(database_url) == {}
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert schema(database_url) == EXPECTED


async def test_partial_indexes_exist_for_counts(database_url: str) -> None:
    """The unread/unseen counts are served by partial indexes."""
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = sa.create_engine(migrate.sqlalchemy_url(database_url), poolclass=sa.pool.NullPool)
    try:
        names = {index["name"] for index in sa.inspect(engine).get_indexes("items")}
    finally:
        engine.dispose()
    assert {"items_unread", "items_unseen"} <= names
