"""Initial schema: events stored once, per-user items, the seq counter, API keys, idempotency.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tocsin_counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO tocsin_counters (name, value) VALUES ('seq', 0)")
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("everyone", sa.Boolean, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("priority", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("actor", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("sender", sa.Text, nullable=False),
    )
    op.create_index(
        "events_everyone",
        "events",
        ["seq"],
        sqlite_where=sa.text("everyone"),
        postgresql_where=sa.text("everyone"),
    )
    op.create_table(
        "items",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column(
            "seq",
            sa.BigInteger,
            sa.ForeignKey("events.seq", ondelete="CASCADE"),
            primary_key=True,
        ),
        # direct: created at publish for a targeted event; false: lazily created state
        # of a broadcast (everyone) event for this user.
        sa.Column("direct", sa.Boolean, nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("seen_at", sa.BigInteger),
        sa.Column("read_at", sa.BigInteger),
        sa.Column("archived_at", sa.BigInteger),
    )
    live = "direct AND archived_at IS NULL"
    op.create_index(
        "items_unread",
        "items",
        ["user_id", "expires_at"],
        sqlite_where=sa.text(f"{live} AND read_at IS NULL"),
        postgresql_where=sa.text(f"{live} AND read_at IS NULL"),
    )
    op.create_index(
        "items_unseen",
        "items",
        ["user_id", "expires_at"],
        sqlite_where=sa.text(f"{live} AND seen_at IS NULL"),
        postgresql_where=sa.text(f"{live} AND seen_at IS NULL"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
    )
    op.create_table(
        "idempotency",
        sa.Column("sender", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("seqs", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("idempotency_created", "idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency")
    op.drop_table("api_keys")
    op.drop_index("items_unseen", "items")
    op.drop_index("items_unread", "items")
    op.drop_table("items")
    op.drop_index("events_everyone", "events")
    op.drop_table("events")
    op.drop_table("tocsin_counters")
