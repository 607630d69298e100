"""needs.funded_on: the day a need's loan was disbursed (exchange field funded_on)

Funded needs get it from the audit trail where the platform recorded the move to funded;
an export then carries it and a re-import accepts the funded 首贷.

Revision ID: b7c8d9e0f1a2
Revises: a9b8c7d6e5f4
Create Date: 2026-12-07 15:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "b7c8d9e0f1a2"
down_revision = "a9b8c7d6e5f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funded_on", sa.Date(), nullable=True))
    # funded needs of a lived platform: the day they were marked funded (UTC date: close
    # enough for rows written before this revision; new ones use the Beijing date)
    op.execute("UPDATE needs SET funded_on = date(updated_at) WHERE status = 'funded'"
               if op.get_bind().dialect.name == "sqlite" else
               "UPDATE needs SET funded_on = CAST(updated_at AS DATE) WHERE status = 'funded'")


def downgrade():
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("funded_on")
