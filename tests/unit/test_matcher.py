"""The matcher: exact eligibility (spec rules 1–9), the bitset index against the plain rules,
near misses, ranking, the spec's output shape, incremental refresh. No app, no database."""
import dataclasses
import json
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchmaker.institutions.subsidies import default_programs, estimate_cost
from matchmaker.matching.matcher import (
    CONDITIONS,
    RULES,
    EnterpriseFacts,
    MatchContext,
    Matcher,
    NearMiss,
    NeedFacts,
    NeedIndex,
    ProductTerms,
    RankKey,
    actionable,
    default_loan_kind,
    is_eligible,
    rank_order,
    to_spec_json,
)

TODAY = date(2026, 10, 15)
CTX = MatchContext(TODAY, D("3.0"), tuple(default_programs()))


def make_product(**kw) -> ProductTerms:
    base = {"id": 1, "ref": "P-1", "institution_id": 1, "institution_ref": "I-1", "institution_kind": "bank",
                "version": 1, "name": "流动资金贷", "active": True,
                "purposes": frozenset({"working_capital"}), "guarantee_modes": frozenset({"credit"}),
                "amount_min_wan": D(50), "amount_max_wan": D(500), "term_min_months": 6,
                "term_max_months": 24, "rate_min": D("3.5"), "rate_max": D("4.5")}
    base.update(kw)
    return ProductTerms(**base)


def make_enterprise(**kw) -> EnterpriseFacts:
    base = {"id": 1, "ref": "E-1", "district": "江津区", "industry": "C3670",
                "cluster": "intelligent_connected_nev", "size": "small", "employees": 80,
                "revenue_wan": D(3000), "founded": date(2016, 5, 18), "tags": frozenset(),
                "tax_credit_grade": "B", "has_bank_loan": True, "core_enterprise": None}
    base.update(kw)
    base.setdefault("derived_size", base["size"])   # the 300号 size, unless a test declares one
    return EnterpriseFacts(**base)


def make_need(enterprise=None, **kw) -> NeedFacts:
    base = {"id": 1, "ref": "N-1", "enterprise": enterprise or make_enterprise(),
                "purpose": "working_capital", "loan_kind": "new", "amount_wan": D(200), "term_months": 12,
                "guarantee_modes": frozenset({"credit"}), "created": date(2026, 9, 1)}
    base.update(kw)
    return NeedFacts(**base)


# the plain rules, one by one: the oracle the bitset indexes are held against
def evaluate(need, product, ctx=CTX):
    return [(rule, rule.check(need, product, ctx)) for rule in RULES]


def failed_rules(need, product, ctx=CTX):
    return [(r, v) for r, v in evaluate(need, product, ctx) if not v.ok]


def near_miss_of(need, product, ctx=CTX):
    """The single failing condition, when an active product fails exactly one and the
    enterprise can change it (actionable)."""
    if not product.active:
        return None
    failed = [(r, v) for r in CONDITIONS if not (v := r.check(need, product, ctx)).ok]
    if len(failed) != 1 or not actionable(failed[0][0].code, need):
        return None
    rule, verdict = failed[0]
    return NearMiss(product.id, product.ref, product.institution_id, product.institution_ref,
                    rule.code, rule.label, verdict.reason_zh, verdict.fix_zh)


def eligible_ids(matcher, need) -> set[int]:
    return set(matcher.product_counts([matcher.eligible_mask(need)]))


def failing(need, product):
    return [rule.code for rule, _ in failed_rules(need, product, CTX)]


def indexed_eligible(need, product) -> bool:
    return product.id in eligible_ids(Matcher([product], CTX), need)


def with_product(products, terms):
    """The products after one changed (replaced by id), as a new matcher sees them."""
    return [terms if p.id == terms.id else p for p in products]


# --------------------------------------------------------------------------- each rule


