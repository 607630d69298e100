"""Worked examples of the cost after subsidies, following the policy texts (issue 15)."""
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from matchmaker.institutions.subsidies import (
    amount_sensitivity,
    base_rate,
    cost_lower_bound,
    default_programs,
    describe_daily,
    estimate_cost,
    fund_refusal,
    guarantee_fee_applies,
)
from matchmaker.matching.matcher import EnterpriseFacts, NeedFacts, ProductTerms

TODAY = date(2026, 10, 15)


def enterprise(tags=(), verified=None, size="small", industry="C3484"):
    tags = frozenset(tags)
    return EnterpriseFacts(1, "E-1", "江津区", industry, None, size, 120, D(8600),
                           date(2016, 5, 18), tags,
                           verified_tags=tags if verified is None else frozenset(verified),
                           derived_size=size)


def need(purpose="tech_upgrade", amount="800", modes=("mortgage",), max_rate=None, tags=(),
         verified=None, size="small", industry="C3484", term=36):
    return NeedFacts(1, "N-1", enterprise(tags, verified, size, industry), purpose, "new",
                     D(amount), term, frozenset(modes), D(max_rate) if max_rate else None,
                     created=TODAY)


def product(rate_min="3.1", rate_max="4.2", programs=(), kind="bank", modes=("mortgage",)):
    return ProductTerms(1, "P-1", 1, "I-1", kind, 1, "示例", True, frozenset({"tech_upgrade"}),
                        frozenset(modes), D(1), D(100000), 1, 120, D(rate_min), D(rate_max),
                        subsidy_programs=tuple(programs))


def programs(**overrides):
    """The packaged programmes, with settings or other fields overridden per code."""
    out = []
    for p in default_programs():
        change = dict(overrides.get(p.code, {}))
        settings = {**p.settings, **change.pop("settings", {})}
        out.append(replace(p, settings=settings, **change))
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
    est = estimate_cost(need(), product("2", "2", ["equipment_renewal_relending"]),
                        programs(), TODAY)
    assert est.rate_after == D("0.00")
    assert est.applied[0].saving_rate == D("2.00")
    assert "利率不低于0" in est.applied[0].text_zh


def test_equipment_renewal_relending_is_for_bank_loans_not_leasing():
    # 002 speaks of 再贷款 for bank loans: a leasing company's product draws nothing
    est = estimate_cost(need(purpose="tech_upgrade"),
                        product("4", "4", ["equipment_renewal_relending"], kind="leasing"),
                        programs(), TODAY)
    assert est.applied == () and est.rate_after == D("4.00")
    assert any("机构类型" in note for note in est.not_applied)


def test_relending_does_not_stack_with_tech_interest():
    # stacking is off unless a programme says so: the better one for the enterprise is taken
    # (3.50 % − 2.5 points = 1.00 %, not 3.50 % → 1.00 % → 0.50 %)
    est = estimate_cost(need(), product("3.5", "3.5", ["tech_upgrade_interest",
                                                       "equipment_renewal_relending"]),
                        programs(), TODAY)
    [rule] = est.applied
    assert rule.code == "equipment_renewal_relending"
    assert est.rate_after == D("1.00")
    assert any("不与设备更新改造专项再贷款财政贴息叠加" in n for n in est.not_applied)


def test_stacking_when_an_administrator_says_so():
    stacked = programs(equipment_renewal_relending={"stacks_with": ("tech_upgrade_interest",)})
    est = estimate_cost(need(), product("6", "6", ["tech_upgrade_interest",
                                                   "equipment_renewal_relending"]),
                        stacked, TODAY)
    relending, tech = est.applied
    assert (relending.code, tech.code) == ("equipment_renewal_relending",
                                            "tech_upgrade_interest")
    assert "按实际利率3.50%的50%贴息" in tech.text_zh
    assert est.rate_after == D("1.75")


def test_guarantee_fee_subsidy_is_paid_to_the_guarantor_not_the_enterprise():
    # 7号 四（一）: 对为“技改专项贷”项目提供担保…的融资担保机构…给予补助
    est = estimate_cost(need(amount="200", modes=("guarantee",)),
                        product("4", "4", ["guarantee_fee_subsidy"], kind="guarantee",
                                modes=("guarantee",)), programs(), TODAY)
    assert est.guarantee_fee_rate == D("1.00")
    assert est.rate_before == est.rate_after == D("5.00")     # no saving of the enterprise
    assert est.applied == ()
    [note] = est.notes
    assert "补助给担保机构" in note and "不直接降低企业成本" in note


