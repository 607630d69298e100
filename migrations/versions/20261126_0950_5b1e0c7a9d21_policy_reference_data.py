"""policy reference data: LPR quotes and the subsidy programs in force

The figures are the policy texts' (dated); administrators edit them afterwards in the app.
Copied here, not imported from the app, so this migration never changes meaning.

Revision ID: 5b1e0c7a9d21
Revises: cde4779dd3b9
Create Date: 2026-11-26 09:50:00

"""
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "5b1e0c7a9d21"
down_revision = "cde4779dd3b9"
branch_labels = None
depends_on = None

NOW = datetime(2026, 11, 26, tzinfo=UTC).replace(tzinfo=None)

reference_rates = sa.table(
    "reference_rates", sa.column("kind", sa.String), sa.column("rate", sa.Numeric),
    sa.column("effective_from", sa.Date), sa.column("created_at", sa.DateTime))
subsidy_programs = sa.table(
    "subsidy_programs", sa.column("code", sa.String), sa.column("label", sa.String),
    sa.column("source", sa.String), sa.column("rule_text", sa.Text),
    sa.column("settings", sa.JSON), sa.column("effective_from", sa.Date),
    sa.column("effective_to", sa.Date), sa.column("updated_at", sa.DateTime))
settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON),
                    sa.column("updated_at", sa.DateTime))

PROGRAMS = [
    {"code": "tech_upgrade_interest", "label": "技改专项贷款贴息",
     "source": "渝经信规范〔2024〕7号 四（一）",
     "rule_text": "融资用途为技术改造的贷款：按实际利率的50%贴息，单户企业每年贴息不超过1000万元。",
     "settings": {"share_of_rate": 0.5, "cap_wan_per_year": 1000},
     "effective_from": date(2024, 2, 21)},
    {"code": "equipment_renewal_relending", "label": "设备更新改造专项再贷款财政贴息",
     "source": "永金组发〔2023〕1号",
     "rule_text": "融资用途为技术改造或设备融资租赁的贷款：中央财政贴息2.5个百分点，贴息后利率不低于0。",
     "settings": {"points": 2.5}, "effective_from": date(2023, 1, 1)},
    {"code": "guarantee_fee_subsidy", "label": "融资担保费补助",
     "source": "渝经信规范〔2024〕7号 四（一）",
     "rule_text": "由融资担保机构担保、年担保费率不超过1%的贷款：补助担保费的50%，单户企业每年不超过100万元。",
     "settings": {"max_fee_rate": 1.0, "share_of_fee": 0.5, "cap_wan_per_year": 100},
     "effective_from": date(2024, 2, 21)},
    {"code": "bridge_fee_waiver", "label": "应急转贷使用费减免",
     "source": "渝经信规范〔2024〕7号 四（二）",
     "rule_text": "专精特新中小企业、“小巨人”企业、制造业单项冠军使用应急转贷资金免收使用费；"
                  "转贷额度最高3000万元，“双百”企业最高8000万元。",
     "settings": {"cap_wan": 3000, "cap_wan_double_hundred": 8000},
     "effective_from": date(2024, 2, 21)},
]

SETTINGS = {
    "guarantee_fee_rate": 1.0,       # typical annual guarantee fee, % (渝府办发〔2020〕76号 十: 降至1%以下)
    "claim_limit_per_need": 3,       # K institutions may hold a claim on one need at once
    "first_contact_working_days": 2,
    "decision_working_days": 10,
    "enterprises_served_target": 1000,  # 渝经信规范〔2024〕7号: 每年对接服务企业1000家(次)
}


def upgrade():
    op.bulk_insert(reference_rates, [
        {"kind": "lpr_1y", "rate": 3.0, "effective_from": date(2025, 5, 20), "created_at": NOW},
        {"kind": "lpr_5y", "rate": 3.5, "effective_from": date(2025, 5, 20), "created_at": NOW},
    ])
    op.bulk_insert(subsidy_programs, [dict(p, effective_to=None, updated_at=NOW)
                                      for p in PROGRAMS])
    op.bulk_insert(settings, [{"key": k, "value": v, "updated_at": NOW}
                              for k, v in SETTINGS.items()])


def downgrade():
    op.execute(settings.delete())
    op.execute(subsidy_programs.delete())
    op.execute(reference_rates.delete())
