"""experiments as objects: the control arm, coverage, metrics of interest, simulated; one running

experiments.arms becomes an ordered list of {name, weight} (nothing wrote the old mapping);
experiments.control names the arm that is served no suggestion; coverage is the share of new cases
that enter the experiment at all; metrics lists the metrics of interest; simulated marks the demo's.
A partial unique index on status = 'running' lets only one experiment run at a time, even when two
`experiment create` commands race.

Revision ID: 0014
Revises: 0003
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0003"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("control", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("coverage", sa.Float(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("metrics", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "uq_experiments_running",
        "experiments",
        ["status"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    op.create_index("ix_assignments_case_id", "assignments", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_assignments_case_id", table_name="assignments")
    op.drop_index("uq_experiments_running", table_name="experiments")
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("simulated")
        batch.drop_column("metrics")
        batch.drop_column("coverage")
        batch.drop_column("control")
