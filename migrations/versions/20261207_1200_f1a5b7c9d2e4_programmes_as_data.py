"""subsidy programmes as data: who qualifies, what it pays and to whom, versions, confirmations

Issue 15. The four rows are restated from the documents (the vocabulary's corrected entries):
渝经信规范〔2024〕7号 takes effect 30 days after 2024-02-21 (2024-03-22) and runs to 2027; the
bridge waiver names national and municipal 专精特新中小企业 only (no 单项冠军) and an 8000万元
ceiling (no 3000万元 cap); the 担保费补助 is paid to the guarantor for 技改专项贷 projects; the
设备更新 re-lending subsidy is for bank loans (not leasing), from 2023-03-01, and stacks with
nothing. The code CHECKs go (an administrator adds programmes); each row's first version is
kept in subsidy_program_versions. A product's declared programmes are requests until an
organizer confirms them (program_confirmations); the declarations stored before this revision
were believed unchecked, which is the fault issue 15 corrects: none is confirmed here. After
upgrading, organizers confirm them (管理 → 政策 → 待确认), then run `matchmaker match --all`.

Revision ID: f1a5b7c9d2e4
Revises: d4e5f6a7b8c9
Create Date: 2026-12-07 12:00:00

"""
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "f1a5b7c9d2e4"
down_revision = "d4e5f6a7b8c9"
branch_labels = None
depends_on = None

NOW = datetime(2026, 12, 7, tzinfo=UTC).replace(tzinfo=None)
TERMS_CHECK = "ck_product_terms_value_in_vocabulary"
# frozen copies of the product_terms CHECK before and after
TERMS_BEFORE = "(field = 'purposes' AND value IN ('working_capital', 'tech_upgrade', 'supply_chain', 'project', 'rnd', 'green', 'trade', 'equipment_lease')) OR (field = 'guarantee_modes' AND value IN ('credit', 'mortgage', 'pledge', 'guarantee')) OR (field = 'sizes' AND value IN ('large', 'medium', 'small', 'micro')) OR (field = 'tags_any' AND value IN ('specialized_sme', 'little_giant', 'single_champion', 'innovative_sme', 'high_tech', 'tech_sme', 'gazelle', 'unicorn', 'double_hundred', 'chain_leader', 'listed', 'listing_pipeline', 'green_factory', 'foreign_trade')) OR (field = 'districts' AND value IN ('万州区', '涪陵区', '渝中区', '大渡口区', '江北区', '沙坪坝区', '九龙坡区', '南岸区', '北碚区', '綦江区', '大足区', '渝北区', '巴南区', '黔江区', '长寿区', '江津区', '合川区', '永川区', '南川区', '璧山区', '铜梁区', '潼南区', '荣昌区', '开州区', '梁平区', '武隆区', '城口县', '丰都县', '垫江县', '忠县', '云阳县', '奉节县', '巫山县', '巫溪县', '石柱土家族自治县', '秀山土家族苗族自治县', '酉阳土家族苗族自治县', '彭水苗族土家族自治县', '两江新区', '重庆高新区', '万盛经开区')) OR (field = 'tax_credit_grades' AND value IN ('A', 'B', 'M', 'C', 'D')) OR (field = 'loan_kinds' AND value IN ('first_loan', 'renewal', 'new')) OR (field = 'subsidy_programs' AND value IN ('tech_upgrade_interest', 'equipment_renewal_relending', 'guarantee_fee_subsidy', 'bridge_fee_waiver')) OR (field = 'industries' AND value != '') OR (field = 'core_enterprises' AND value != '')"
TERMS_AFTER = "(field = 'purposes' AND value IN ('working_capital', 'tech_upgrade', 'supply_chain', 'project', 'rnd', 'green', 'trade', 'equipment_lease')) OR (field = 'guarantee_modes' AND value IN ('credit', 'mortgage', 'pledge', 'guarantee')) OR (field = 'sizes' AND value IN ('large', 'medium', 'small', 'micro')) OR (field = 'tags_any' AND value IN ('specialized_sme', 'little_giant', 'single_champion', 'innovative_sme', 'high_tech', 'tech_sme', 'gazelle', 'unicorn', 'double_hundred', 'chain_leader', 'listed', 'listing_pipeline', 'green_factory', 'foreign_trade')) OR (field = 'districts' AND value IN ('万州区', '涪陵区', '渝中区', '大渡口区', '江北区', '沙坪坝区', '九龙坡区', '南岸区', '北碚区', '綦江区', '大足区', '渝北区', '巴南区', '黔江区', '长寿区', '江津区', '合川区', '永川区', '南川区', '璧山区', '铜梁区', '潼南区', '荣昌区', '开州区', '梁平区', '武隆区', '城口县', '丰都县', '垫江县', '忠县', '云阳县', '奉节县', '巫山县', '巫溪县', '石柱土家族自治县', '秀山土家族苗族自治县', '酉阳土家族苗族自治县', '彭水苗族土家族自治县', '两江新区', '重庆高新区', '万盛经开区')) OR (field = 'tax_credit_grades' AND value IN ('A', 'B', 'M', 'C', 'D')) OR (field = 'loan_kinds' AND value IN ('first_loan', 'renewal', 'new')) OR (field = 'industries' AND value != '') OR (field = 'core_enterprises' AND value != '') OR (field = 'subsidy_programs' AND value != '')"
OLD_CODES = ("tech_upgrade_interest", "equipment_renewal_relending", "guarantee_fee_subsidy",
             "bridge_fee_waiver")

