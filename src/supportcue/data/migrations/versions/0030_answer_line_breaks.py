"""answer line breaks: texts saved with "\r\n" (or a lone "\r") are stored with "\n"

Before the routes and the import stored line breaks as "\n", an answer saved from a browser form (which
sends a textarea's lines as "\r\n") or imported from a file written on Windows kept "\r\n": its
suggestions carried "\r", and its first untouched "Save and approve" made a version changing only its
line breaks. This rewrites, as the routes now store them, the line breaks of answers' bodies, of their
kept versions (every version stays, with its number, editor and date: only line breaks change, so a
diff between two versions shows what really changed), of KB articles' bodies and of reviewers'
corrected replies. No row's `version` or `updated_at` changes (no one edited it); the `library`
change counter is bumped so a running server reloads the library. Nothing stores a hash or signature
of these texts (the embedding cache is keyed by the text, and embeds the new text once).

The downgrade leaves the texts as they are ("\n" is what every version of supportcue stores now).

Revision ID: 0030_answer_line_breaks
Revises: 0029_skipped_migrations
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_answer_line_breaks"
down_revision = "0029_skipped_migrations"
branch_labels = None
depends_on = None

TEXTS = (
    ("answers", ("id",), "body"),
    ("answer_versions", ("answer_id", "version"), "body"),
    ("articles", ("id",), "body"),
    ("reviews", ("id",), "corrected_text"),
)
"""(table, primary key columns, text column) whose line breaks are rewritten."""


def lf_lines(text: str) -> str:
    """Line breaks as "\n" (`boundary.Lines` does the same to what the routes and the import take)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def upgrade() -> None:
    connection = op.get_bind()
    changed = 0
    for name, keys, column in TEXTS:
        table = sa.table(name, *(sa.column(k) for k in keys), sa.column(column, sa.Text()))
        text = table.c[column]
        rows = connection.execute(
            sa.select(*(table.c[k] for k in keys), text).where(text.contains("\r", autoescape=True))
        ).all()
        for row in rows:
            where = [table.c[k] == getattr(row, k) for k in keys]
            connection.execute(sa.update(table).where(*where).values({column: lf_lines(row[-1])}))
        changed += len(rows)
    if changed:
        versions = sa.table("data_versions", sa.column("name"), sa.column("version"))
        bumped = connection.execute(
            sa.update(versions).where(versions.c.name == "library").values(version=versions.c.version + 1)
        )
        if not bumped.rowcount:
            from supportcue.data.tables import utcnow

            connection.execute(
                sa.text("INSERT INTO data_versions (name, version, updated_at) VALUES ('library', 1, :at)"),
                {"at": utcnow()},
            )


def downgrade() -> None:
    pass