def test_guarantee_fee_subsidy_only_for_tech_upgrade_projects():
    est = estimate_cost(need(purpose="working_capital", modes=("guarantee",)),
                        product("4", "4", ["guarantee_fee_subsidy"], kind="guarantee",
                                modes=("guarantee",)), programs(), TODAY)
    assert est.notes == () and est.applied == ()
    assert any("融资用途" in n for n in est.not_applied)


def test_guarantee_fee_counted_for_bank_guarantor_products_only_when_guaranteed():
    bank = product("4", "4", ["guarantee_fee_subsidy"], modes=("guarantee", "mortgage"))
    assert guarantee_fee_applies(need(modes=("guarantee",)), bank)
    assert not guarantee_fee_applies(need(modes=("guarantee", "mortgage")), bank)
    assert not guarantee_fee_applies(need(modes=("guarantee",)),
                                     product("4", "4", [], modes=("guarantee",)))


def bridge(rate="3.6"):
    return product(rate, rate, ["bridge_fee_waiver"], kind="bridge_fund",
                   modes=("credit",))


@pytest.mark.parametrize("tags, verified, amount, after", [
    # the worked example: a 专精特新 firm bridging 5,000万元 pays no use fee (not 1.44 %)
    (("specialized_sme",), None, "5000", D("0.00")),
    (("little_giant",), None, "500", D("0.00")),
    ((), None, "500", D("3.60")),                               # no qualifying tag: full fee
    (("single_champion",), None, "500", D("3.60")),             # the text names 专精特新 only
    (("specialized_sme",), (), "500", D("3.60")),               # declared, not verified
    (("specialized_sme",), None, "10000", D("0.72")),           # 8000 of 10000万元 waived
])
def test_bridge_fee_waiver(tags, verified, amount, after):
    # 渝经信规范〔2024〕7号 四（二）: 对符合条件的国家和市级专精特新中小企业免收…使用费
    est = estimate_cost(need(purpose="working_capital", amount=amount, tags=tags,
                             verified=verified), bridge(), programs(), TODAY)
    assert est.rate_after == after
    assert est.per_day


def firm(size="large", industry="C3670", tags=(), verified=None, ownership="private"):
    tags = frozenset(tags)
    e = EnterpriseFacts(7, "E-7", "江津区", industry, None, size, 1500, D(60000),
                        date(2005, 1, 1), tags,
                        verified_tags=tags if verified is None else frozenset(verified),
                        derived_size=size, ownership=ownership)
    return NeedFacts(7, "N-7", e, "working_capital", "renewal", D(5000), 3,
                     frozenset({"credit"}), created=TODAY)


@pytest.mark.parametrize("who, need, served", [
    # 7号 四（二）: 为…制造业中小微企业、双百企业中的大型民营企业提供…应急周转资金支持
    ("a large listed manufacturer, not 双百", firm(tags=("listed",)), False),
    ("a 双百 large private firm", firm(tags=("double_hundred",)), True),
    # not known yet is not refused: the fund checks the papers ("待核实" on the match)
    ("双百 declared, not verified", firm(tags=("double_hundred",), verified=()), None),
    ("双百, ownership unknown (imported)", firm(tags=("double_hundred",), ownership=None),
     None),
    ("双百, state-controlled", firm(tags=("double_hundred",), ownership="state"), False),
    ("双百 large private, not manufacturing", firm(tags=("double_hundred",),
                                                  industry="F5131"), True),
    ("a small manufacturer", firm(size="small", ownership=None), True),
    ("a medium manufacturer, state-controlled", firm(size="medium", ownership="state"), True),
    ("a small non-manufacturer", firm(size="small", industry="I6513"), False),
    ("a 双百 medium non-manufacturer", firm(size="medium", industry="I6513",
                                            tags=("double_hundred",)), False),
])
def test_whom_the_bridge_fund_serves(who, need, served):
    refusal = fund_refusal(need, bridge(), programs(), TODAY)
    est = estimate_cost(need, bridge(), programs(), TODAY)
    if served is None:
        assert refusal is None, who
    elif served:
        assert refusal is None, who
        assert not any("须符合以下条件之一" in n for n in est.not_applied), who
    else:
        assert refusal == ("应急转贷周转金支持与使用费减免：须符合以下条件之一：制造业中型、小型、微型"
                           "企业；或经组织方核验的“双百”企业中的大型民营（私人控股）企业"), who
        assert est.applied == () and est.rate_after == D("3.60"), who


def test_a_double_hundred_large_private_firm_is_served_but_pays_the_fee():
    # served by the fund, but the waiver is for 专精特新中小企业 only: the full fee by the day
    est = estimate_cost(firm(tags=("double_hundred",)), bridge(), programs(), TODAY)
    assert est.applied == () and est.rate_after == D("3.60")
    assert est.fee_wan_per_day == D("0.5")                 # 5000 × 3.6 % / 360
    assert any("免收使用费限经核验的" in n for n in est.not_applied)


