"""the migrations a database may have skipped: each one applied now when what it made is missing

Some migrations were given another parent after a release had already made databases with the old
order (0005 followed 0002 before 0004 came in; 0011 followed 0003 before 0014; and on branches 0006
followed 0003, 0022 and 0023 followed 0006). Alembic reads a database by its one stamped revision,
so a database stamped 0011 under the old order was taken as having 0014 too, which it never ran:
`experiments` lacked `control`, every suggestion failed, and the service answered 503 "the database
cannot be reached". Here each such migration runs when its mark (a column or table it made) is
missing, in today's order; a database that ran them all changes nothing.

Revision ID: 0029_skipped_migrations
Revises: 0028_signing_keys
Create Date: 2026-12-01 06:30:00
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0029_skipped_migrations"
down_revision = "0028_signing_keys"
branch_labels = None
depends_on = None

SKIPPABLE = (
    ("0004_idempotency", "events", "caller"),
    ("0014_experiments", "experiments", "control"),
    ("0011_conversations", "messages", None),
    ("0006_message_keys", "suggestions", "message_key"),
    ("0021_alerts", "alerts", None),
    ("0022_answer_versions", "answer_versions", None),
)
"""(the migration's module, and the table, with the column, whose absence says it never ran), in the
order of today's chain."""


def _present(table: str, column: str | None) -> bool:
    inspector = sa.inspect(op.get_bind())  # a new one each time: it caches what it read
    if not inspector.has_table(table):
        return False
    return column is None or column in {c["name"] for c in inspector.get_columns(table)}


def upgrade() -> None:
    for module, table, column in SKIPPABLE:
        if not _present(table, column):
            importlib.import_module(f"supportcue.data.migrations.versions.{module}").upgrade()


def downgrade() -> None:
    """Nothing: what this applied belongs to the earlier migrations, whose own downgrades undo it."""
