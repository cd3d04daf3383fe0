"""suggestion claims: one suggestion per customer message across processes

suggestion_claims: (case_id, message_key) -> the process making that message's suggestion now, and
since when. A row lives only while its suggestion is being made (the maker deletes it once the
suggestion is stored); the primary key is what lets exactly one process insert it.

Revision ID: 0025_suggestion_claims
Revises: 0024_alert_review_items
Create Date: 2026-11-30 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from supportcue.data.tables import UTCDateTime

revision = "0025_suggestion_claims"
down_revision = "0024_alert_review_items"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestion_claims",
        sa.Column("case_id", sa.String(100), primary_key=True),
        sa.Column("message_key", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("suggestion_claims")
