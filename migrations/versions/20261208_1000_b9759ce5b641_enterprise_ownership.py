"""enterprises.ownership (控股情况), and the bridge fund's own condition as an "or"

Issue 15. 渝经信规范〔2024〕7号 四（二）: the 应急转贷 fund serves 制造业中小微企业 and
双百企业中的大型民营企业. The second branch needs the enterprise's ownership, which no record
held: `ownership` (国统字〔2005〕79号's 控股情况: state 110, collective 120, private 210,
hk_macao_taiwan 220, foreign 230, other), NULL when unknown — every enterprise stored so far,
and every one an exchange file brings (the format has no such field). The programme's
eligibility becomes "(制造业 AND 中小微) OR (大型 AND 双百 verified AND 民营)" through the new
`any_of` key, as a new version of the programme, unless an administrator already changed it.

Revision ID: b9759ce5b641
Revises: d2e3f4a5b6c7
Create Date: 2026-12-08 10:00:00

"""
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "b9759ce5b641"
down_revision = "d2e3f4a5b6c7"
branch_labels = None
depends_on = None

NOW = datetime(2026, 12, 8, 10, tzinfo=UTC).replace(tzinfo=None)
CODE = "bridge_fee_waiver"
# frozen copies: never imported from the app
OWNERSHIPS = ("private", "state", "collective", "hk_macao_taiwan", "foreign", "other")
BEFORE = {"institution_kinds": ["bridge_fund"], "industries": ["C"]}
AFTER = {"institution_kinds": ["bridge_fund"],
         "any_of": [{"industries": ["C"], "sizes": ["medium", "small", "micro"]},
                    {"sizes": ["large"], "tags": ["double_hundred"], "ownership": ["private"]}]}
FIELDS = ("code", "label", "source", "rule_text", "quote", "how_to_apply", "benefit", "payee",
          "basis", "eligibility", "stacks_with", "settings", "effective_from", "effective_to")

programs = sa.table(
    "subsidy_programs", sa.column("id", sa.Integer), sa.column("code", sa.String),
    sa.column("label", sa.String), sa.column("source", sa.String),
    sa.column("rule_text", sa.Text), sa.column("quote", sa.Text),
    sa.column("how_to_apply", sa.Text), sa.column("benefit", sa.String),
    sa.column("payee", sa.String), sa.column("basis", sa.String),
    sa.column("eligibility", sa.JSON), sa.column("stacks_with", sa.JSON),
    sa.column("settings", sa.JSON), sa.column("effective_from", sa.Date),
    sa.column("effective_to", sa.Date), sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime))
versions = sa.table(
    "subsidy_program_versions", sa.column("program_id", sa.Integer),
    sa.column("version", sa.Integer), sa.column("snapshot", sa.JSON),
    sa.column("changed_at", sa.DateTime))


def _snapshot(row) -> dict:
    return {name: row[name].isoformat() if isinstance(row[name], date) else row[name]
            for name in FIELDS}


def _program(bind):
    return bind.execute(sa.select(programs).where(programs.c.code == CODE)).mappings().first()


def upgrade():
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ownership", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            "ownership", "ownership IS NULL OR ownership IN ("
            + ", ".join(f"'{code}'" for code in OWNERSHIPS) + ")")
    bind = op.get_bind()
    row = _program(bind)
    if row is None or row["eligibility"] != BEFORE:
        return          # an administrator changed it: theirs stands (README says how to edit)
    version = row["version"] + 1
    bind.execute(programs.update().where(programs.c.id == row["id"]).values(
        eligibility=AFTER, version=version, updated_at=NOW))
    row = _program(bind)
    op.bulk_insert(versions, [{"program_id": row["id"], "version": version,
                               "snapshot": _snapshot(row), "changed_at": NOW}])


def downgrade():
    bind = op.get_bind()
    row = _program(bind)
    if row is not None and row["eligibility"] == AFTER:
        bind.execute(versions.delete().where(versions.c.program_id == row["id"],
                                             versions.c.version == row["version"]))
        bind.execute(programs.update().where(programs.c.id == row["id"]).values(
            eligibility=BEFORE, version=row["version"] - 1, updated_at=NOW))
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enterprises_ownership"), type_="check")
        batch_op.drop_column("ownership")
