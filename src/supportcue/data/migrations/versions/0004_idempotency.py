"""idempotency per caller: events get `caller` and `fingerprint`; the unique key is (caller, key)

Rows stored before get caller "" (the namespace of the importer and the demo loader, which no API
caller has) and no fingerprint (a repeat of such a key is taken as the same request).

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

# 0001 created the unique constraint without a name: PostgreSQL called it events_idempotency_key_key;
# on SQLite it has none, and this convention names the reflected one for the batch copy
_NAMES = {"uq": "%(table_name)s_%(column_0_name)s_key"}


def upgrade() -> None:
    with op.batch_alter_table("events", naming_convention=_NAMES) as batch_op:
        batch_op.add_column(sa.Column("caller", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("events_idempotency_key_key", type_="unique")
        batch_op.create_unique_constraint("uq_events_caller_key", ["caller", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_constraint("uq_events_caller_key", type_="unique")
        batch_op.create_unique_constraint("events_idempotency_key_key", ["idempotency_key"])
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("caller")
