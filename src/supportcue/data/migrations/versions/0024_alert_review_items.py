"""alert review items: a review item names the drift alert that created it

review_items.alert_id: the `alerts.id` of the drift alert whose examples the item asks about
(reason `drift_alert`), NULL for the items the queue chose itself. Indexed: /review?alert=ID and the
alert's JSON list an alert's items. No foreign key (SQLite cannot add one to an existing table
without copying it; an alert is never deleted while its items are kept).

Revision ID: 0024_alert_review_items
Revises: 0023
Create Date: 2026-11-30 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_alert_review_items"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_items", sa.Column("alert_id", sa.Integer(), nullable=True))
    op.create_index("ix_review_items_alert_id", "review_items", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_review_items_alert_id", table_name="review_items")
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("alert_id")