E = make_enterprise
# (rule code, (product changes, enterprise changes, need changes) that hold,
#  the same that fail) — each pair sits on the two sides of the rule's boundary
BOUNDARIES = [
    ("active", ({}, {}, {}), ({"active": False}, {}, {})),
    ("purpose", ({"purposes": frozenset({"working_capital", "rnd"})}, {}, {}),
     ({"purposes": frozenset({"rnd"})}, {}, {})),
    ("amount", ({}, {}, {"amount_wan": D(50)}), ({}, {}, {"amount_wan": D("49.99")})),
    ("amount", ({}, {}, {"amount_wan": D(500)}), ({}, {}, {"amount_wan": D("500.01")})),
    ("term", ({}, {}, {"term_months": 6}), ({}, {}, {"term_months": 5})),
    ("term", ({}, {}, {"term_months": 24}), ({}, {}, {"term_months": 25})),
    ("guarantee", ({"guarantee_modes": frozenset({"pledge", "mortgage"})}, {},
                   {"guarantee_modes": frozenset({"mortgage"})}),
     ({"guarantee_modes": frozenset({"pledge"})}, {},
      {"guarantee_modes": frozenset({"mortgage"})})),
    # rule 5 as the spec now says: a product accepting credit admits whatever is offered
    ("guarantee", ({"guarantee_modes": frozenset({"credit"})}, {},
                   {"guarantee_modes": frozenset({"mortgage", "guarantee"})}),
     ({"guarantee_modes": frozenset({"guarantee"})}, {},
      {"guarantee_modes": frozenset({"mortgage", "pledge"})})),
    ("district", ({"districts": frozenset({"江津区", "璧山区"})}, {}, {}),
     ({"districts": frozenset({"璧山区"})}, {}, {})),
    ("district", ({"districts": frozenset()}, {"district": "城口县"}, {}),
     ({"districts": frozenset({"江津区"})}, {"district": "城口县"}, {})),
    ("size", ({"sizes": frozenset({"small", "micro"})}, {}, {}),
     ({"sizes": frozenset({"micro"})}, {}, {})),
    ("tags", ({"tags_any": frozenset({"specialized_sme", "little_giant"})},
              {"tags": frozenset({"little_giant"})}, {}),
     ({"tags_any": frozenset({"specialized_sme", "little_giant"})},
      {"tags": frozenset({"high_tech"})}, {})),
    ("industry", ({"industries": ("C36",)}, {"industry": "C3670"}, {}),
     ({"industries": ("C367",)}, {"industry": "C36"}, {})),
    ("industry", ({"industries": ("C",)}, {"industry": "C1391"}, {}),
     ({"industries": ("C39", "C40")}, {"industry": "C3670"}, {})),
    # min_years counts at the need's creation date: the anniversary day itself qualifies
    ("min_years", ({"min_years": D(2)}, {"founded": date(2024, 9, 1)}, {}),
     ({"min_years": D(2)}, {"founded": date(2024, 9, 2)}, {})),
    ("min_years", ({"min_years": D("1.5")}, {"founded": date(2025, 3, 1)}, {}),
     ({"min_years": D("1.5")}, {"founded": date(2025, 3, 2)}, {})),
    ("min_revenue", ({"min_revenue_wan": D(3000)}, {}, {}),
     ({"min_revenue_wan": D("3000.01")}, {}, {})),
    ("tax_grade", ({"tax_credit_grades": frozenset({"A", "B"})}, {}, {}),
     ({"tax_credit_grades": frozenset({"A"})}, {}, {})),
    ("tax_grade", ({"tax_credit_grades": frozenset()}, {"tax_credit_grade": None}, {}),
     ({"tax_credit_grades": frozenset({"A", "B"})}, {"tax_credit_grade": None}, {})),
    ("loan_kind", ({"loan_kinds": frozenset({"new", "renewal"})}, {}, {}),
     ({"loan_kinds": frozenset({"first_loan"})}, {}, {})),
    ("core_enterprise", ({"core_enterprises": ("长安汽车",)},
                         {"core_enterprise": "重庆长安汽车股份有限公司"}, {}),
     ({"core_enterprises": ("长城汽车",)}, {"core_enterprise": "重庆长安汽车股份有限公司"}, {})),
    ("core_enterprise", ({"core_enterprises": ()}, {"core_enterprise": None}, {}),
     ({"core_enterprises": ("长安汽车",)}, {"core_enterprise": None}, {})),
    ("max_rate", ({}, {}, {"max_rate": D("3.5")}), ({}, {}, {"max_rate": D("3.49")})),
    ("existing_customer", ({"existing_customers_only": True, "institution_id": 7}, {},
                           {"current_lender_id": 7, "loan_kind": "renewal"}),
     ({"existing_customers_only": True, "institution_id": 7}, {},
      {"current_lender_id": 8, "loan_kind": "renewal"})),
    ("existing_customer", ({"existing_customers_only": False}, {}, {"current_lender_id": None}),
     ({"existing_customers_only": True}, {}, {"current_lender_id": None})),
]


@pytest.mark.parametrize("code, holds, fails", BOUNDARIES,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BOUNDARIES)])
def test_rule_on_both_sides_of_its_boundary(code, holds, fails):
    for (p_kw, e_kw, n_kw), eligible in ((holds, True), (fails, False)):
        product = make_product(**p_kw)
        need = make_need(make_enterprise(**e_kw), **n_kw)
        assert is_eligible(need, product, CTX) is eligible
        assert indexed_eligible(need, product) is eligible
        assert failing(need, product) == ([] if eligible else [code])
        verdict = {r.code: v for r, v in evaluate(need, product, CTX)}[code]
        assert verdict.ok is eligible
        assert any("\u4e00" <= c <= "\u9fff" for c in verdict.reason_zh)   # Chinese


def test_every_rule_is_in_the_spec():
    # every rule of the spec, and one of the platform's own: whom a bridge fund serves (issue
    # 15, the fund's programme), which the spec's "never matched unless all hold" leaves open
    assert [r.spec_no for r in RULES] == (["1", "2", "3", "4", "5", "6"] + ["7"] * 8
                                          + ["", "8", "9"])
    assert [r.code for r in RULES if not r.spec_no] == ["fund"]
    assert len(CONDITIONS) == len(RULES) - 1


def test_default_loan_kind():
    assert default_loan_kind(False) == "first_loan"
    assert default_loan_kind(True) == "new"


# --------------------------------------------------------------------------- reasons


def test_near_miss_reasons_and_fixes():
    product = make_product(term_max_months=24, guarantee_modes=frozenset({"mortgage",
                                                                          "guarantee"}))
    need = make_need(term_months=36, guarantee_modes=frozenset({"mortgage"}))
    [nm] = Matcher([product], CTX).near_misses(need)
    assert (nm.rule_code, nm.reason_zh, nm.fix_zh) == (
        "term", "期限36个月超出产品上限24个月", "将期限缩短至24个月以内")

    need = make_need(guarantee_modes=frozenset({"credit"}))
    [nm] = Matcher([product], CTX).near_misses(need)
    assert nm.rule_code == "guarantee"
    assert nm.fix_zh == "需提供抵押或担保"
    assert nm.reason_zh == "产品要求抵押或担保，企业可提供信用"


