"""signing keys: the secret that device cookies are signed with, shared by every process

signing_keys: a key's name (`device-cookies`) -> a random secret, made by the first process that needs
it (the primary key lets exactly one insert it) and read by every worker and machine, so a device
cookie issued by one verifies at all of them.

Revision ID: 0028_signing_keys
Revises: 0027_events_suggestion_kind
Create Date: 2026-11-30 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from supportcue.data.tables import UTCDateTime

revision = "0028_signing_keys"
down_revision = "0027_events_suggestion_kind"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
