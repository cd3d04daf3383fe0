"""model integrity and retention: each model version's SHA-256 and stage kind; purge marks

model_versions.sha256 and .kind are recorded when a version is written and checked when it is
loaded (NULL for versions written before: they load with a warning). cases.purged_at marks a case
whose text `supportcue purge` removed (suggestions.purged_at and events.purged_at likewise); a
purged `sent` event keeps the similarity of its reply to the suggestion (events.similarity,
events.shadow_similarity), so the online metrics stay the same.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import supportcue.data.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("sha256", sa.String(length=64), nullable=True))
    op.add_column("model_versions", sa.Column("kind", sa.String(length=200), nullable=True))
    op.add_column("cases", sa.Column("purged_at", supportcue.data.tables.UTCDateTime(), nullable=True))
    op.add_column("events", sa.Column("similarity", sa.Float(), nullable=True))
    op.add_column("events", sa.Column("shadow_similarity", sa.Float(), nullable=True))
    op.add_column("events", sa.Column("purged_at", supportcue.data.tables.UTCDateTime(), nullable=True))
    op.add_column("suggestions", sa.Column("purged_at", supportcue.data.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("purged_at")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("purged_at")
        batch.drop_column("shadow_similarity")
        batch.drop_column("similarity")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("purged_at")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("kind")
        batch.drop_column("sha256")