@pytest.mark.parametrize("p_kw, n_kw, reason, fix", [
    ({}, {"amount_wan": D(800)}, "金额800万元超出产品上限500万元",
     "将金额降至500万元以内，或分笔申请"),
    ({}, {"amount_wan": D(20)}, "金额20万元低于产品下限50万元", "将金额提高至50万元以上"),
    ({}, {"max_rate": D("3.2")}, "产品最低利率3.50%高于企业可接受的利率上限3.20%",
     "将可接受利率上限提高至3.50%以上"),
])
def test_near_miss_text(p_kw, n_kw, reason, fix):
    [nm] = Matcher([make_product(**p_kw)], CTX).near_misses(make_need(**n_kw))
    assert (nm.reason_zh, nm.fix_zh) == (reason, fix)


def test_a_missing_tax_grade_is_a_near_miss_the_enterprise_can_fill_in():
    product = make_product(tax_credit_grades=frozenset({"A", "B"}))
    [nm] = Matcher([product], CTX).near_misses(make_need(make_enterprise(tax_credit_grade=None)))
    assert (nm.rule_code, nm.fix_zh) == ("tax_grade", "补充纳税信用等级（需为A、B级）")


@pytest.mark.parametrize("p_kw, e_kw", [
    ({"districts": frozenset({"璧山区"})}, {}),                  # where it is
    ({"loan_kinds": frozenset({"first_loan"})}, {}),             # 首贷 only
    ({"industries": ("C39",)}, {}),                              # what it makes
    ({"purposes": frozenset({"rnd"})}, {}),
    ({"sizes": frozenset({"micro"})}, {}),
    ({"min_years": D(12)}, {}),                                  # how old it is
    ({"min_revenue_wan": D(9000)}, {}),
    ({"tax_credit_grades": frozenset({"A"})}, {}),               # a grade it holds
    ({"tags_any": frozenset({"little_giant"})}, {}),
    ({"existing_customers_only": True}, {}),
])
def test_conditions_the_enterprise_cannot_change_are_no_near_miss(p_kw, e_kw):
    product, need = make_product(**p_kw), make_need(make_enterprise(**e_kw))
    assert len(failed_rules(need, product, CTX)) == 1      # it does miss by one condition
    assert Matcher([product], CTX).near_misses(need) == []
    assert near_miss_of(need, product, CTX) is None
    assert NeedIndex([need], CTX).impact(product).near_miss == {}


def test_every_near_miss_says_what_would_make_it_eligible():
    products = [make_product(id=1, ref="P-1", amount_max_wan=D(100)),
                make_product(id=2, ref="P-2", term_max_months=6),
                make_product(id=3, ref="P-3", guarantee_modes=frozenset({"mortgage"})),
                make_product(id=4, ref="P-4", rate_min=D(9))]
    need = make_need(guarantee_modes=frozenset({"guarantee"}), max_rate=D(5))
    near = Matcher(products, CTX).near_misses(need)
    assert [n.rule_code for n in near] == ["amount", "term", "guarantee", "max_rate"]
    assert all(n.fix_zh for n in near)


def test_products_failing_two_conditions_or_inactive_are_not_near_misses():
    need = make_need(amount_wan=D(800), term_months=36)
    assert Matcher([make_product()], CTX).near_misses(need) == []
    assert Matcher([make_product(active=False)], CTX).near_misses(make_need()) == []
    assert near_miss_of(make_need(), make_product(active=False), CTX) is None


def test_actionable_near_misses_only():
    products = [make_product(id=1, ref="P-1", purposes=frozenset({"rnd"})),
                make_product(id=2, ref="P-2", amount_max_wan=D(100))]
    codes = [nm.rule_code for nm in Matcher(products, CTX).near_misses(make_need())]
    assert codes == ["amount"]


def test_match_reasons_are_chinese_strongest_first():
    p = make_product(purposes=frozenset({"tech_upgrade"}), subsidy_programs=(
        "tech_upgrade_interest",), guarantee_modes=frozenset({"mortgage"}),
        tags_any=frozenset({"specialized_sme"}), min_years=D(2))
    need = make_need(make_enterprise(tags=frozenset({"specialized_sme"})),
                     purpose="tech_upgrade", guarantee_modes=frozenset({"mortgage"}))
    [m] = Matcher([p], CTX).match(need)
    assert m.reasons[0].startswith("可享技改专项贷款贴息")
    assert "产品专为技术改造与设备更新设计" in m.reasons
    assert "专精特新中小企业，产品专为此类企业设计" in m.reasons
    assert "金额200万元在产品额度50–500万元内" in " ".join(m.reasons)
    assert any(r.startswith("成立10年3个月") for r in m.reasons)
    assert set(m.components) == {"purpose", "fit", "amount", "term", "cost", "responsiveness"}
    assert m.components["fit"] == 22.0      # the tag (12) and the 技改 subsidy that applies (10)
    assert abs(sum(m.components.values()) - m.score) < 0.1


# --------------------------------------------------------------------------- ranking


def best(products, need, **ctx_kw):
    ctx = dataclasses.replace(CTX, **ctx_kw) if ctx_kw else CTX
    return [m.product_ref for m in Matcher(products, ctx).match(need)]


