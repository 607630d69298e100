"""whitelist push settings: entries' institution count and one bank's share, editable

Revision ID: 9c3e2a0b1d32
Revises: 8b2d1f9c0a21
Create Date: 2026-11-26 11:00:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "9c3e2a0b1d32"
down_revision = "8b2d1f9c0a21"
branch_labels = None
depends_on = None

settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON),
                    sa.column("updated_at", sa.DateTime))
NOW = datetime(2026, 11, 26, tzinfo=UTC).replace(tzinfo=None)
KEYS = {"whitelist_institutions_per_entry": 3, "whitelist_institution_share": 0.25}


def upgrade():
    op.bulk_insert(settings, [{"key": k, "value": v, "updated_at": NOW} for k, v in KEYS.items()])


def downgrade():
    op.execute(settings.delete().where(settings.c.key.in_(list(KEYS))))
