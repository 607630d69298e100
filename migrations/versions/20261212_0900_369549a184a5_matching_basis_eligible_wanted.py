"""matching_basis.eligible_wanted: the epoch of the last change to every need that can move
who is eligible for what

An LPR quote, a subsidy programme's or the fee rate's edit move every need's costs, never its
eligible products; an import or a bridge fund's programme move both. Readers of who matches
whom (an event's invitation "by matches") read the stored pairings through a cost-only wait
and match the needs anew only through the other (issue 13).

Revision ID: 369549a184a5
Revises: 9a4c2d6e3f71
Create Date: 2026-12-12 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "369549a184a5"
down_revision = "9a4c2d6e3f71"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("matching_basis") as batch:
        batch.add_column(sa.Column("eligible_wanted", sa.BigInteger(), server_default="0",
                                   nullable=False))
    # a recompute of every need waiting at the upgrade may be an import's: treated as one
    op.execute("UPDATE matching_basis SET eligible_wanted = all_wanted")


def downgrade():
    with op.batch_alter_table("matching_basis") as batch:
        batch.drop_column("eligible_wanted")
