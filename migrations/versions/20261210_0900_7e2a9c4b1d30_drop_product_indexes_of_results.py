"""matches and near_misses lose their index on product_id: it cost a third of writing results

A need's rows are written together (need ids ascending), but their product ids are random, so
every row inserted or deleted touched another leaf of the product_id index. On SQLite, writing
the rows of 5,000 needs (167,270 match rows, 20,000-need platform, seed 1):

    with the index:    delete 0.47–0.64 s, insert 1.14–1.72 s
    without:           delete 0.22 s,      insert 0.75–0.86 s

No page reads results by product: a product's job asks which of a part's needs store it
(product_impact: `product_id = ? AND need_id BETWEEN ? AND ?`), which the unique index on
(need_id, product_id) answers, and a product is never deleted (it is retired), so the
foreign keys' ON DELETE CASCADE never searches by it.

Revision ID: 7e2a9c4b1d30
Revises: 6c1d2e3f4a5b
Create Date: 2026-12-10 09:00:00

"""
from alembic import op

revision = "7e2a9c4b1d30"
down_revision = "6c1d2e3f4a5b"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_matches_product_id", table_name="matches")
    op.drop_index("ix_near_misses_product_id", table_name="near_misses")


def downgrade():
    op.create_index("ix_near_misses_product_id", "near_misses", ["product_id"])
    op.create_index("ix_matches_product_id", "matches", ["product_id"])
