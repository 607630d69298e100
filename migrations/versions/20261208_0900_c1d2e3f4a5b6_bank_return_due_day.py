"""settings: bank_return_due_day, the day of the month the banks' 制造业贷款 return is due

The reminder and the 督办 list read it (default 10, as before); stored as a row so the
policy settings page lists it and an admin can change it (audited).

Revision ID: c1d2e3f4a5b6
Revises: b7c8d9e0f1a2
Create Date: 2026-12-08 09:00:00

"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "c1d2e3f4a5b6"
down_revision = "b7c8d9e0f1a2"
branch_labels = None
depends_on = None

settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON),
                    sa.column("updated_at", sa.DateTime))


def upgrade():
    # a platform that already stored the key by hand keeps its value
    present = op.get_bind().execute(sa.select(settings.c.key).where(
        settings.c.key == "bank_return_due_day")).first()
    if present is None:
        op.bulk_insert(settings, [{"key": "bank_return_due_day", "value": 10,
                                   "updated_at": datetime(2026, 12, 8, 1, 0)}])


def downgrade():
    op.execute(settings.delete().where(settings.c.key == "bank_return_due_day"))
