"""suggestion messages: each suggestion keeps the customer message it answers, masked

Drift read a suggestion's message from its case, so the suggestions of a team that integrates through
`POST /v1/suggest` only (case ids supportcue never stored, or no case id) were left out: `supportcue
drift` compared nothing for it. A suggestion now stores its message with personal data replaced by
placeholders (`llm.privacy.Masker`, as the LLM modes mask it); the retention purge empties it with
the suggestion's other texts. Suggestions made before keep NULL (their message was not kept).

Revision ID: 0031_suggestion_messages
Revises: 0030_answer_line_breaks
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_suggestion_messages"
down_revision = "0030_answer_line_breaks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("message")
