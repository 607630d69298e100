"""A self-registered enterprise waits for an organizer's check: enterprises.verification

verification ('verified' | 'pending' | 'refused'), when it was decided (who: the audit), why it was refused
(issue 17, finding 4). Rows written before this revision are 'verified': the migration cannot
tell a firm that registered itself from one an organizer collected, and the platform treated
them all as genuine until now.

Revision ID: 5b7e0c9d2a41
Revises: 5b8e2c4d7a91
Create Date: 2026-12-08 15:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "5b7e0c9d2a41"
down_revision = "5b8e2c4d7a91"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification", sa.String(length=12),
                                      server_default="verified", nullable=False))
        batch_op.add_column(sa.Column("verification_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("verification_reason", sa.Text(), nullable=True))
        batch_op.create_check_constraint(
            "verification", "verification IN ('verified', 'pending', 'refused')")
        batch_op.create_index(batch_op.f("ix_enterprises_verification"), ["verification"])


def downgrade():
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprises_verification"))
        batch_op.drop_constraint(op.f("ck_enterprises_verification"), type_="check")
        for column in ("verification_reason", "verification_at",
                       "verification"):
            batch_op.drop_column(column)