def test_dedicated_subsidised_tech_loan_beats_a_generic_product():
    tech = make_product(id=1, ref="P-TECH", purposes=frozenset({"tech_upgrade"}),
                        subsidy_programs=("tech_upgrade_interest",), rate_min=D("3.6"),
                        rate_max=D("4.6"), term_max_months=60)
    generic = make_product(id=2, ref="P-ANY", rate_min=D("3.5"), rate_max=D("4.5"),
                           term_max_months=60, purposes=frozenset({
                               "working_capital", "tech_upgrade", "project", "rnd", "green",
                               "trade"}))
    need = make_need(purpose="tech_upgrade", term_months=36)
    assert best([generic, tech], need) == ["P-TECH", "P-ANY"]


def test_first_loan_product_beats_a_general_one_for_a_first_loan():
    first = make_product(id=1, ref="P-FIRST", loan_kinds=frozenset({"first_loan"}))
    general = make_product(id=2, ref="P-GEN")
    need = make_need(make_enterprise(has_bank_loan=False), loan_kind="first_loan")
    assert best([general, first], need) == ["P-FIRST", "P-GEN"]


def test_chain_product_for_the_enterprises_buyer_beats_a_generic_chain_product():
    chain = make_product(id=1, ref="P-YULIAN", purposes=frozenset({"supply_chain"}),
                         core_enterprises=("长安汽车",))
    generic = make_product(id=2, ref="P-ORDER", purposes=frozenset({"supply_chain"}))
    need = make_need(make_enterprise(core_enterprise="重庆长安汽车股份有限公司"),
                     purpose="supply_chain")
    assert best([generic, chain], need) == ["P-YULIAN", "P-ORDER"]


def test_cheaper_beats_dearer_and_sweet_spot_beats_edge():
    cheap = make_product(id=1, ref="P-CHEAP", rate_min=D("3.2"), rate_max=D("3.8"))
    dear = make_product(id=2, ref="P-DEAR", rate_min=D("4.5"), rate_max=D("6.5"))
    assert best([dear, cheap], make_need()) == ["P-CHEAP", "P-DEAR"]
    centred = make_product(id=3, ref="P-MID", amount_min_wan=D(50), amount_max_wan=D(800))
    edge = make_product(id=4, ref="P-EDGE", amount_min_wan=D(200), amount_max_wan=D(5000))
    assert best([edge, centred], make_need()) == ["P-MID", "P-EDGE"]


def test_responsive_institutions_rank_higher():
    fast = make_product(id=1, ref="P-Z", institution_id=1)
    slow = make_product(id=2, ref="P-A", institution_id=2)
    assert best([slow, fast], make_need(), lead_response={1: 0.95, 2: 0.2}) == ["P-Z", "P-A"]
    [m] = Matcher([slow], dataclasses.replace(CTX, lead_response={2: 0.2})).match(make_need())
    assert m.reasons[-1] == "机构线索按时响应率仅20%"


def test_ties_break_on_rate_then_ref():
    a = make_product(id=1, ref="P-B")
    b = make_product(id=2, ref="P-A")
    assert best([a, b], make_need()) == ["P-A", "P-B"]
    ms = Matcher([a, b], CTX).match(make_need())
    assert ms[0].score == ms[1].score


def test_estimated_rate_is_the_subsidy_modules():
    p = make_product(purposes=frozenset({"tech_upgrade"}),
                     subsidy_programs=("tech_upgrade_interest",))
    need = make_need(purpose="tech_upgrade", max_rate=D("3.8"))
    [m] = Matcher([p], CTX).match(need)
    assert m.estimated_rate == estimate_cost(need, p, CTX.programs, TODAY).rate_after
    assert m.estimated_rate == D("1.90")        # ceiling 3.80 below the 4.00 midpoint, halved


# --------------------------------------------------------------------------- output shape


def test_spec_json_shape():
    p = make_product()
    matches = Matcher([p], CTX).match(make_need())
    out = to_spec_json("N-1", matches)
    assert list(out) == ["need_ref", "matches"]
    [row] = out["matches"]
    assert list(row) == ["product_ref", "institution_ref", "score", "reasons", "estimated_rate"]
    assert isinstance(row["score"], float) and 0 <= row["score"] <= 100
    assert round(row["score"], 1) == row["score"]
    assert isinstance(row["estimated_rate"], float)
    text = json.dumps(out, ensure_ascii=False)
    assert '"estimated_rate": 4.0' in text and "万元" in text
    no_rate = dataclasses.replace(matches[0], estimated_rate=None)
    assert "estimated_rate" not in to_spec_json("N-1", [no_rate])["matches"][0]
    assert to_spec_json("N-2", []) == {"need_ref": "N-2", "matches": []}


def test_top_limits_and_none_returns_all():
    products = [make_product(id=i, ref=f"P-{i:02d}", rate_min=D(3) + D(i) / 10)
                for i in range(1, 16)]
    m = Matcher(products, CTX)
    assert len(m.match(make_need())) == 10
    assert len(m.match(make_need(), top=3)) == 3
    assert len(m.match(make_need(), top=None)) == 15
    assert m.match(make_need(), top=0) == []


# --------------------------------------------------------------------------- example.json
# The three needs of ../shared/spec/example.json, copied here (the project does not read
# /work/shared): each has exactly one eligible product.

