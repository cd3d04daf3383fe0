"""case line breaks: cases' and events' texts stored with "\r\n" (or a lone "\r") are stored with "\n"

The import now reads a cases file's message, reply and context with "\n" line breaks (a file written on
Windows has "\r\n" in a quoted cell), as answers are (`0030_answer_line_breaks`), so that the same
message from a Windows and a Unix file is one text (dedup, embeddings, matching). Cases imported
before kept "\r\n". This rewrites, in batches of `BATCH` rows (a case history can be large), the line
breaks of cases' `message`, of the turns' texts in their `context` (a JSON array of
{"role", "text"}), and of events' `text` (a cases file's `reply` is its `sent` event's text). Only
line breaks change: no date, status or purge mark. Labels' texts are left as they are: a label on
free text is stored under a hash of its text (`text:<sha1>`), which the text must keep matching.

The downgrade leaves the texts as they are ("\n" is what every version of supportcue stores now).

Revision ID: 0033_case_line_breaks
Revises: 0032_case_status_changed_at
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0033_case_line_breaks"
down_revision = "0032_case_status_changed_at"
branch_labels = None
depends_on = None

BATCH = 1000
"""Rows read, and rewritten, at a time."""


def lf_lines(text: str) -> str:
    """Line breaks as "\n" (`boundary.lf_lines` does the same to what the routes and the import take)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lf_turns(context: Any) -> Any:
    """A case's context with its turns' texts' line breaks as "\n" (anything else as it was)."""
    if not isinstance(context, list):
        return context
    return [
        {**turn, "text": lf_lines(turn["text"])}
        if isinstance(turn, dict) and isinstance(turn.get("text"), str)
        else lf_lines(turn)
        if isinstance(turn, str)
        else turn
        for turn in context
    ]


def _rewrite(
    connection: sa.Connection,
    table: sa.TableClause,
    key: str,
    column: str,
    found: sa.ColumnElement[bool],
    fix: Any,
) -> None:
    """Rewrite `column` with `fix` in the rows `found` selects, `BATCH` at a time, in key order."""
    ident, value = table.c[key], table.c[column]
    last: Any = None
    while True:
        q = sa.select(ident, value).where(found).order_by(ident).limit(BATCH)
        if last is not None:
            q = q.where(ident > last)
        rows = connection.execute(q).all()
        if not rows:
            return
        last = rows[-1][0]
        changed = [{"k": k, "v": fix(v)} for k, v in rows if fix(v) != v]
        if changed:
            connection.execute(
                sa.update(table).where(ident == sa.bindparam("k")).values({column: sa.bindparam("v")}),
                changed,
            )


def upgrade() -> None:
    connection = op.get_bind()
    cases = sa.table(
        "cases",
        sa.column("id", sa.String()),
        sa.column("message", sa.Text()),
        sa.column("context", sa.JSON()),
    )
    events = sa.table("events", sa.column("id", sa.Integer()), sa.column("text", sa.Text()))
    _rewrite(connection, cases, "id", "message", cases.c.message.contains("\r", autoescape=True), lf_lines)
    # a JSON text writes a "\r" as the two characters \r: those rows are read (and one with a
    # backslash before an "r" is read and left as it is)
    in_json = sa.cast(cases.c.context, sa.Text()).contains("\\r", autoescape=True)
    _rewrite(connection, cases, "id", "context", in_json, _lf_turns)
    _rewrite(
        connection,
        events,
        "id",
        "text",
        events.c.text.contains("\r", autoescape=True),
        lambda text: lf_lines(text) if text is not None else None,
    )


def downgrade() -> None:
    pass
