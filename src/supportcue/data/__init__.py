"""The store: tables, migrations, the shared `Database`, one repository per aggregate, import/export."""

from supportcue.data.database import Database
from supportcue.data.store import Store, open_store

__all__ = ["Database", "Store", "open_store"]
