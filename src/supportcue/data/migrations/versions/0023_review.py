"""the review queue: items chosen for reviewers, and their reviews

review_items: one row per subject (a suggestion, a message, a cluster of messages), with why it was
chosen (`random` or an active-learning reason), its score, the topic proposed with it and how many
reviewers it wants (2 for the blind overlap). reviews: one row per item and reviewer.

Revision ID: 0023
Revises: 0006
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import supportcue.data.tables

revision = "0023"
down_revision = "0022"  # re-chained after the answer-versions migration (was 0006)
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = supportcue.data.tables.UTCDateTime
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=True),
        sa.Column("suggestion_id", sa.String(length=40), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("reviews_wanted", sa.Integer(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_review_items_reason", "review_items", ["reason"])
    op.create_index("ix_review_items_case_id", "review_items", ["case_id"])
    op.create_index("ix_review_items_created_at", "review_items", ["created_at"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("verdict", sa.String(length=30), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("corrected_text", sa.Text(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "reviewer", name="uq_reviews_item_reviewer"),
    )
    op.create_index("ix_reviews_item_id", "reviews", ["item_id"])
    op.create_index("ix_reviews_created_at", "reviews", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_reviews_created_at", table_name="reviews")
    op.drop_index("ix_reviews_item_id", table_name="reviews")
    op.drop_table("reviews")
    op.drop_index("ix_review_items_created_at", table_name="review_items")
    op.drop_index("ix_review_items_case_id", table_name="review_items")
    op.drop_index("ix_review_items_reason", table_name="review_items")
    op.drop_table("review_items")