EX_PRODUCTS = [
    ProductTerms(1, "P-TECH-01", 1, "I-BANK-01", "bank", 1, "技改专项贷（示例）", True,
                 frozenset({"tech_upgrade"}), frozenset({"mortgage", "guarantee"}), D(100),
                 D(3000), 12, 60, D("3.1"), D("4.2"), industries=("C",), min_years=D(2),
                 subsidy_programs=("tech_upgrade_interest",)),
    ProductTerms(2, "P-CHAIN-01", 1, "I-BANK-01", "bank", 1, "链上订单贷（示例）", True,
                 frozenset({"supply_chain"}), frozenset({"credit", "pledge"}), D(20), D(1000),
                 3, 12, D("3.6"), D("5.0"), core_enterprises=("长安汽车",)),
    # the guarantor serves 江津区 and 璧山区: the product's effective coverage
    ProductTerms(3, "P-FIRST-01", 2, "I-GUAR-01", "guarantee", 1, "首贷担保贷（示例）", True,
                 frozenset({"working_capital"}), frozenset({"guarantee"}), D(10), D(300), 6,
                 12, D("3.8"), D("5.5"), sizes=frozenset({"small", "micro"}),
                 districts=frozenset({"江津区", "璧山区"}), loan_kinds=frozenset({"first_loan"}),
                 subsidy_programs=("guarantee_fee_subsidy",)),
]
# E-01's district is written 江津 in the file (the importer stores 江津区); sizes follow
# the size rule (120 employees, 8600万元: small; 18 employees: micro)
EX_E1 = EnterpriseFacts(1, "E-01", "江津区", "C3484", "intelligent_equipment", "small", 120,
                        D(8600), date(2016, 5, 18), frozenset({"specialized_sme"}), "A", True,
                        "重庆长安汽车股份有限公司")
EX_E2 = EnterpriseFacts(2, "E-02", "璧山区", "C1391", None, "micro", 18, D(260),
                        date(2022, 3, 1), has_bank_loan=False)
EX_NEEDS = [
    NeedFacts(1, "N-01", EX_E1, "tech_upgrade", "new", D(800), 36, frozenset({"mortgage"}),
              D("4.0"), created=date(2026, 9, 1)),
    NeedFacts(2, "N-02", EX_E1, "supply_chain", default_loan_kind(True), D(300), 6,
              frozenset({"credit"}), created=date(2026, 9, 10)),
    NeedFacts(3, "N-03", EX_E2, "working_capital", default_loan_kind(False), D(50), 12,
              frozenset({"guarantee", "credit"}), created=date(2026, 10, 8)),
]


def test_example_json_each_need_has_exactly_its_product():
    m = Matcher(EX_PRODUCTS, CTX)
    expected = {"N-01": ["P-TECH-01"], "N-02": ["P-CHAIN-01"], "N-03": ["P-FIRST-01"]}
    for need in EX_NEEDS:
        assert [x.product_ref for x in m.match(need, top=None)] == expected[need.ref]
        naive = [p.ref for p in EX_PRODUCTS if is_eligible(need, p, CTX)]
        assert naive == expected[need.ref]
    out = to_spec_json("N-01", m.match(EX_NEEDS[0]))
    assert out["matches"][0]["estimated_rate"] == 1.83     # 3.65 % halved by 技改贴息


# --------------------------------------------------------------------------- index ≡ rules

CORES = ("长安汽车", "长城汽车", "京东方")
STATED = (None, "重庆长安汽车股份有限公司", "长城汽车股份有限公司", "赛力斯")
DISTRICTS = ("江津区", "璧山区", "永川区")


def subsets(items, min_size=0):
    return st.frozensets(st.sampled_from(items), min_size=min_size)


products_st = st.builds(
    lambda i, active, purposes, modes, amounts, terms, rmin, spread, sizes, tags, inds,
    districts, years, revenue, grades, kinds, eco, inst, cores, programs, kind: ProductTerms(
        id=i, ref=f"P-{i:03d}", institution_id=inst, institution_ref=f"I-{inst}",
        institution_kind=kind, version=1, name="x", active=active, purposes=purposes,
        guarantee_modes=modes, amount_min_wan=min(amounts), amount_max_wan=max(amounts),
        term_min_months=min(terms), term_max_months=max(terms), rate_min=rmin,
        rate_max=rmin + spread, sizes=sizes, tags_any=tags, industries=tuple(sorted(inds)),
        districts=districts, min_years=years, min_revenue_wan=revenue,
        tax_credit_grades=grades, loan_kinds=kinds, existing_customers_only=eco,
        core_enterprises=tuple(sorted(cores)), subsidy_programs=tuple(sorted(programs))),
    st.just(0), st.booleans() | st.just(True),
    subsets(("working_capital", "tech_upgrade", "supply_chain"), 1),
    subsets(("credit", "mortgage", "pledge", "guarantee"), 1),
    st.tuples(st.sampled_from([D(10), D(50), D(100), D(300)]),
              st.sampled_from([D(100), D(300), D(1000)])),
    st.tuples(st.sampled_from([3, 6, 12]), st.sampled_from([12, 24, 36])),
    st.sampled_from([D("3.0"), D("3.5"), D("4.0")]), st.sampled_from([D(0), D("0.5"), D(2)]),
    subsets(("medium", "small", "micro")), subsets(("specialized_sme", "high_tech", "tech_sme")),
    subsets(("C", "C36", "C367", "C39")), subsets(DISTRICTS),
    st.sampled_from([None, D(1), D("1.5"), D(2)]), st.sampled_from([None, D(300), D(2000)]),
    subsets(("A", "B")), subsets(("first_loan", "renewal", "new")),
    st.booleans(), st.sampled_from([1, 2, 3]), subsets(CORES),
    subsets(("tech_upgrade_interest", "guarantee_fee_subsidy", "equipment_renewal_relending",
             "bridge_fee_waiver")),
    st.sampled_from(["bank", "bank", "guarantee", "bridge_fund"]))

