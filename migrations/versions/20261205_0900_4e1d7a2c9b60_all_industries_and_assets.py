"""every GB/T 4754—2017 industry (any section), 资产总额 for the size rule by sector

Enterprises may carry any code of the table (a software firm I6513, a builder E4790): the CHECK
industry LIKE 'C%' goes, and so does the products' `industries` one (a product may name any
code or prefix); the services validate codes against matchmaker/data/gb4754_2017.csv. New
enterprises.assets_wan: the 300号 rule of 建筑业, 房地产开发经营 and 租赁和商务服务业 reads it.

Revision ID: 4e1d7a2c9b60
Revises: 9c3e2a0b1d32
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "4e1d7a2c9b60"
down_revision = "9c3e2a0b1d32"
branch_labels = None
depends_on = None

# frozen copies of the product_terms CHECK before and after (codes as of this revision)
TERMS_BEFORE = "(field = 'purposes' AND value IN ('working_capital', 'tech_upgrade', 'supply_chain', 'project', 'rnd', 'green', 'trade', 'equipment_lease')) OR (field = 'guarantee_modes' AND value IN ('credit', 'mortgage', 'pledge', 'guarantee')) OR (field = 'sizes' AND value IN ('large', 'medium', 'small', 'micro')) OR (field = 'tags_any' AND value IN ('specialized_sme', 'little_giant', 'single_champion', 'innovative_sme', 'high_tech', 'tech_sme', 'gazelle', 'unicorn', 'double_hundred', 'chain_leader', 'listed', 'listing_pipeline', 'green_factory', 'foreign_trade')) OR (field = 'districts' AND value IN ('万州区', '涪陵区', '渝中区', '大渡口区', '江北区', '沙坪坝区', '九龙坡区', '南岸区', '北碚区', '綦江区', '大足区', '渝北区', '巴南区', '黔江区', '长寿区', '江津区', '合川区', '永川区', '南川区', '璧山区', '铜梁区', '潼南区', '荣昌区', '开州区', '梁平区', '武隆区', '城口县', '丰都县', '垫江县', '忠县', '云阳县', '奉节县', '巫山县', '巫溪县', '石柱土家族自治县', '秀山土家族苗族自治县', '酉阳土家族苗族自治县', '彭水苗族土家族自治县', '两江新区', '重庆高新区', '万盛经开区')) OR (field = 'tax_credit_grades' AND value IN ('A', 'B', 'M', 'C', 'D')) OR (field = 'loan_kinds' AND value IN ('first_loan', 'renewal', 'new')) OR (field = 'subsidy_programs' AND value IN ('tech_upgrade_interest', 'equipment_renewal_relending', 'guarantee_fee_subsidy', 'bridge_fee_waiver')) OR (field = 'industries' AND value LIKE 'C%') OR (field = 'core_enterprises' AND value != '')"
TERMS_AFTER = "(field = 'purposes' AND value IN ('working_capital', 'tech_upgrade', 'supply_chain', 'project', 'rnd', 'green', 'trade', 'equipment_lease')) OR (field = 'guarantee_modes' AND value IN ('credit', 'mortgage', 'pledge', 'guarantee')) OR (field = 'sizes' AND value IN ('large', 'medium', 'small', 'micro')) OR (field = 'tags_any' AND value IN ('specialized_sme', 'little_giant', 'single_champion', 'innovative_sme', 'high_tech', 'tech_sme', 'gazelle', 'unicorn', 'double_hundred', 'chain_leader', 'listed', 'listing_pipeline', 'green_factory', 'foreign_trade')) OR (field = 'districts' AND value IN ('万州区', '涪陵区', '渝中区', '大渡口区', '江北区', '沙坪坝区', '九龙坡区', '南岸区', '北碚区', '綦江区', '大足区', '渝北区', '巴南区', '黔江区', '长寿区', '江津区', '合川区', '永川区', '南川区', '璧山区', '铜梁区', '潼南区', '荣昌区', '开州区', '梁平区', '武隆区', '城口县', '丰都县', '垫江县', '忠县', '云阳县', '奉节县', '巫山县', '巫溪县', '石柱土家族自治县', '秀山土家族苗族自治县', '酉阳土家族苗族自治县', '彭水苗族土家族自治县', '两江新区', '重庆高新区', '万盛经开区')) OR (field = 'tax_credit_grades' AND value IN ('A', 'B', 'M', 'C', 'D')) OR (field = 'loan_kinds' AND value IN ('first_loan', 'renewal', 'new')) OR (field = 'subsidy_programs' AND value IN ('tech_upgrade_interest', 'equipment_renewal_relending', 'guarantee_fee_subsidy', 'bridge_fee_waiver')) OR (field = 'industries' AND value != '') OR (field = 'core_enterprises' AND value != '')"
TERMS_CHECK = "ck_product_terms_value_in_vocabulary"


def upgrade():
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enterprises_industry"), type_="check")
        batch_op.add_column(sa.Column("assets_wan", sa.Numeric(12, 2), nullable=True))
        batch_op.create_check_constraint("assets", "assets_wan IS NULL OR assets_wan >= 0")
    with op.batch_alter_table("product_terms", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(TERMS_CHECK), type_="check")
        batch_op.create_check_constraint("value_in_vocabulary", TERMS_AFTER)


def downgrade():
    # codes outside section C cannot go back under the old CHECKs: refuse rather than lose them
    bind = op.get_bind()
    outside = bind.execute(sa.text(
        "SELECT (SELECT COUNT(*) FROM enterprises WHERE industry NOT LIKE 'C%') + "
        "(SELECT COUNT(*) FROM product_terms WHERE field = 'industries' "
        "AND value NOT LIKE 'C%')")).scalar()
    if outside:
        raise RuntimeError(f"{outside} industry codes outside section C (制造业) are stored; "
                           "the old schema cannot hold them")
    with op.batch_alter_table("product_terms", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(TERMS_CHECK), type_="check")
        batch_op.create_check_constraint("value_in_vocabulary", TERMS_BEFORE)
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enterprises_assets"), type_="check")
        batch_op.drop_column("assets_wan")
        batch_op.create_check_constraint("industry", "industry LIKE 'C%'")
