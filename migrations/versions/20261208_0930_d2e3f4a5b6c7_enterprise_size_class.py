"""enterprises.size_class: the enterprise's size (declared, else 300号-derived) stored, so
the monitoring's 企业规模 slice filters every indicator in SQL

Kept by the model on every insert and update; filled here for the rows already there by the
same rule (matchmaker.sizes, pure).

Revision ID: d2e3f4a5b6c7
Revises: c1d2e3f4a5b6
Create Date: 2026-12-08 09:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "d2e3f4a5b6c7"
down_revision = "c1d2e3f4a5b6"
branch_labels = None
depends_on = None

enterprises = sa.table("enterprises", sa.column("id", sa.Integer),
                       sa.column("declared_size", sa.String), sa.column("industry", sa.String),
                       sa.column("employees", sa.Integer), sa.column("revenue_wan", sa.Numeric),
                       sa.column("assets_wan", sa.Numeric), sa.column("size_class", sa.String))


def upgrade():
    from matchmaker import sizes

    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("size_class", sa.String(length=8), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(
        enterprises.c.id, enterprises.c.declared_size, enterprises.c.industry,
        enterprises.c.employees, enterprises.c.revenue_wan, enterprises.c.assets_wan)).all()
    by_size: dict[str, list[int]] = {}
    for row in rows:
        size = row.declared_size
        if not size:
            try:
                size = sizes.derive(row.industry, row.employees, row.revenue_wan, row.assets_wan)
            except sizes.MissingMeasure:
                size = None
        if size:
            by_size.setdefault(size, []).append(row.id)
    for size, ids in by_size.items():
        for i in range(0, len(ids), 500):
            bind.execute(enterprises.update().where(enterprises.c.id.in_(ids[i:i + 500]))
                         .values(size_class=size))


def downgrade():
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("size_class")
