"""Worked examples of the yearly cost after subsidies, following the policy texts."""
from datetime import date
from decimal import Decimal as D

import pytest

from matchmaker.institutions.subsidies import (
    SubsidyProgram,
    base_rate,
    default_programs,
    estimate_cost,
    guarantee_fee_applies,
)
from matchmaker.matching.matcher import EnterpriseFacts, NeedFacts, ProductTerms

TODAY = date(2026, 10, 15)


def enterprise(tags=()):
    return EnterpriseFacts(1, "E-1", "江津区", "C3484", None, "small", 120, D(8600),
                           date(2016, 5, 18), frozenset(tags))


def need(purpose="tech_upgrade", amount="800", modes=("mortgage",), max_rate=None, tags=()):
    return NeedFacts(1, "N-1", enterprise(tags), purpose, "new", D(amount), 36,
                     frozenset(modes), D(max_rate) if max_rate else None, created=TODAY)


def product(rate_min="3.1", rate_max="4.2", programs=(), kind="bank", modes=("mortgage",)):
    return ProductTerms(1, "P-1", 1, "I-1", kind, 1, "示例", True, frozenset({"tech_upgrade"}),
                        frozenset(modes), D(1), D(100000), 1, 120, D(rate_min), D(rate_max),
                        subsidy_programs=tuple(programs))


def programs(**overrides):
    """The packaged programs, with settings or dates overridden per code."""
    out = []
    for p in default_programs():
        change = overrides.get(p.code, {})
        out.append(SubsidyProgram(p.code, p.label, p.source,
                                  {**p.settings, **change.get("settings", {})},
                                  change.get("effective_from", p.effective_from),
                                  change.get("effective_to", p.effective_to)))
    return out


def test_tech_upgrade_interest_half_the_rate():
    # 渝经信规范〔2024〕7号 四（一）: 按不超项目实际贷款利率的50%给予贴息
    est = estimate_cost(need(), product(programs=["tech_upgrade_interest"]), programs(), TODAY)
    assert est.base_rate == D("3.65")            # midpoint of 3.10–4.20
    assert est.rate_before == D("3.65")
    assert est.rate_after == D("1.83")           # 1.825 rounded half up
    assert est.cost_wan_before == D("29.20")     # 800万元 × 3.65 %
    assert est.cost_wan_after == D("14.60")
    [rule] = est.applied
    assert rule.code == "tech_upgrade_interest"
    assert rule.saving_wan_per_year == D("14.60")
    assert rule.text_zh == ("技改专项贷款贴息：按实际利率3.65%的50%贴息，年贴息额14.60万元"
                            "（未超过每年1000万元上限）")


def test_tech_upgrade_interest_capped_at_1000_wan_a_year():
    # 30000万元 at 8 %: 50 % would be 1200万元 a year, above the 1000万元 cap
    est = estimate_cost(need(amount="30000"),
                        product("8", "8", programs=["tech_upgrade_interest"]), programs(), TODAY)
    [rule] = est.applied
    assert rule.saving_wan_per_year == D("1000.00")
    assert rule.saving_rate == D("3.33")         # 1000 / 30000
    assert est.cost_wan_before == D("2400.00")
    assert est.cost_wan_after == D("1400.00")
    assert est.rate_after == D("4.67")
    assert "超过每年1000万元上限" in rule.text_zh
    assert "应贴息1200.00万元" in rule.text_zh


def test_tech_upgrade_interest_needs_a_tech_upgrade_purpose():
    est = estimate_cost(need(purpose="working_capital"),
                        product(programs=["tech_upgrade_interest"]), programs(), TODAY)
    assert est.applied == ()
    assert est.rate_after == est.rate_before == D("3.65")
    assert any("融资用途" in note for note in est.not_applied)


def test_cap_is_a_setting_not_a_constant():
    changed = programs(tech_upgrade_interest={"settings": {"cap_wan_per_year": 500}})
    est = estimate_cost(need(amount="30000"), product("8", "8", ["tech_upgrade_interest"]),
                        changed, TODAY)
    assert est.applied[0].saving_wan_per_year == D("500.00")


def test_program_out_of_force_is_not_applied():
    expired = programs(tech_upgrade_interest={"effective_to": date(2025, 12, 31)})
    est = estimate_cost(need(), product(programs=["tech_upgrade_interest"]), expired, TODAY)
    assert est.applied == ()
    assert est.rate_after == D("3.65")
    later = programs(tech_upgrade_interest={"effective_from": date(2027, 1, 1)})
    assert estimate_cost(need(), product(programs=["tech_upgrade_interest"]), later,
                         TODAY).applied == ()


def test_program_not_listed_by_the_product_is_not_applied():
    est = estimate_cost(need(), product(programs=[]), programs(), TODAY)
    assert est.applied == () and est.rate_after == D("3.65")


def test_equipment_renewal_relending_two_and_a_half_points():
    # 永金组发〔2023〕1号: 落实好中央财政贴息2.5%政策
    est = estimate_cost(need(), product("4", "4", ["equipment_renewal_relending"]),
                        programs(), TODAY)
    assert est.rate_after == D("1.50")
    assert est.applied[0].saving_wan_per_year == D("20.00")      # 800 × 2.5 %