# the programmes as the documents state them (frozen here: never imported from the app)
PROGRAMS = {
    "tech_upgrade_interest": {
        "label": "技改专项贷款贴息", "source": "渝经信规范〔2024〕7号 四（一）",
        "rule_text": "对获得“技改专项贷”支持的制造业项目，按不超过项目实际贷款利率的50%给予贴息，"
                  "单个企业项目每年贴息不超过1000万元。",
        "quote": "对获得“技改专项贷”支持的制造业项目，按照不超项目实际贷款利率的50%给予贴息补助，"
              "单个企业项目每年贴息不超1000万元",
        "how_to_apply": "项目获得“技改专项贷”支持后，由企业按年度向区县经济信息部门申报贴息，"
                     "经审核后拨付。",
        "benefit": "rate_share", "payee": "enterprise", "basis": "year",
        "eligibility": {"purposes": ["tech_upgrade"], "institution_kinds": ["bank", "guarantee"],
                        "industries": ["C"]},
        "settings": {"share_of_rate": 0.5, "cap_wan_per_year": 1000},
        "effective_from": date(2024, 3, 22), "effective_to": date(2027, 12, 31)},
    "equipment_renewal_relending": {
        "label": "设备更新改造专项再贷款财政贴息", "source": "永金组发〔2023〕1号 五（一）",
        "rule_text": "银行以设备更新改造专项再贷款发放的技术改造贷款（不含融资租赁），中央财政贴息"
                  "2.5个百分点，贴息后利率不低于0；不与技改专项贷款贴息叠加。",
        "quote": "积极争取设备更新改造专项再贷款支持，落实好中央财政贴息2.5%政策",
        "how_to_apply": "向承办设备更新改造专项再贷款的银行申请贷款，贴息由中央财政通过"
                     "贷款银行落实。",
        "benefit": "rate_points", "payee": "enterprise", "basis": "year",
        "eligibility": {"purposes": ["tech_upgrade"], "institution_kinds": ["bank"]},
        "settings": {"points": 2.5},
        "effective_from": date(2023, 3, 1), "effective_to": None},
    "guarantee_fee_subsidy": {
        "label": "融资担保费补助", "source": "渝经信规范〔2024〕7号 四（一）",
        "rule_text": "为“技改专项贷”项目提供担保且年化担保费率不超过1%的融资担保机构，按不超过"
                  "实际担保费率的50%给予最高不超过100万元补助；补助付给担保机构，不是企业的"
                  "节省。",
        "quote": "对为“技改专项贷”项目提供担保且年化担保费率不超过1%的融资担保机构，按不超过"
              "实际担保费率的50%给予最高不超100万元补助",
        "how_to_apply": "由提供担保的融资担保机构申报，补助拨付给担保机构；企业可向担保机构"
                     "了解是否让利。",
        "benefit": "fee_share", "payee": "guarantor", "basis": "year",
        "eligibility": {"purposes": ["tech_upgrade"], "industries": ["C"]},
        "settings": {"max_fee_rate": 1.0, "share_of_fee": 0.5, "cap_wan": 100},
        "effective_from": date(2024, 3, 22), "effective_to": date(2027, 12, 31)},
    "bridge_fee_waiver": {
        "label": "应急转贷周转金支持与使用费减免", "source": "渝经信规范〔2024〕7号 四（二）",
        "rule_text": "为符合条件、还款出现暂时困难的制造业中小微企业、双百企业中的大型民营企业"
                  "提供最高不超过8000万元的应急周转资金；国家和市级专精特新中小企业免收使用费；"
                  "中小微企业使用费阶段性减免至2027年。使用费按实际使用天数计收。",
        "quote": "为符合条件、还款出现暂时困难的制造业中小微企业、双百企业中的大型民营企业提供最高"
              "不超8000万元的应急周转资金支持。对符合条件的国家和市级专精特新中小企业免收应急"
              "转贷周转金使用费。推动落实中小微企业应急转贷资金使用费阶段性减免至2027年",
        "how_to_apply": "贷款到期前，经合作银行同意续贷后向应急转贷资金管理机构申请；"
                     "专精特新中小企业提交认定文件，免收使用费。",
        "benefit": "use_fee", "payee": "enterprise", "basis": "day",
        "eligibility": {"institution_kinds": ["bridge_fund"], "industries": ["C"]},
        "settings": {"cap_wan": 8000, "waiver_tags": ["specialized_sme", "little_giant"]},
        "effective_from": date(2024, 3, 22), "effective_to": date(2027, 12, 31)},
}
FIELDS = ("label", "source", "rule_text", "quote", "how_to_apply", "benefit", "payee", "basis",
          "eligibility", "stacks_with", "settings", "effective_from", "effective_to")

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
    out = {}
    for name in ("code",) + FIELDS:
        value = row[name]
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def upgrade():
    op.create_table(
        "program_confirmations",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("program_code", sa.String(length=48), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"],
                                name=op.f("fk_program_confirmations_confirmed_by_id_users")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE",
                                name=op.f("fk_program_confirmations_product_id_products")),
        sa.PrimaryKeyConstraint("product_id", "program_code",
                                name=op.f("pk_program_confirmations")))
    with op.batch_alter_table("subsidy_programs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_subsidy_programs_code"), type_="check")
        batch_op.add_column(sa.Column("quote", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("how_to_apply", sa.Text(), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("benefit", sa.String(length=16), nullable=False,
                                      server_default="rate_share"))
        batch_op.add_column(sa.Column("payee", sa.String(length=16), nullable=False,
                                      server_default="enterprise"))
        batch_op.add_column(sa.Column("basis", sa.String(length=8), nullable=False,
                                      server_default="year"))
        batch_op.add_column(sa.Column("eligibility", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("stacks_with", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                      server_default="1"))
    bind = op.get_bind()
    for code, values in PROGRAMS.items():
        bind.execute(programs.update().where(programs.c.code == code).values(
            **values, stacks_with=[], updated_at=NOW))
    for row in bind.execute(sa.select(programs)).mappings().all():
        if row["eligibility"] is None or row["stacks_with"] is None:
            bind.execute(programs.update().where(programs.c.id == row["id"]).values(
                eligibility=row["eligibility"] or {}, stacks_with=row["stacks_with"] or []))
    with op.batch_alter_table("subsidy_programs", schema=None) as batch_op:
        batch_op.alter_column("eligibility", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("stacks_with", existing_type=sa.JSON(), nullable=False)
        for name, kind in (("quote", sa.Text()), ("how_to_apply", sa.Text()),
                           ("benefit", sa.String(length=16)), ("payee", sa.String(length=16)),
                           ("basis", sa.String(length=8)), ("version", sa.Integer())):
            batch_op.alter_column(name, existing_type=kind, server_default=None)
        batch_op.create_check_constraint(
            "benefit", "benefit IN ('rate_share', 'rate_points', 'fee_share', 'use_fee')")
        batch_op.create_check_constraint("payee", "payee IN ('enterprise', 'guarantor')")
        batch_op.create_check_constraint("basis", "basis IN ('year', 'day')")
        batch_op.create_check_constraint("version", "version >= 1")
    # after the last rebuild of subsidy_programs (SQLite batch mode drops and recreates it)
    op.create_table(
        "subsidy_program_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"],
                                name=op.f("fk_subsidy_program_versions_changed_by_id_users")),
        sa.ForeignKeyConstraint(
            ["program_id"], ["subsidy_programs.id"],
            name=op.f("fk_subsidy_program_versions_program_id_subsidy_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_program_versions")),
        sa.UniqueConstraint("program_id", "version",
                            name="uq_subsidy_program_versions_program_version"))
    with op.batch_alter_table("subsidy_program_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidy_program_versions_program_id"),
                              ["program_id"], unique=False)
    rows = bind.execute(sa.select(programs)).mappings().all()
    if rows:
        op.bulk_insert(versions, [{"program_id": row["id"], "version": row["version"],
                                   "snapshot": _snapshot(row), "changed_at": NOW}
                                  for row in rows])
    with op.batch_alter_table("product_terms", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(TERMS_CHECK), type_="check")
        batch_op.create_check_constraint("value_in_vocabulary", TERMS_AFTER)


def downgrade():
    bind = op.get_bind()
    others = bind.execute(sa.select(sa.func.count()).select_from(programs).where(
        programs.c.code.notin_(OLD_CODES))).scalar()
    if others:
        raise RuntimeError(f"{others} programmes added by administrators are stored; "
                           "the old schema cannot hold them")
    op.drop_table("program_confirmations")
    with op.batch_alter_table("product_terms", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(TERMS_CHECK), type_="check")
        batch_op.create_check_constraint("value_in_vocabulary", TERMS_BEFORE)
    with op.batch_alter_table("subsidy_program_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_program_versions_program_id"))
    op.drop_table("subsidy_program_versions")
    with op.batch_alter_table("subsidy_programs", schema=None) as batch_op:
        for name in ("benefit", "payee", "basis", "version"):
            batch_op.drop_constraint(op.f(f"ck_subsidy_programs_{name}"), type_="check")
        for name in ("version", "stacks_with", "eligibility", "basis", "payee", "benefit",
                     "how_to_apply", "quote"):
            batch_op.drop_column(name)
        codes = ", ".join(f"'{c}'" for c in OLD_CODES)
        batch_op.create_check_constraint("code", f"code IN ({codes})")
