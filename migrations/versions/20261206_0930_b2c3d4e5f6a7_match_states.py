"""matching stores what people read: ranked top lists, freshness per need, product reach

The matches and near_misses tables held every eligible pairing; from here on they hold each
need's shown list plus a reserve (ranked). Their rows are cleared: run `matchmaker match
--all` after upgrading (needs without a state show "正在更新" until then).

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-12-06 09:30:00

"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "b2c3d4e5f6a7"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM matches")
    op.execute("DELETE FROM near_misses")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("institution_best", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.drop_index("ix_matches_need_score")
        batch_op.create_index("ix_matches_need_rank", ["need_id", "rank"], unique=False)
    with op.batch_alter_table("near_misses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "match_states",
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.BigInteger(), nullable=False),
        sa.Column("wanted", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("near_complete", sa.Boolean(), nullable=False),
        sa.Column("eligible_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"],
                                name=op.f("fk_match_states_need_id_needs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk_match_states")),
    )
    basis = op.create_table(
        "matching_basis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("all_wanted", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_basis")),
    )
    op.bulk_insert(basis, [{"id": 1, "epoch": 1, "all_wanted": 1,
                            "changed_at": datetime(2026, 12, 1)}])
    op.create_table(
        "product_reach",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("needs", sa.Integer(), nullable=False),
        sa.Column("amount_wan", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_product_reach_product_id_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_reach")),
    )


def downgrade():
    op.drop_table("product_reach")
    op.drop_table("matching_basis")
    op.drop_table("match_states")
    with op.batch_alter_table("near_misses", schema=None) as batch_op:
        batch_op.drop_column("rank")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index("ix_matches_need_rank")
        batch_op.create_index("ix_matches_need_score", ["need_id", "score"], unique=False)
        batch_op.drop_column("institution_best")
        batch_op.drop_column("rank")
