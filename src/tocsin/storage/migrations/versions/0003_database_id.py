"""A random id for the database, so the nodes of one deployment recognise each other's
broker messages and ignore those of another deployment on the same broker.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    value = secrets.randbits(62) + 1
    op.execute(f"INSERT INTO tocsin_counters (name, value) VALUES ('database_id', {value})")


def downgrade() -> None:
    op.execute("DELETE FROM tocsin_counters WHERE name = 'database_id'")
