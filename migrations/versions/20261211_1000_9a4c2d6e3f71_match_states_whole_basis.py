"""match_states.whole_basis: the basis of a need's last whole ranking

While a policy change waits for its job (stale_policies), a need ranked whole since (its
enterprise edited it, it was published) holds that change: it is current, where a need only
patched since is not (issue 13).

Revision ID: 9a4c2d6e3f71
Revises: 8f3b1c5d2e60
Create Date: 2026-12-11 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "9a4c2d6e3f71"
down_revision = "8f3b1c5d2e60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("match_states") as batch:
        batch.add_column(sa.Column("whole_basis", sa.BigInteger(), server_default="0",
                                   nullable=False))


def downgrade():
    with op.batch_alter_table("match_states") as batch:
        batch.drop_column("whole_basis")
