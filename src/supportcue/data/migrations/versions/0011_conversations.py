"""conversations and help desks: the turns of each case's conversation, and the outbox of notes

messages: one row per turn (`POST /v1/messages`, a help desk's webhook), unique per caller and
message id, with the suggestion or `sent` event it led to. outbox: the notes waiting to be posted to
a help desk, with their attempts, backoff and outcome (the integration health on the dashboard).

Revision ID: 0011
Revises: 0003
Create Date: 2026-12-15 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import supportcue.data.tables

revision = "0011"
down_revision = "0014"  # re-chained after the experiments migration (was 0003)
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = supportcue.data.tables.UTCDateTime
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("caller", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.String(length=100), nullable=True),
        sa.Column("ts", utc(), nullable=False),
        sa.Column("received_at", utc(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("suggestion_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("purged_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("caller", "message_id", name="uq_messages_caller_message"),
    )
    op.create_index("ix_messages_case_ts", "messages", ["case_id", "ts"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("help_desk", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("link_base", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc(), nullable=False),
        sa.Column("lease_until", utc(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("suggestion_id", sa.String(length=40), nullable=True),
        sa.Column("remote_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("done_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("help_desk", "kind", "message_pk", name="uq_outbox_message"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"], unique=False)
    op.create_index("ix_outbox_next_attempt_at", "outbox", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("messages")
