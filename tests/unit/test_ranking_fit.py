"""Fit to the need's situation before price (issue 14): a product whose conditions target what
this enterprise is ranks above a cheaper product that merely admits it; price still separates
otherwise similar products; the score stays an explained 0–100 sum."""
import dataclasses
from decimal import Decimal as D

import pytest

from matchmaker.matching.matcher import Matcher, RankKey, Weights
from tests.unit.test_matcher import CTX, make_enterprise, make_need, make_product

# a generic line one percentage point cheaper than every targeted product below
CHEAP = {"rate_min": D("3.0"), "rate_max": D("3.6")}
DEAR = {"rate_min": D("4.0"), "rate_max": D("4.6")}


def ranking(products, need, ctx=CTX):
    return [m.product_ref for m in Matcher(products, ctx).match(need, top=None)]


def cheap_generic(**kw):
    return make_product(id=99, ref="P-CHEAP", **CHEAP, **kw)


CASES = {
    "首贷 product for a first loan": (
        {"loan_kinds": frozenset({"first_loan"})},
        make_need(make_enterprise(has_bank_loan=False), loan_kind="first_loan")),
    "续贷 at the current lender for a renewal": (
        {"loan_kinds": frozenset({"renewal"}), "existing_customers_only": True,
         "institution_id": 7},
        make_need(loan_kind="renewal", current_lender_id=7)),
    "银税互动 for an A-grade taxpayer": (
        {"tax_credit_grades": frozenset({"A"})},
        make_need(make_enterprise(tax_credit_grade="A"))),
    "渝链贷 for a supplier of its core enterprise": (
        {"purposes": frozenset({"supply_chain"}), "core_enterprises": ("长安汽车",)},
        make_need(make_enterprise(core_enterprise="重庆长安汽车股份有限公司"),
                  purpose="supply_chain")),
    "专精特新贷 for a 专精特新 enterprise": (
        {"tags_any": frozenset({"specialized_sme", "little_giant"})},
        make_need(make_enterprise(tags=frozenset({"specialized_sme"})))),
    "a subsidy that applies to the need": (
        {"purposes": frozenset({"tech_upgrade"}), "subsidy_programs": ("tech_upgrade_interest",),
         "rate_min": D("5.0"), "rate_max": D("5.6")},
        make_need(purpose="tech_upgrade")),
    "a product of its district": (
        {"districts": frozenset({"江津区"})}, make_need()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_targeted_product_beats_a_cheaper_one_that_merely_admits(case):
    terms, need = CASES[case]
    targeted = make_product(id=1, ref="P-TARGETED", **({**DEAR, **terms}))
    generic = cheap_generic(purposes=targeted.purposes)
    matches = Matcher([generic, targeted], CTX).match(need)
    assert [m.product_ref for m in matches] == ["P-TARGETED", "P-CHEAP"], case
    top = matches[0]
    assert top.estimated_rate > matches[1].estimated_rate or case.startswith("a subsidy")
    assert top.components["fit"] > matches[1].components["fit"]


def test_the_guarantee_fee_subsidy_is_no_saving_of_the_enterprise():
    """A 技改 need offering a guarantee: the guarantee-fee subsidy (7号 四（一）) is paid to the
    融资担保机构, so the guarantor's dearer product does not outrank the bank's cheaper 技改
    loan on it (issue 15: it used to, counting the guarantor's subsidy as the firm's saving)."""
    need = make_need(purpose="tech_upgrade", guarantee_modes=frozenset({"guarantee"}),
                     term_months=36)
    bank = make_product(id=1, ref="P-BANK", purposes=frozenset({"tech_upgrade"}),
                        guarantee_modes=frozenset({"mortgage", "guarantee"}), term_max_months=60,
                        subsidy_programs=("tech_upgrade_interest",), rate_min=D("3.4"),
                        rate_max=D("4.0"))
    guarantor = make_product(id=2, ref="P-GUAR", institution_id=2, institution_kind="guarantee",
                             purposes=frozenset({"tech_upgrade"}), term_max_months=60,
                             guarantee_modes=frozenset({"guarantee"}), rate_min=D("3.6"),
                             rate_max=D("4.6"), subsidy_programs=(
                                 "guarantee_fee_subsidy", "tech_upgrade_interest"))
    matches = Matcher([bank, guarantor], CTX).match(need)
    assert [m.product_ref for m in matches] == ["P-BANK", "P-GUAR"]
    guar = matches[1]
    # 4.10 % midpoint + 1 % fee, halved by the 技改贴息 on the rate: 2.05 + 1.00, fee unsubsidised
    assert guar.estimated_rate == D("3.05")
    assert not any("融资担保费补助" in r for r in guar.reasons)


def test_a_catch_all_line_does_not_earn_the_fit_of_a_situation():
    # open to new loans too: it admits a first loan, it was not made for one
    admits = make_product(id=1, ref="P-ADMITS", loan_kinds=frozenset({"first_loan", "new"}),
                          **DEAR)
    need = make_need(make_enterprise(has_bank_loan=False), loan_kind="first_loan")
    assert ranking([admits, cheap_generic()], need) == ["P-CHEAP", "P-ADMITS"]


def test_price_separates_otherwise_similar_products():
    need = make_need(make_enterprise(has_bank_loan=False), loan_kind="first_loan")
    kinds = {"loan_kinds": frozenset({"first_loan"})}
    dear = make_product(id=1, ref="P-A", **DEAR, **kinds)
    cheap = make_product(id=2, ref="P-B", **CHEAP, **kinds)
    assert ranking([dear, cheap], need) == ["P-B", "P-A"]


def test_a_verified_tag_counts_and_says_so():
    product = make_product(tags_any=frozenset({"specialized_sme"}))
    declared = make_need(make_enterprise(tags=frozenset({"specialized_sme"})))
    verified = make_need(make_enterprise(tags=frozenset({"specialized_sme"}),
                                         verified_tags=frozenset({"specialized_sme"})))
    [a] = Matcher([product], CTX).match(declared)
    [b] = Matcher([product], CTX).match(verified)
    assert b.components["fit"] == a.components["fit"] + Weights().fit_tags_verified
    assert "专精特新中小企业（已核验），产品专为此类企业设计" in b.reasons
    assert abs(b.score - a.score - Weights().fit_tags_verified) < 0.11


def test_every_fit_signal_is_a_reason_and_the_score_stays_within_100():
    everything = make_product(
        purposes=frozenset({"tech_upgrade"}), loan_kinds=frozenset({"renewal"}),
        existing_customers_only=True, institution_id=7, core_enterprises=("长安汽车",),
        tax_credit_grades=frozenset({"A"}), tags_any=frozenset({"specialized_sme"}),
        industries=("C3670",), districts=frozenset({"江津区"}), sizes=frozenset({"small"}),
        subsidy_programs=("tech_upgrade_interest", "equipment_renewal_relending"),
        rate_min=D("0.5"), rate_max=D("0.5"))
    enterprise = make_enterprise(core_enterprise="长安汽车", tax_credit_grade="A",
                                 tags=frozenset({"specialized_sme"}),
                                 verified_tags=frozenset({"specialized_sme"}))
    need = make_need(enterprise, purpose="tech_upgrade", loan_kind="renewal",
                     current_lender_id=7, amount_wan=D(158), term_months=12)
    ctx = dataclasses.replace(CTX, lead_response={7: 1.0})
    [m] = Matcher([everything], ctx).match(need)
    assert m.components["fit"] == Weights().fit and 0 <= m.score <= 100
    assert abs(sum(m.components.values()) - m.score) < 0.1
    text = " ".join(m.reasons)
    for phrase in ("续贷专属产品", "现贷款机构", "供应链产品", "银税互动", "专精特新中小企业（已核验）",
                   "汽车零部件及配件制造", "江津区本地产品", "产品专门面向小型企业", "可享"):
        assert phrase in text, phrase


def test_stored_keys_and_the_ranking_give_the_same_score():
    products = [make_product(id=i, ref=f"P-{i}", **terms) for i, (terms, _) in
                enumerate(CASES.values(), 1)]
    for _, need in CASES.values():
        matcher = Matcher(products, CTX)
        everything = matcher.match(need, top=None)
        keys = [RankKey(m.score, m.estimated_rate, m.product_ref, m.product_id)
                for m in everything]
        assert [m.score for m in matcher.matches_for(need, keys)] == [m.score for m in everything]
        keys = matcher.rank_keys(need, top=3)
        assert [k.product_ref for k in keys] == [m.product_ref for m in matcher.match(need, 3)]
