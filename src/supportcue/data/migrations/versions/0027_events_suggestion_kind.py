"""events: one index on (suggestion_id, kind) in place of suggestion_id's own

"Was this suggestion inserted?" (the reports' sent pairs, per suggestion) names both columns. With an
index on each, SQLite, which keeps no statistics here, sometimes looked the events up by their kind
alone, once per suggestion: the report over 20,000 events took 7-10 s instead of 0.1 s, by chance.
The two-column index serves both terms, and every lookup by suggestion_id alone as well.

Revision ID: 0027_events_suggestion_kind
Revises: 0026_rate_buckets
Create Date: 2026-11-30 13:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0027_events_suggestion_kind"
down_revision = "0026_rate_buckets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_suggestion_kind", "events", ["suggestion_id", "kind"])
    op.drop_index("ix_events_suggestion_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_suggestion_id", "events", ["suggestion_id"])
    op.drop_index("ix_events_suggestion_kind", table_name="events")
