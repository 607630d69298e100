"""monitoring: targets with their source, off-platform activities, the banks' monthly
制造业贷款 return, the scorecard's criteria and weights, generated reports (issue 16)

The default targets and weights are the documents' figures, written here as data an admin
edits afterwards (policy-docs 001 一(二), 五(五); 003 一 增量·扩面·提质·降本).

Revision ID: 749199e65ead
Revises: c3d4e5f6a7b8
Create Date: 2026-12-07 09:00:00

"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '749199e65ead'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None

# copied, not imported: a migration is frozen
TARGETS = [
    ("borrowers_growth", "制造业贷款户数同比增长", 10, "%", "min",
     "东至县意见（003）一、总体目标·扩面：实现制造业贷款户数明显增长，原则上增长比例不低于10%"),
    ("mfg_loan_share", "制造业贷款占比（各银行月报）", 10, "%", "min",
     "渝经信规范〔2024〕7号 一（二）：制造业贷款余额占全市各项贷款比重提高到10%以上；五（五）将制造业贷款占比和增速列入银行业金融机构绩效考评"),
    ("enterprises_served", "对接服务企业（全年）", 1000, "家次", "min",
     "渝经信规范〔2024〕7号 一（二）：每年组织制造业投融资活动对接服务企业1000家（次）"),
    ("first_loan_growth", "首贷户同比增长", 0, "%", "min",
     "东至县意见（003）扩面：加大“首贷户”信贷投放力度；永金组发〔2023〕1号：提高首贷占比"),
    ("long_term_share_change", "中长期贷款占比较上年变化", 0, "百分点", "min",
     "渝经信规范〔2024〕7号 一（二）：中长期贷款、信用贷款比重明显提高；东至县意见（003）提质"),
    ("credit_share_change", "信用贷款占比较上年变化", 0, "百分点", "min",
     "渝经信规范〔2024〕7号 一（二）：中长期贷款、信用贷款比重明显提高；东至县意见（003）提质"),
    ("rate_change", "加权平均利率较上年变化", 0, "百分点", "max",
     "东至县意见（003）降本：制造业贷款加权平均利率低于上年"),
]
CRITERIA = [
    ("mfg_share", "制造业贷款占比", 20, "渝经信规范〔2024〕7号 五（五）：制造业贷款占比和增速列入绩效考评"),
    ("mfg_growth", "制造业贷款增速", 20, "渝经信规范〔2024〕7号 五（五）；东至县意见（003）增量"),
    ("first_loans", "首贷户", 15, "东至县意见（003）扩面：首贷户"),
    ("long_term_share", "中长期贷款占比", 10, "东至县意见（003）提质；渝经信规范〔2024〕7号 一（二）"),
    ("credit_share", "信用贷款占比", 10, "东至县意见（003）提质；渝经信规范〔2024〕7号 一（二）"),
    ("rate", "加权平均利率（越低越好）", 10, "东至县意见（003）降本"),
    ("timeliness", "服务时效（按时联系、按时答复）", 10, "平台线索办理时限（工作日）"),
    ("rating", "企业评价", 5, "东至县意见（003）强化考核评价；平台企业评价"),
]



def upgrade():
    op.create_table('monitoring_score_criteria',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('weight', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('weight >= 0 AND weight <= 100', name=op.f('ck_monitoring_score_criteria_weight')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_monitoring_score_criteria'))
    )
    op.create_table('monitoring_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('enterprises', sa.Integer(), nullable=False),
    sa.Column('institutions', sa.Integer(), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("district IS NULL OR district IN ('万州区', '涪陵区', '渝中区', '大渡口区', '江北区', '沙坪坝区', '九龙坡区', '南岸区', '北碚区', '綦江区', '大足区', '渝北区', '巴南区', '黔江区', '长寿区', '江津区', '合川区', '永川区', '南川区', '璧山区', '铜梁区', '潼南区', '荣昌区', '开州区', '梁平区', '武隆区', '城口县', '丰都县', '垫江县', '忠县', '云阳县', '奉节县', '巫山县', '巫溪县', '石柱土家族自治县', '秀山土家族苗族自治县', '酉阳土家族苗族自治县', '彭水苗族土家族自治县', '两江新区', '重庆高新区', '万盛经开区')", name=op.f('ck_monitoring_activities_district')),
    sa.CheckConstraint("kind IN ('roadshow', 'bank_guarantor_enterprise', 'training', 'other')", name=op.f('ck_monitoring_activities_kind')),
    sa.CheckConstraint('enterprises >= 0 AND institutions >= 0', name=op.f('ck_monitoring_activities_counts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_monitoring_activities_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_activities'))
    )
    with op.batch_alter_table('monitoring_activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_activities_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_activities_district'), ['district'], unique=False)

    op.create_table('monitoring_bank_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('loans_total_wan', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('mfg_balance_wan', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('mfg_increase_wan', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('long_term_wan', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('credit_wan', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('first_loan_borrowers', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('first_loan_borrowers >= 0', name=op.f('ck_monitoring_bank_returns_first_loans')),
    sa.CheckConstraint('loans_total_wan >= mfg_balance_wan AND mfg_balance_wan >= 0', name=op.f('ck_monitoring_bank_returns_balances')),
    sa.CheckConstraint('long_term_wan >= 0 AND credit_wan >= 0 AND long_term_wan <= mfg_balance_wan AND credit_wan <= mfg_balance_wan', name=op.f('ck_monitoring_bank_returns_parts')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_monitoring_bank_returns_institution_id_institutions')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_monitoring_bank_returns_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_bank_returns')),
    sa.UniqueConstraint('institution_id', 'month', name='uq_monitoring_bank_returns_month')
    )
    with op.batch_alter_table('monitoring_bank_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_bank_returns_institution_id'), ['institution_id'], unique=False)

    op.create_table('monitoring_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('generated_at', sa.DateTime(), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('monthly', 'quarterly')", name=op.f('ck_monitoring_reports_kind')),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_monitoring_reports_generated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_reports'))
    )
    op.create_table('monitoring_targets',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("direction IN ('min', 'max')", name=op.f('ck_monitoring_targets_direction')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_monitoring_targets_updated_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_monitoring_targets'))
    )

    now = datetime(2026, 12, 7, 1, 0)
    targets = sa.table("monitoring_targets", sa.column("key"), sa.column("label"),
                       sa.column("value"), sa.column("unit"), sa.column("direction"),
                       sa.column("source"), sa.column("updated_at"))
    op.bulk_insert(targets, [dict(zip(("key", "label", "value", "unit", "direction", "source"),
                                      row), updated_at=now) for row in TARGETS])
    criteria = sa.table("monitoring_score_criteria", sa.column("key"), sa.column("label"),
                        sa.column("weight"), sa.column("source"), sa.column("position"))
    op.bulk_insert(criteria, [dict(zip(("key", "label", "weight", "source"), row), position=i)
                              for i, row in enumerate(CRITERIA)])


def downgrade():
    op.drop_table('monitoring_targets')
    op.drop_table('monitoring_reports')
    with op.batch_alter_table('monitoring_bank_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_bank_returns_institution_id'))

    op.drop_table('monitoring_bank_returns')
    with op.batch_alter_table('monitoring_activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_activities_district'))
        batch_op.drop_index(batch_op.f('ix_monitoring_activities_day'))

    op.drop_table('monitoring_activities')
    op.drop_table('monitoring_score_criteria')
