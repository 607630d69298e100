"""stale_products: a product edit marks the needs that name it stale with one row

Before, the request updated match_states.wanted for every need showing the product (16,000 rows
for a popular product at 100,000 needs, inside the web request); now it writes one row and
freshness joins a need's stored rows to it (issue 13: the request's p95 whatever the size).

Revision ID: 6c1d2e3f4a5b
Revises: 5b7e0c9d2a41
Create Date: 2026-12-09 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "6c1d2e3f4a5b"
down_revision = "5b7e0c9d2a41"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stale_products",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_stale_products_product_id_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_stale_products")),
    )


def downgrade():
    op.drop_table("stale_products")
