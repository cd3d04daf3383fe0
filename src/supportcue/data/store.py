"""The aggregate root: one `Store` per process and database, holding the repositories.

`open_store(url)` connects, brings the database to the newest schema (a cheap revision check when it
is already there), and returns a `Store` whose repositories share one `Database`:
`store.cases`, `store.events`, `store.labels`, `store.library`, `store.models`, `store.experiments`,
`store.callers` (API keys, users, login sessions), `store.rate_buckets` (failed-login limits
shared by every process), `store.signing_keys` (the device cookies' secret), `store.conversations`
(the turns of each case's conversation), `store.outbox` (notes waiting for a help desk),
`store.reviews` (the review queue), `store.reporting` (read-only aggregates for the metrics),
`store.retention` (purging old text) and `store.alerts` (drift alerts and the rows drift reads).
Queries live in those modules only.
"""

from __future__ import annotations

from supportcue.data.alerts import Alerts
from supportcue.data.cases import Cases
from supportcue.data.conversations import Conversations
from supportcue.data.database import Database, make_engine, migrate
from supportcue.data.events import Events
from supportcue.data.experiments import Experiments
from supportcue.data.labels import Labels
from supportcue.data.library import Library
from supportcue.data.model_versions import ModelVersions
from supportcue.data.outbox import Outbox
from supportcue.data.reporting import Reporting
from supportcue.data.retention import Retention
from supportcue.data.reviews import Reviews
from supportcue.data.security import Callers, RateBuckets, SigningKeys


class Store:
    """The repositories over one shared `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cases = Cases(db)
        self.events = Events(db)
        self.labels = Labels(db)
        self.library = Library(db)
        self.models = ModelVersions(db)
        self.experiments = Experiments(db)
        self.reporting = Reporting(db)
        self.retention = Retention(db)
        self.callers = Callers(db)
        self.rate_buckets = RateBuckets(db)
        self.signing_keys = SigningKeys(db)
        self.conversations = Conversations(db)
        self.outbox = Outbox(db)
        self.alerts = Alerts(db)
        self.reviews = Reviews(db, self.labels)

    def close(self) -> None:
        self.db.close()


def open_store(url: str, migrate_schema: bool = True, busy_timeout_ms: int = 30_000) -> Store:
    """Connect to a database and bring it to the newest schema (see `make_engine` for the timeout)."""
    engine = make_engine(url, busy_timeout_ms)
    if migrate_schema:
        migrate(engine)
    return Store(Database(engine))
