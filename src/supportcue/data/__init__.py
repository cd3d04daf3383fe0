"""The store: tables, migrations, the repository layer, and file import/export."""

from supportcue.data.store import Store, open_store

__all__ = ["Store", "open_store"]
