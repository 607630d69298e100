"""leads: the service clock from the push (claim_due, unclaimed_at, the 督办 of unclaimed leads)

A pushed lead nobody claims within `unclaimed_working_days` (a setting, default 2) goes on the
organizers' 督办 list. Leads opened before this revision have no claim_due: the sweep
computes it from created_at the first time it sees them.

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-12-07 09:00:00

"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "c3d4e5f6a7b8"
down_revision = "b2c3d4e5f6a7"
branch_labels = None
depends_on = None

settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON),
                    sa.column("updated_at", sa.DateTime))


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("unclaimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("supervised_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("supervised_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("supervision_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_leads_supervised_by_id_users"), "users",
                                    ["supervised_by_id"], ["id"])
    op.bulk_insert(settings, [{"key": "unclaimed_working_days", "value": 2,
                               "updated_at": datetime(2026, 12, 7, 1, 0)}])


def downgrade():
    op.execute(settings.delete().where(settings.c.key == "unclaimed_working_days"))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_leads_supervised_by_id_users"),
                                 type_="foreignkey")
        batch_op.drop_column("supervision_note")
        batch_op.drop_column("supervised_by_id")
        batch_op.drop_column("supervised_at")
        batch_op.drop_column("unclaimed_at")
        batch_op.drop_column("claim_due")
