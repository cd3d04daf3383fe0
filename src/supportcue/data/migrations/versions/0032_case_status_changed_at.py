"""case status time: when a case's status was last set, so a help desk's status changes apply in order

A Chatwoot conversation resolved or reopened now closes or opens its case (the console's inbox shows
open cases). Webhooks arrive late, twice, or out of order; `cases.status_changed_at` is the time of the
change the status shows (the help desk's time of a resolution or reopening, a customer message's
time, the console's Resolve), and a change older than it changes nothing. Cases stored before keep
NULL: the first change applies.

Revision ID: 0032_case_status_changed_at
Revises: 0031_suggestion_messages
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032_case_status_changed_at"
down_revision = "0031_suggestion_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("status_changed_at")