enterprises_st = st.builds(
    lambda district, industry, size, revenue, founded, tags, grade, core, checked, owner:
    EnterpriseFacts(
        1, "E-1", district, industry, None, size, 50, revenue, founded, tags, grade,
        True, core, verified_tags=tags if checked else frozenset(), derived_size=size,
        ownership=owner),
    st.sampled_from(DISTRICTS + ("城口县",)),
    st.sampled_from(("C3670", "C36", "C3911", "C1391", "F5131")),
    st.sampled_from(("large", "medium", "small", "micro")),
    st.sampled_from([D("299.99"), D(300), D(2000), D(5000)]),
    st.sampled_from([date(2025, 9, 1), date(2025, 3, 1), date(2025, 3, 2), date(2024, 9, 1),
                     date(2024, 9, 2), date(2016, 1, 31)]),
    subsets(("specialized_sme", "high_tech", "double_hundred")),
    st.sampled_from(["A", "B", "M", None]), st.sampled_from(STATED), st.booleans(),
    st.sampled_from([None, "private", "state"]))

needs_st = st.builds(
    lambda e, purpose, kind, amount, term, modes, max_rate, lender: NeedFacts(
        0, "N", e, purpose, kind, amount, term, modes, max_rate, lender,
        created=date(2026, 9, 1)),
    enterprises_st, st.sampled_from(("working_capital", "tech_upgrade", "supply_chain")),
    st.sampled_from(("first_loan", "renewal", "new")),
    st.sampled_from([D(5), D(10), D("99.99"), D(100), D(300), D("300.01"), D(1000),
                     D("1000.01")]),
    st.sampled_from([2, 3, 6, 12, 24, 36, 48]),
    subsets(("credit", "mortgage", "pledge", "guarantee"), 1),
    st.sampled_from([None, D("3.0"), D("3.49"), D("3.5"), D("4.2")]),
    st.sampled_from([None, 1, 2, 3]))


def numbered(items, start=1):
    return [dataclasses.replace(x, id=i, ref=f"{x.ref}-{i:03d}")
            for i, x in enumerate(items, start)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(products_st, min_size=1, max_size=14), st.lists(needs_st, min_size=1,
                                                                max_size=6),
       st.integers(1, 5))
def test_index_agrees_with_the_rules(products, needs, top):
    products, needs = numbered(products), numbered(needs)
    m = Matcher(products, CTX)
    for need in needs:
        naive = {p.id for p in products if is_eligible(need, p, CTX)}
        assert eligible_ids(m, need) == naive
        naive_near = {p.id: nm for p in products if (nm := near_miss_of(need, p, CTX))}
        near = {nm.product_id: nm for nm in m.near_misses(need)}
        assert near == naive_near                      # same products, rules, reasons, fixes
        everything = m.match(need, top=None)
        assert {x.product_id for x in everything} == naive
        keys = [(-x.score, x.estimated_rate, x.product_ref) for x in everything]
        assert keys == sorted(keys)
        assert m.match(need, top=top) == everything[:top]     # pruning never changes the top
        for x in everything:
            assert 0 <= x.score <= 100
            key = RankKey(x.score, x.estimated_rate, x.product_ref, x.product_id)
            assert m.matches_for(need, [key]) == [x]    # stored keys give the same match


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 70), st.lists(st.lists(st.integers(0, 69)), max_size=40))
def test_product_counts_counts_each_position_over_every_mask(n, chosen):
    """The bit-sliced counter against one count per set bit: carries through several planes
    (up to 40 masks), positions set in no mask left out."""
    products = [make_product(id=i + 1, ref=f"P-{i + 1:03d}") for i in range(n)]
    m = Matcher(products, CTX)
    by_pos = {it.pos: it.terms.id for it in m._index.items}
    masks = [sum(1 << pos for pos in set(c) if pos < n) for c in chosen]
    naive: dict[int, int] = {}
    for mask in masks:
        for pos in range(n):
            if mask >> pos & 1:
                naive[by_pos[pos]] = naive.get(by_pos[pos], 0) + 1
    assert m.product_counts(masks) == naive


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(products_st, min_size=1, max_size=6), st.lists(needs_st, min_size=1,
                                                               max_size=12))
def test_need_index_agrees_with_the_rules(products, needs):
    products, needs = numbered(products), numbered(needs)
    index = NeedIndex(needs, CTX)
    for p in products:
        impact = index.impact(p)
        assert impact.eligible == {n.id for n in needs if is_eligible(n, p, CTX)}
        assert dict(impact.near_miss) == {
            n.id: nm.rule_code for n in needs if (nm := near_miss_of(n, p, CTX))}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(products_st, min_size=2, max_size=14), st.lists(needs_st, min_size=1,
                                                                max_size=5),
       products_st, st.integers(0, 13), st.integers(1, 3))
