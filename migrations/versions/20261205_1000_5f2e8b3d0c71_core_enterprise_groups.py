"""core-enterprise groups (集团): a group, its aliases, and its member companies

A supplier of 重庆京东方光电科技有限公司 is a supplier of 京东方 to a bank: a group's listed
companies are one core enterprise for supply-chain products (渝链贷).

Revision ID: 5f2e8b3d0c71
Revises: 4e1d7a2c9b60
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "5f2e8b3d0c71"
down_revision = "4e1d7a2c9b60"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "core_enterprise_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_enterprise_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_core_enterprise_groups_name")))
    op.create_table(
        "core_enterprise_group_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["core_enterprise_groups.id"], ondelete="CASCADE",
            name=op.f("fk_core_enterprise_group_aliases_group_id_core_enterprise_groups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_enterprise_group_aliases")),
        sa.UniqueConstraint("alias", name=op.f("uq_core_enterprise_group_aliases_alias")))
    op.create_index(op.f("ix_core_enterprise_group_aliases_group_id"),
                    "core_enterprise_group_aliases", ["group_id"], unique=False)
    with op.batch_alter_table("core_enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_core_enterprises_group_id"), ["group_id"],
                              unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_core_enterprises_group_id_core_enterprise_groups"),
            "core_enterprise_groups", ["group_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("core_enterprises", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_core_enterprises_group_id_core_enterprise_groups"),
            type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_core_enterprises_group_id"))
        batch_op.drop_column("group_id")
    op.drop_index(op.f("ix_core_enterprise_group_aliases_group_id"),
                  table_name="core_enterprise_group_aliases")
    op.drop_table("core_enterprise_group_aliases")
    op.drop_table("core_enterprise_groups")
