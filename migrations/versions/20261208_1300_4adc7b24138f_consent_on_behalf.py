"""Consent recorded on an enterprise's behalf: its basis and who recorded it

needs: consent_basis, consent_recorded_by_id, consent_recorded_at (the consent_to_share flag
set by an organizer's spreadsheet or an import, issue 17 finding 5); consents: basis,
recorded_by_id (copied from the need onto each consent the flag grants). Rows written before
this revision keep NULL: the platform does not know on what basis they were recorded.

Revision ID: 4adc7b24138f
Revises: e1a12a18a010
Create Date: 2026-12-08 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "4adc7b24138f"
down_revision = "e1a12a18a010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_basis", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("consent_recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("consent_recorded_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_needs_consent_recorded_by_id_users"),
                                    "users", ["consent_recorded_by_id"], ["id"])
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_consents_recorded_by_id_users"),
                                    "users", ["recorded_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_consents_recorded_by_id_users"),
                                 type_="foreignkey")
        batch_op.drop_column("recorded_by_id")
        batch_op.drop_column("basis")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_needs_consent_recorded_by_id_users"),
                                 type_="foreignkey")
        batch_op.drop_column("consent_recorded_at")
        batch_op.drop_column("consent_recorded_by_id")
        batch_op.drop_column("consent_basis")
