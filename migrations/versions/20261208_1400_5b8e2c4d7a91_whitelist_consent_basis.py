"""A whitelist entry's consent names its basis and who recorded it

whitelist_entries: consent_note (授权说明, optional) becomes consent_basis (授权依据, required
with the consent from now on: the organizer records the firm's consent to be pushed on its
behalf, issue 17 finding 5), plus consent_recorded_by_id and consent_recorded_at. Entries
written before this revision keep NULL recorder (the migration cannot know who ticked the
consent): one with consent is not pushed until an organizer saves its basis (whitelists.rules,
no_basis), which records them.

Revision ID: 5b8e2c4d7a91
Revises: 4adc7b24138f
Create Date: 2026-12-08 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "5b8e2c4d7a91"
down_revision = "4adc7b24138f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("whitelist_entries", schema=None) as batch_op:
        batch_op.alter_column("consent_note", new_column_name="consent_basis",
                              existing_type=sa.String(length=255), existing_nullable=True)
        batch_op.add_column(sa.Column("consent_recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("consent_recorded_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_whitelist_entries_consent_recorded_by_id_users"),
                                    "users", ["consent_recorded_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("whitelist_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_whitelist_entries_consent_recorded_by_id_users"),
                                 type_="foreignkey")
        batch_op.drop_column("consent_recorded_at")
        batch_op.drop_column("consent_recorded_by_id")
        batch_op.alter_column("consent_basis", new_column_name="consent_note",
                              existing_type=sa.String(length=255), existing_nullable=True)
