"""enterprise accounts for collected firms: claim requests, first-user invitations, applicants

A person registering with the USCC of an enterprise the platform knows gets an account of the
new role `applicant`, holding no enterprise, and an `enterprise_claims` row that the
enterprise's admin or an organizer of its district approves or refuses. An organizer's
invitation of a collected firm's first user makes that user the enterprise's admin
(`invitations.enterprise_admin`).

Revision ID: c2d3e4f5a6b7
Revises: b9759ce5b641
Create Date: 2026-12-08 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "c2d3e4f5a6b7"
down_revision = "b9759ce5b641"
branch_labels = None
depends_on = None

# frozen copies of the role CHECK before and after (roles as of this revision)
ROLES_BEFORE = "role IN ('enterprise', 'bank_manager', 'bank_admin', 'organizer', 'admin')"
ROLES_AFTER = ("role IN ('enterprise', 'bank_manager', 'bank_admin', 'organizer', 'admin', "
               "'applicant')")
PENDING = sa.text("status = 'pending'")


def _foreign_keys(state: str):
    """SQLite rebuilds `users` (its CHECKs change) by copy, drop and rename; dropping a table
    that other rows reference fails under foreign_keys=ON (deferred, the commit fails), and
    the pragma is a no-op inside a transaction: it is switched outside one. The rebuilt
    table keeps every id, so nothing dangles (checked below)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.get_context().autocommit_block():
        raw = op.get_bind().connection.driver_connection
        if raw.in_transaction:  # the app's engine says BEGIN on every begin, even here
            raw.execute("COMMIT")
        raw.execute(f"PRAGMA foreign_keys = {state}")


def _check_foreign_keys():
    if op.get_bind().dialect.name == "sqlite":
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")


def upgrade():
    _foreign_keys("OFF")
    op.create_table(
        "enterprise_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.String(length=128), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused')",
                           name=op.f("ck_enterprise_claims_status")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_enterprise_claims_decided_by_id_users")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name=op.f("fk_enterprise_claims_enterprise_id_enterprises")),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"],
                                name=op.f("fk_enterprise_claims_requester_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_claims")))
    op.create_index(op.f("ix_enterprise_claims_enterprise_id"), "enterprise_claims",
                    ["enterprise_id"])
    op.create_index(op.f("ix_enterprise_claims_requester_id"), "enterprise_claims",
                    ["requester_id"])
    op.create_index("uq_enterprise_claims_pending_requester", "enterprise_claims",
                    ["requester_id"], unique=True, sqlite_where=PENDING,
                    postgresql_where=PENDING)
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_admin", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.drop_constraint(op.f("ck_invitations_role"), type_="check")
        batch_op.create_check_constraint("role", ROLES_AFTER)
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("enterprise_admin", server_default=None)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", ROLES_AFTER)
        batch_op.create_check_constraint("no_enterprise_for_applicant",
                                         "role != 'applicant' OR enterprise_id IS NULL")
    _check_foreign_keys()
    _foreign_keys("ON")


def downgrade():
    # an applicant has no place in the old schema: refuse rather than drop accounts
    bind = op.get_bind()
    applicants = bind.execute(sa.text(
        "SELECT COUNT(*) FROM users WHERE role = 'applicant'")).scalar()
    if applicants:
        raise RuntimeError(f"{applicants} applicant accounts are stored; the old schema "
                           "cannot hold them")
    _foreign_keys("OFF")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_no_enterprise_for_applicant"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", ROLES_BEFORE)
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invitations_role"), type_="check")
        batch_op.create_check_constraint("role", ROLES_BEFORE)
        batch_op.drop_column("enterprise_admin")
    op.drop_index("uq_enterprise_claims_pending_requester", table_name="enterprise_claims")
    op.drop_index(op.f("ix_enterprise_claims_requester_id"), table_name="enterprise_claims")
    op.drop_index(op.f("ix_enterprise_claims_enterprise_id"), table_name="enterprise_claims")
    op.drop_table("enterprise_claims")
    _check_foreign_keys()
    _foreign_keys("ON")
