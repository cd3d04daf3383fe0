"""`supportcue export TABLE FILE`: write a table back to .csv or .jsonl.

Secrets stay in the database, even hashed: a hash exported is a hash to attack offline (a password's),
or to look up by (a key's, a session's). So `users` and `api_keys` are written without their hash
columns (what `users list` and `keys list` show), and `login_sessions`, whose rows are nothing but
session hashes, is not exported at all.
"""

from __future__ import annotations

from pathlib import Path

from supportcue.data.files import write_rows
from supportcue.data.store import Store
from supportcue.data.tables import TABLES
from supportcue.errors import ImportDataError

SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("password_hash",),
    "api_keys": ("key_hash",),
}
"""Columns never exported, by table."""

NOT_EXPORTED: dict[str, str] = {
    "login_sessions": "its rows are session hashes, which stay in the database; "
    "`supportcue users list` shows who has an account",
}
"""Tables `export` refuses, with why and what to use instead."""


def export_table(store: Store, table: str, path: Path) -> int:
    """Write every row of `table` to `path` (format by suffix), without its `SECRET_COLUMNS`;
    returns the row count."""
    if table in NOT_EXPORTED:
        raise ImportDataError(f"table {table!r} is not exported: {NOT_EXPORTED[table]}")
    if table not in TABLES:
        allowed = sorted(set(TABLES) - set(NOT_EXPORTED))
        raise ImportDataError(f"unknown table {table!r}; allowed: {', '.join(allowed)}")
    secret = SECRET_COLUMNS.get(table, ())
    columns = [c.key for c in TABLES[table].__table__.columns if c.key not in secret]
    rows = ({c: row[c] for c in columns} for row in store.db.rows(table))
    return write_rows(path, rows, columns=columns)
