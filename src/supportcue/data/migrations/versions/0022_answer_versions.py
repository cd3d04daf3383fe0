"""answer versions: every saved text of an answer is kept, so edits can be diffed

answer_versions holds one row per (answer_id, version): topic, title, body and owner as saved, who
saved it (editor) and an optional note; the answers row keeps the newest. Each existing answer's
current text becomes its first kept version.

Revision ID: 0022
Revises: 0006
Create Date: 2026-11-29 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import supportcue.data.tables

revision = "0022"
down_revision = "0021"  # re-chained after the alerts migration (was 0006)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_versions",
        sa.Column("answer_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("editor", sa.String(length=200), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", supportcue.data.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("answer_id", "version"),
    )
    op.execute(
        "INSERT INTO answer_versions (answer_id, version, topic, title, body, owner, created_at) "
        "SELECT id, version, topic, title, body, owner, updated_at FROM answers"
    )


def downgrade() -> None:
    op.drop_table("answer_versions")
