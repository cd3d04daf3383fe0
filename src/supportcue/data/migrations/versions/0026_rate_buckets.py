"""rate buckets: failed-login limits counted by every process

rate_buckets: SHA-256 of a limited key (a user name or a client address) -> the tokens left and when
they were counted. One row per bucket that is not full; every worker and machine updates the same row
in one statement, so `[security] login_attempts_per_minute` holds across the fleet.

Revision ID: 0026_rate_buckets
Revises: 0025_suggestion_claims
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_rate_buckets"
down_revision = "0025_suggestion_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_rate_buckets_at", "rate_buckets", ["at"])


def downgrade() -> None:
    op.drop_index("ix_rate_buckets_at", table_name="rate_buckets")
    op.drop_table("rate_buckets")