def test_equipment_renewal_relending_never_below_zero():
    est = estimate_cost(need(purpose="equipment_lease"),
                        product("2", "2", ["equipment_renewal_relending"]), programs(), TODAY)
    assert est.rate_after == D("0.00")
    assert est.applied[0].saving_rate == D("2.00")
    assert "利率不低于0" in est.applied[0].text_zh


def test_relending_then_tech_interest_on_what_remains():
    est = estimate_cost(need(), product("6", "6", ["tech_upgrade_interest",
                                                   "equipment_renewal_relending"]),
                        programs(), TODAY)
    relending, tech = est.applied
    assert (relending.code, tech.code) == ("equipment_renewal_relending",
                                            "tech_upgrade_interest")
    assert "按实际利率3.50%的50%贴息" in tech.text_zh
    assert est.rate_after == D("1.75")


def test_guarantee_fee_subsidy_half_the_fee():
    # 担保费率不超过1%的，按不超过实际担保费率的50%补助
    est = estimate_cost(need(purpose="working_capital", amount="200", modes=("guarantee",)),
                        product("4", "4", ["guarantee_fee_subsidy"], kind="guarantee",
                                modes=("guarantee",)), programs(), TODAY)
    assert est.guarantee_fee_rate == D("1.00")
    assert est.rate_before == D("5.00")
    assert est.rate_after == D("4.50")
    assert est.applied[0].saving_wan_per_year == D("1.00")         # 200 × 0.5 %


def test_guarantee_fee_subsidy_capped_at_100_wan():
    est = estimate_cost(need(amount="30000", modes=("guarantee",)),
                        product("4", "4", ["guarantee_fee_subsidy"], kind="guarantee",
                                modes=("guarantee",)), programs(), TODAY)
    rule = est.applied[0]
    assert rule.saving_wan_per_year == D("100.00")                   # not 150
    assert "超过每年100万元上限" in rule.text_zh


def test_guarantee_fee_above_one_percent_gets_no_subsidy():
    est = estimate_cost(need(modes=("guarantee",)),
                        product("4", "4", ["guarantee_fee_subsidy"], kind="guarantee",
                                modes=("guarantee",)), programs(), TODAY,
                        guarantee_fee_rate=D("1.5"))
    assert est.applied == ()
    assert est.rate_after == D("5.50")
    assert any("高于1.00%" in note for note in est.not_applied)


def test_guarantee_fee_counted_for_bank_guarantor_products_only_when_guaranteed():
    bank = product("4", "4", ["guarantee_fee_subsidy"], modes=("guarantee", "mortgage"))
    assert guarantee_fee_applies(need(modes=("guarantee",)), bank)
    assert not guarantee_fee_applies(need(modes=("guarantee", "mortgage")), bank)
    assert not guarantee_fee_applies(need(modes=("guarantee",)),
                                     product("4", "4", [], modes=("guarantee",)))


@pytest.mark.parametrize("tags, amount, after", [
    (("specialized_sme",), "500", D("0.00")),
    (("little_giant",), "500", D("0.00")),
    ((), "500", D("3.60")),                              # no qualifying tag: full fee
    (("specialized_sme",), "6000", D("1.80")),           # only 3000 of 6000万元 waived
    (("specialized_sme", "double_hundred"), "6000", D("0.00")),   # cap 8000 for 双百
])
def test_bridge_fee_waiver(tags, amount, after):
    # 渝经信规范〔2024〕7号 四（二）: 专精特新中小企业免收应急转贷周转金使用费
    bridge = product("3.6", "3.6", ["bridge_fee_waiver"], kind="bridge_fund")
    est = estimate_cost(need(purpose="working_capital", amount=amount, tags=tags), bridge,
                        programs(), TODAY)
    assert est.rate_after == after


def test_base_rate_is_the_midpoint_or_the_enterprises_ceiling():
    p = product("3.1", "4.2")
    assert base_rate(need(), p)[0] == D("3.65")
    assert base_rate(need(max_rate="3.4"), p)[0] == D("3.4")     # within range, below middle
    assert base_rate(need(max_rate="4.0"), p)[0] == D("3.65")    # above the middle
    assert base_rate(need(max_rate="3.0"), p)[0] == D("3.65")    # below rate_min: no deal


def test_everything_is_decimal():
    est = estimate_cost(need(amount="333.33"), product(programs=["tech_upgrade_interest"]),
                        programs(), TODAY)
    for value in (est.base_rate, est.rate_before, est.rate_after, est.cost_wan_before,
                  est.cost_wan_after, est.saving_wan_per_year):
        assert isinstance(value, D)
        assert value == value.quantize(D("0.01"))


def test_default_programs_follow_the_vocabulary():
    by_code = {p.code: p for p in default_programs()}
    assert set(by_code) == {"tech_upgrade_interest", "equipment_renewal_relending",
                            "guarantee_fee_subsidy", "bridge_fee_waiver"}
    assert by_code["tech_upgrade_interest"].number("cap_wan_per_year") == D(1000)
    assert by_code["guarantee_fee_subsidy"].number("cap_wan_per_year") == D(100)
    assert by_code["tech_upgrade_interest"].in_force(date(2026, 1, 1))
