"""stale_policies: a policy change waits for its own job, whatever ran since

A subsidy programme's or the fee rate's change marked every need stale through
matching_basis.all_wanted alone, so the next job to finish at a later epoch (another change's,
a product's) marked needs current while this change's carriers still held their old costs.
One row per change waiting; no need is fresh while one is there (issue 13).

Revision ID: 8f3b1c5d2e60
Revises: 7e2a9c4b1d30
Create Date: 2026-12-11 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "8f3b1c5d2e60"
down_revision = "7e2a9c4b1d30"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stale_policies",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stale_policies")),
    )


def downgrade():
    op.drop_table("stale_policies")