def test_refresh_equals_a_full_recomputation(products, needs, changed, which, top):
    products, needs = numbered(products), numbered(needs)
    target = products[which % len(products)]
    after = dataclasses.replace(changed, id=target.id, ref=target.ref)
    before_m = Matcher(products, CTX)
    after_m = Matcher(with_product(products, after), CTX)
    for need in needs:
        ranking = before_m.rank(need, top, reserve=1)
        fresh = after_m.refresh(need, ranking, after.id, top, reserve=1) or ranking
        assert fresh.keys[:top] == after_m.rank_keys(need, top)
        near = before_m.near_ranking(need, top, reserve=1)
        nm = near_miss_of(need, after, CTX)
        new_near = after_m.refresh_near(need, near, after.id, nm and nm.rule_code, top,
                                        reserve=1) or near
        assert new_near.items[:top] == after_m.near_misses(need, top)


# products most needs qualify for, so that lists fill and get cut: they differ by what
# moves a rank (rate, amount and term spans, institution) and by the programmes they carry
open_products_st = st.builds(
    lambda rate, spread, amounts, terms, inst, programs, purposes: make_product(
        institution_id=inst, institution_ref=f"I-{inst}", rate_min=rate, rate_max=rate + spread,
        amount_min_wan=min(amounts), amount_max_wan=max(amounts), term_min_months=min(terms),
        term_max_months=max(terms), subsidy_programs=tuple(sorted(programs)),
        purposes=frozenset({"working_capital", "tech_upgrade"}) | purposes),
    st.sampled_from([D("2.8"), D("3.0"), D("3.5"), D("4.0"), D("4.6")]),
    st.sampled_from([D(0), D("0.5"), D(2)]),
    st.tuples(st.sampled_from([D(10), D(50), D(100)]), st.sampled_from([D(300), D(1000)])),
    st.tuples(st.sampled_from([3, 6, 12]), st.sampled_from([12, 24, 36])),
    st.sampled_from([1, 2, 3]),
    subsets(("tech_upgrade_interest", "guarantee_fee_subsidy", "equipment_renewal_relending")),
    subsets(("supply_chain",)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(open_products_st, min_size=2, max_size=14),
       st.lists(needs_st, min_size=1, max_size=4),
       st.lists(open_products_st | products_st, min_size=1, max_size=6),
       st.integers(0, 2 ** 14), st.integers(1, 3))
def test_refresh_products_equals_a_full_recomputation(products, needs, changes, which, top):
    """Many products changed at once (a programme's carriers): patched lists, complete or
    cut short (top + 1 kept of up to 14 products), are what ranking again gives."""
    products = numbered(products)
    needs = [dataclasses.replace(n, enterprise=dataclasses.replace(
        n.enterprise, district="江津区", industry="C3670", size="small", tax_credit_grade="A",
        founded=date(2016, 1, 31)), guarantee_modes=frozenset({"credit"}), max_rate=None)
        for n in numbered(needs)]
    targets = [p for i, p in enumerate(products) if which >> i & 1][:len(changes)]
    after = products
    for target, change in zip(targets, changes):
        after = with_product(after, dataclasses.replace(change, id=target.id, ref=target.ref))
    changed = frozenset(t.id for t in targets)
    before_m, after_m = Matcher(products, CTX), Matcher(after, CTX)
    mask = after_m.product_mask(changed)
    for need in needs:
        ranking = before_m.rank(need, top, reserve=1)
        fresh = after_m.refresh_products(need, ranking, changed, mask, top, reserve=1)
        fresh = fresh or ranking
        # exactly the best products, the reserve too: the next patch starts from this list
        assert fresh.keys == after_m.rank_keys(need, len(fresh.keys))
        if fresh.complete:
            assert fresh.keys == after_m.rank_keys(need, None)


def test_a_complete_list_that_more_products_enter_than_it_keeps_is_cut():
    """One product ranked, complete; two more become eligible at once: two are kept, and the
    list no longer says it holds every eligible product."""
    products = [make_product(id=i, ref=f"P-{i}", amount_max_wan=D(500 if i == 1 else 100))
                for i in (1, 2, 3)]
    need = make_need()
    ranking = Matcher(products, CTX).rank(need, top=1, reserve=1)
    assert [k.product_id for k in ranking.keys] == [1] and ranking.complete
    after = Matcher([products[0]] + [dataclasses.replace(p, amount_max_wan=D(500))
                                     for p in products[1:]], CTX)
    fresh = after.refresh_products(need, ranking, frozenset({2, 3}),
                                   after.product_mask({2, 3}), top=1, reserve=1)
    assert len(fresh.keys) == 2 and not fresh.complete
    assert fresh.keys == after.rank_keys(need, 2)


def test_rank_order_matches_match_order():
    products = [make_product(id=i, ref=f"P-{i}", rate_min=D("3.5") + D(i % 3) / 10)
                for i in range(1, 9)]
    m = Matcher(products, CTX)
    keys = m.rank_keys(make_need(), None)
    assert keys == sorted(keys, key=rank_order)
    assert [k.product_id for k in keys] == [x.product_id for x in m.match(make_need(), None)]


def test_refresh_near_moves_a_product_whose_bound_changed():
    # all three fail only the amount; B becomes cheaper, so its bound (and place) moves up
    products = [make_product(id=i, ref=f"P-{c}", amount_max_wan=D(100),
                             rate_min=D(r), rate_max=D(r) + 1)
                for i, (c, r) in enumerate((("A", "3.5"), ("B", "4.5"), ("C", "4.0")), 1)]
    need = make_need()
    before = Matcher(products, CTX)
    near = before.near_ranking(need, top=2, reserve=1)
    assert [x.product_ref for x in near.items] == ["P-A", "P-C", "P-B"]
    cheaper = dataclasses.replace(products[1], rate_min=D("3.0"), rate_max=D("3.5"))
    after = Matcher(with_product(products, cheaper), CTX)
    fresh = after.refresh_near(need, near, cheaper.id, "amount", top=2, reserve=1)
    assert fresh is not None
    assert fresh.items[:2] == after.near_misses(need, 2)
    assert [x.product_ref for x in fresh.items] == ["P-B", "P-A", "P-C"]


def test_a_bridge_is_not_ranked_as_a_yearly_cost_and_its_keys_agree():
    """Issue 15: a bridge (应急转贷) shows a fee by the day and no estimated_rate; its rank
    key is the same whichever path stores it (match_all's ranking, rank_keys, refresh)."""
    bridge = make_product(id=2, ref="P-BRIDGE", institution_id=2, institution_kind="bridge_fund",
                          rate_min=D("3.0"), rate_max=D("3.0"),
                          subsidy_programs=("bridge_fee_waiver",))
    loan = make_product(id=1, ref="P-LOAN")
    need = make_need(make_enterprise(tags=frozenset({"specialized_sme"}),
                                     verified_tags=frozenset({"specialized_sme"})))
    matcher = Matcher([bridge, loan], CTX)
    by_ref = {m.product_ref: m for m in matcher.match(need)}
    m = by_ref["P-BRIDGE"]
    assert m.estimated_rate is None
    assert m.components["cost"] == CTX.weights.cost / 2       # neither cheap nor dear
    assert any("按实际使用天数计收" in r and "免收使用费" in r for r in m.reasons)
    [result] = matcher.match_all([need], top=10, reserve=5, with_reasons=False)
    assert result.ranking.keys[:10] == matcher.rank_keys(need, 10)
    assert next(k for k in result.ranking.keys if k.product_ref == "P-BRIDGE").estimated_rate \
        is None


def test_a_bridge_fund_serves_only_whom_its_programme_names():
    """Issue 15, 7号 四（二）: 制造业中小微企业, 双百企业中的大型民营企业. A large listed firm
    that is not 双百 gets no bridge at all (not merely no waiver), and is no near miss: it
    cannot change that; nor does a 双百 firm known to be state-controlled. What the platform
    does not know yet (ownership never stated, a 双百 tag not yet verified, as after an import)
    does not refuse: the match says it is to be verified. Both indexes agree."""
    bridge = make_product(id=2, ref="P-BRIDGE", institution_id=2, institution_kind="bridge_fund",
                          rate_min=D("3.6"), rate_max=D("3.6"), amount_max_wan=D(8000),
                          subsidy_programs=("bridge_fee_waiver",))
    loan = make_product(id=1, ref="P-LOAN", amount_max_wan=D(8000))
    large = {"size": "large", "employees": 1500, "revenue_wan": D(60000),
             "ownership": "private"}
    listed = make_need(make_enterprise(id=1, tags=frozenset({"listed"}),
                                       verified_tags=frozenset({"listed"}), **large), id=1)
    double_hundred = make_need(make_enterprise(
        id=2, tags=frozenset({"double_hundred"}), verified_tags=frozenset({"double_hundred"}),
        **large), id=2)
    unknown_owner = make_need(make_enterprise(
        id=3, tags=frozenset({"double_hundred"}), verified_tags=frozenset({"double_hundred"}),
        **dict(large, ownership=None)), id=3)
    sme = make_need(make_enterprise(id=4), id=4)
    state_owned = make_need(make_enterprise(
        id=5, tags=frozenset({"double_hundred"}), verified_tags=frozenset({"double_hundred"}),
        **dict(large, ownership="state")), id=5)
    unverified = make_need(make_enterprise(
        id=6, tags=frozenset({"double_hundred"}), **dict(large, ownership=None)), id=6)
    needs = (listed, double_hundred, unknown_owner, sme, state_owned, unverified)
    matcher = Matcher([bridge, loan], CTX)
    served = {n.id: {m.product_ref for m in matcher.match(n)} for n in needs}
    assert served == {1: {"P-LOAN"}, 2: {"P-LOAN", "P-BRIDGE"}, 3: {"P-LOAN", "P-BRIDGE"},
                      4: {"P-LOAN", "P-BRIDGE"}, 5: {"P-LOAN"}, 6: {"P-LOAN", "P-BRIDGE"}}
    assert matcher.near_misses(listed) == []
    [verdict] = [v for r, v in evaluate(listed, bridge) if r.code == "fund"]
    assert not verdict.ok and "双百" in verdict.reason_zh
    [verdict] = [v for r, v in evaluate(unverified, bridge) if r.code == "fund"]
    assert verdict.ok and "待核实" in verdict.reason_zh
    impact = NeedIndex(list(needs), CTX).impact(bridge)
    assert impact.eligible == {2, 3, 4, 6} and impact.near_miss == {}
    [m] = [m for m in matcher.match(double_hundred) if m.product_ref == "P-BRIDGE"]
    assert m.estimated_rate is None                 # a fee by the day, not waived for 双百
    assert any("按实际使用天数计收" in r and "免收" not in r for r in m.reasons)
