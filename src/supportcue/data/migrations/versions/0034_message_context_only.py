"""context-only turns: a conversation's messages kept as context alone (a bot's phase)

While an agent bot handles a Chatwoot conversation (pending, or assigned to the bot) its messages get no
suggestion; they were not stored, so the first suggestion after the bot handed over lacked what the
customer had told the bot. They are now kept, marked `messages.context_only`: read as the turns
before a later one, never a suggestion, a reply, or a customer message awaiting one. Turns stored
before are not (false).

Revision ID: 0034_message_context_only
Revises: 0033_case_line_breaks
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034_message_context_only"
down_revision = "0033_case_line_breaks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("context_only", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("context_only")
