"""drift alerts: what `supportcue drift` found, kept so the dashboard, /metrics and the review queue
can show and link them, and so a webhook posts each alert once; suggestions.origin: a live request
(`service`) or `supportcue suggest` (`cli`), so the dashboard's latency is the live requests'

Revision ID: 0021
Revises: 0006
Create Date: 2026-11-29 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import supportcue.data.tables

revision = "0021"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = supportcue.data.tables.UTCDateTime
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("first_seen", utc(), nullable=False),
        sa.Column("last_seen", utc(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("posted_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject", "first_seen", name="uq_alert_kind_subject"),
    )
    op.create_index("ix_alerts_kind", "alerts", ["kind"], unique=False)
    op.create_index("ix_alerts_first_seen", "alerts", ["first_seen"], unique=False)
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=20), nullable=False, server_default="service"))


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("origin")
    op.drop_table("alerts")
