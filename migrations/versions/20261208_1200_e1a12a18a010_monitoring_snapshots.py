"""monitoring_snapshots: the monitoring page's figures per period and slice, computed once
(by the page or the refresh job) and read by every web worker

Revision ID: e1a12a18a010
Revises: c2d3e4f5a6b7
Create Date: 2026-12-08 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "e1a12a18a010"
down_revision = "c2d3e4f5a6b7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monitoring_snapshots",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("standard", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_monitoring_snapshots")))
    with op.batch_alter_table("monitoring_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitoring_snapshots_district"), ["district"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("monitoring_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_snapshots_district"))
    op.drop_table("monitoring_snapshots")
