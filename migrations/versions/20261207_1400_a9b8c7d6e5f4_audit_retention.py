"""audit_entries: still append-only, but a row older than 183 days may be deleted (retention)

Issue 19: audit entries are kept at least 6 months (PIPL practice, and the 网络安全法 log
rule) and pruned by the retention job only after that. The database keeps the floor itself:
UPDATE is refused as before, DELETE of a row younger than 183 days too.

Revision ID: a9b8c7d6e5f4
Revises: e5f6a7b8c9d1
Create Date: 2026-12-07 14:00:00

"""
from alembic import op

revision = "a9b8c7d6e5f4"
down_revision = "e5f6a7b8c9d1"
branch_labels = None
depends_on = None

FLOOR_DAYS = 183


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' AND OLD.created_at < now() - interval '{FLOOR_DAYS} days' THEN
                RETURN OLD;
              END IF;
              RAISE EXCEPTION 'audit_entries is append-only (rows younger than {FLOOR_DAYS} days)';
            END; $$ LANGUAGE plpgsql""")
    else:
        op.execute("DROP TRIGGER audit_entries_no_delete")
        op.execute(f"""CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
            WHEN OLD.created_at >= datetime('now', '-{FLOOR_DAYS} days')
            BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_entries is append-only'; END; $$ LANGUAGE plpgsql""")
    else:
        op.execute("DROP TRIGGER audit_entries_no_delete")
        op.execute("""CREATE TRIGGER audit_entries_no_delete BEFORE DELETE
            ON audit_entries BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END""")
