"""Spent single-use tickets (SSE/long-poll auth), so no node accepts one twice.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spent_tickets",
        sa.Column("jti", sa.Text, primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("spent_tickets_expires", "spent_tickets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("spent_tickets_expires", "spent_tickets")
    op.drop_table("spent_tickets")