def test_the_fund_condition_is_the_programmes_data():
    # an administrator widens the fund to every manufacturer: the large listed firm is served
    wide = programs(bridge_fee_waiver={"eligibility": {"institution_kinds": ["bridge_fund"],
                                                       "industries": ["C"]}})
    assert fund_refusal(firm(tags=("listed",)), bridge(), wide, TODAY) is None
    # no programme in force says whom the fund serves: nothing to refuse by
    ended = programs(bridge_fee_waiver={"effective_to": date(2025, 12, 31)})
    assert fund_refusal(firm(tags=("listed",)), bridge(), ended, TODAY) is None
    # a loan product is never refused by a fund's condition
    assert fund_refusal(firm(tags=("listed",)), product(), programs(), TODAY) is None


def test_a_bridge_is_a_fee_by_the_day():
    est = estimate_cost(need(purpose="working_capital", amount="3600"), bridge(), programs(),
                        TODAY)
    # 3600万元 × 3.6 % / 360 = 0.36万元 a day
    assert est.fee_wan_per_day == D("0.36")
    text = describe_daily(est, D(3600))
    assert "按实际使用天数计收" in text and "0.36万元/天" in text
    free = estimate_cost(need(purpose="working_capital", amount="5000",
                              tags=("specialized_sme",)), bridge(), programs(), TODAY)
    assert "免收使用费" in describe_daily(free, D(5000))


def test_reduced_bridge_fee_for_smes_is_a_setting():
    # 阶段性减免至2027年: the reduced rate is the programme's setting, none until it is set
    assert estimate_cost(need(purpose="working_capital"), bridge(), programs(),
                         TODAY).rate_after == D("3.60")
    reduced = programs(bridge_fee_waiver={"settings": {"reduced_share": 0.5}})
    assert estimate_cost(need(purpose="working_capital"), bridge(), reduced,
                         TODAY).rate_after == D("1.80")
    large = need(purpose="working_capital", size="large")
    assert estimate_cost(large, bridge(), reduced, TODAY).rate_after == D("3.60")


def test_sizes_count_only_as_derived():
    # a programme for 小微 reads the 300号 size, not the declared one
    small_only = programs(tech_upgrade_interest={"eligibility": {"sizes": ["small", "micro"]}})
    declared_small = NeedFacts(1, "N-1", replace(enterprise(), size="small",
                                                 derived_size="medium"),
                               "tech_upgrade", "new", D(800), 36, frozenset({"mortgage"}),
                               created=TODAY)
    est = estimate_cost(declared_small, product(programs=["tech_upgrade_interest"]),
                        small_only, TODAY)
    assert est.applied == ()
    assert estimate_cost(need(), product(programs=["tech_upgrade_interest"]), small_only,
                         TODAY).applied


@pytest.mark.parametrize("day, applies", [
    (date(2024, 3, 21), False),     # 7号 takes effect 30 days after 2024-02-21
    (date(2024, 3, 22), True),
    (date(2027, 12, 31), True),
    (date(2028, 1, 3), False),      # the plan runs to 2027: a 2028 need gets none
])
def test_dates_of_the_2024_plan(day, applies):
    est = estimate_cost(need(), product(programs=["tech_upgrade_interest"]), programs(), day)
    assert bool(est.applied) is applies


def test_manufacturing_only_for_the_2024_plan():
    est = estimate_cost(need(industry="I6513"), product(programs=["tech_upgrade_interest"]),
                        programs(), TODAY)
    assert est.applied == ()
    assert any("制造业" in n for n in est.not_applied)


def test_bounds_hold_for_the_programmes():
    p = product("3.5", "3.5", ["tech_upgrade_interest", "equipment_renewal_relending"])
    bound = cost_lower_bound(p, programs(), TODAY)
    est = estimate_cost(need(), p, programs(), TODAY)
    assert bound <= est.rate_after
    assert amount_sensitivity(bridge(), programs(), TODAY) == D(0)


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
    assert by_code["guarantee_fee_subsidy"].number("cap_wan") == D(100)
    assert by_code["guarantee_fee_subsidy"].payee == "guarantor"
    assert by_code["bridge_fee_waiver"].number("cap_wan") == D(8000)
    assert set(by_code["bridge_fee_waiver"].settings["waiver_tags"]) == {"specialized_sme",
                                                                         "little_giant"}
    assert by_code["tech_upgrade_interest"].in_force(date(2026, 1, 1))
    assert not by_code["tech_upgrade_interest"].in_force(date(2028, 1, 1))
    assert by_code["equipment_renewal_relending"].effective_from == date(2023, 3, 1)
