"""one suggestion per customer message; which answer an `alternative` event inserted

suggestions.message_key is the help desk's id of the customer message a suggestion answers, indexed
with case_id, so a second request for the same message (a case opened twice, the Chatwoot embed page
and the connector) gets the stored suggestion instead of a new one. events.answer_id names the library
answer an `alternative` event inserted (an alternative of the suggestion, or one the agent found by
searching the library). Rows stored before have neither.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0011"  # re-chained after the conversations migration (was 0003)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("message_key", sa.String(length=200), nullable=True))
        batch.create_index("ix_suggestions_case_message", ["case_id", "message_key"], unique=False)
    op.add_column("events", sa.Column("answer_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("answer_id")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_index("ix_suggestions_case_message")
        batch.drop_column("message_key")
