"""claims.no_contact_reason: a decline without a logged contact says why none was possible

Revision ID: e5f6a7b8c9d1
Revises: f1a5b7c9d2e4
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "e5f6a7b8c9d1"
down_revision = "f1a5b7c9d2e4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("no_contact_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("no_contact_reason")
