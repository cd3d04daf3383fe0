"""`supportcue export TABLE FILE`: write any table back to .csv or .jsonl."""

from __future__ import annotations

from pathlib import Path

from supportcue.data.files import write_rows
from supportcue.data.store import Store
from supportcue.data.tables import TABLES
from supportcue.errors import ImportDataError


def export_table(store: Store, table: str, path: Path) -> int:
    """Write every row of `table` to `path` (format by suffix); returns the row count."""
    if table not in TABLES:
        raise ImportDataError(f"unknown table {table!r}; allowed: {', '.join(sorted(TABLES))}")
    columns = [c.key for c in TABLES[table].__table__.columns]
    return write_rows(path, store.db.rows(table), columns=columns)
