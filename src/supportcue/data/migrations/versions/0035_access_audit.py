"""access audit: who changed which key or user, when and through what; when each key was last used

access_audit: one row per change of who may call (a key created or revoked, a user added, removed,
given another role or password), inserted in the change's own transaction; never a secret, a hash or a
password. api_keys.last_used_at: when a request last came with the key (written at most about once a
minute per key), to find keys nothing uses any more.

Revision ID: 0035_access_audit
Revises: 0034_message_context_only
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from supportcue.data.tables import UTCDateTime

revision = "0035_access_audit"
down_revision = "0034_message_context_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("previous_role", sa.String(20), nullable=True),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
    op.drop_table("access_audit")
