"""Ranking quality on the judged set: nDCG@5, eligibility violations, recall.

    python -m benchmarks.quality            # the figures
    python -m benchmarks.quality -v         # and each need's ranking beside its grades

Eligibility is re-checked by a naive implementation written here from the spec's rules 1–9,
independent of matcher.RULES (it shares only names.same_company, which defines what
"the same core enterprise" means). Violations = returned products the naive check rejects;
recall = eligible products returned / eligible products (matching with top=None).
nDCG@5 uses the grades 0–3 (gain 2^g − 1); ungraded pairs count 0; needs whose eligible
products are all ungraded are left out of the mean.
"""
from __future__ import annotations

import argparse
import math
from datetime import date
from decimal import Decimal

from benchmarks.judged import judged_set as J
from matchmaker import sizes
from matchmaker.institutions.subsidies import default_programs
from matchmaker.matching.matcher import (
    EnterpriseFacts,
    MatchContext,
    Matcher,
    NeedFacts,
    ProductTerms,
)
from matchmaker.names import same_company


def build() -> tuple[list[ProductTerms], list[NeedFacts], dict]:
    inst_ids = {ref: i for i, ref in enumerate(J.INSTITUTIONS, 1)}
    products = []
    for i, row in enumerate(J.PRODUCTS, 1):
        inst = row["institution_ref"]
        _name, kind, served = J.INSTITUTIONS[inst]
        products.append(ProductTerms(
            id=i, ref=row["ref"], institution_id=inst_ids[inst], institution_ref=inst,
            institution_kind=kind, version=1, name=row["name"], active=row.get("active", True),
            purposes=frozenset(row["purposes"]), guarantee_modes=frozenset(row["guarantee_modes"]),
            amount_min_wan=row["amount_min_wan"], amount_max_wan=row["amount_max_wan"],
            term_min_months=row["term_min_months"], term_max_months=row["term_max_months"],
            rate_min=row["rate_min"], rate_max=row["rate_max"],
            sizes=frozenset(row.get("sizes", ())), tags_any=frozenset(row.get("tags_any", ())),
            industries=tuple(row.get("industries", ())),
            districts=frozenset(row.get("districts") or served),
            min_years=row.get("min_years"), min_revenue_wan=row.get("min_revenue_wan"),
            tax_credit_grades=frozenset(row.get("tax_credit_grades", ())),
            loan_kinds=frozenset(row.get("loan_kinds", ())),
            existing_customers_only=row.get("existing_customers_only", False),
            core_enterprises=tuple(row.get("core_enterprises", ())),
            subsidy_programs=tuple(row.get("subsidy_programs", ()))))
    enterprises = {}
    for i, (ref, e) in enumerate(J.ENTERPRISES.items(), 1):
        district, industry, cluster, employees, revenue, founded, tags, grade, loan, core = e
        enterprises[ref] = EnterpriseFacts(
            i, ref, district, industry, cluster, sizes.derive(industry, employees, Decimal(revenue)),
            employees, Decimal(revenue), founded, frozenset(tags), grade, loan, core)
    needs = []
    for i, (ref, n) in enumerate(J.NEEDS.items(), 1):
        ent_ref, purpose, amount, term, modes, kind, max_rate, lender, created = n
        e = enterprises[ent_ref]
        kind = kind or ("new" if e.has_bank_loan else "first_loan")
        needs.append(NeedFacts(i, ref, e, purpose, kind, Decimal(amount), term,
                               frozenset(modes), Decimal(max_rate) if max_rate else None,
                               inst_ids[lender] if lender else None, created=created))
    return products, needs, inst_ids


# ------------------------------------------------------------------ the naive rules


def _months(founded: date, on: date) -> int:
    months = (on.year - founded.year) * 12 + on.month - founded.month
    return months - 1 if on.day < founded.day else months


def naive_eligible(n: NeedFacts, p: ProductTerms) -> bool:
    """Rules 1–9 of exchange-format.md, written out one by one."""
    e = n.enterprise
    checks = [
        p.active,
        n.purpose in p.purposes,
        p.amount_min_wan <= n.amount_wan <= p.amount_max_wan,
        p.term_min_months <= n.term_months <= p.term_max_months,
        "credit" in p.guarantee_modes or len(set(n.guarantee_modes) & set(p.guarantee_modes)) > 0,
        len(p.districts) == 0 or e.district in p.districts,
        len(p.sizes) == 0 or e.size in p.sizes,
        len(p.tags_any) == 0 or len(set(p.tags_any) & set(e.tags)) > 0,
        len(p.industries) == 0 or any(e.industry.startswith(c) for c in p.industries),
        p.min_years is None or _months(e.founded, n.created) >= p.min_years * 12,
        p.min_revenue_wan is None or e.revenue_wan >= p.min_revenue_wan,
        len(p.tax_credit_grades) == 0 or e.tax_credit_grade in p.tax_credit_grades,
        len(p.loan_kinds) == 0 or n.loan_kind in p.loan_kinds,
        len(p.core_enterprises) == 0 or (
            e.core_enterprise is not None
            and any(same_company(e.core_enterprise, c) for c in p.core_enterprises)),
        n.max_rate is None or p.rate_min <= n.max_rate,
        not p.existing_customers_only or n.current_lender_id == p.institution_id,
    ]
    return all(checks)


# ------------------------------------------------------------------ metrics


def dcg(gains: list[int]) -> float:
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def evaluate(verbose: bool = False, k: int = 5) -> dict:
    products, needs, _ = build()
    by_ref = {p.ref: p for p in products}
    ctx = MatchContext(J.TODAY, Decimal("3.0"), default_programs())
    matcher = Matcher(products, ctx)
    ndcgs, first_hits = [], []
    violations = returned_eligible = total_eligible = 0
    ungraded_eligible, graded_ineligible = [], []
    for need in needs:
        eligible = {p.ref for p in products if naive_eligible(need, p)}
        ranked = [m.product_ref for m in matcher.match(need, top=None)]
        violations += sum(1 for ref in ranked if ref not in eligible)
        returned_eligible += len(set(ranked) & eligible)
        total_eligible += len(eligible)
        grades = {p: g for (n, p), (g, _) in J.GRADES.items() if n == need.ref}
        graded_ineligible += [(need.ref, p) for p, g in grades.items()
                              if g > 0 and p not in eligible]
        ungraded_eligible += [(need.ref, p) for p in sorted(eligible) if p not in grades]
        ideal = sorted((grades.get(p, 0) for p in eligible), reverse=True)[:k]
        got = [grades.get(p, 0) for p in ranked[:k]]
        if dcg(ideal) > 0:
            ndcgs.append(dcg(got) / dcg(ideal))
            first_hits.append(1.0 if got and got[0] == ideal[0] else 0.0)
        if verbose:
            shown = ", ".join(f"{ref}({grades.get(ref, 0)})" for ref in ranked[:k])
            print(f"{need.ref} {need.purpose:<16} nDCG@{k} "
                  f"{(dcg(got) / dcg(ideal)) if dcg(ideal) else float('nan'):.3f}  {shown}")
    assert all(p in by_ref for (_, p) in J.GRADES), "a grade names an unknown product"
    return {
        "needs": len(needs), "products": len(products), "graded_pairs": len(J.GRADES),
        f"ndcg@{k}": sum(ndcgs) / len(ndcgs), "best_first": sum(first_hits) / len(first_hits),
        "needs_scored": len(ndcgs), "violations": violations,
        "recall": returned_eligible / total_eligible if total_eligible else 1.0,
        "eligible_pairs": total_eligible, "ungraded_eligible": ungraded_eligible,
        "graded_ineligible": graded_ineligible,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ranking quality on the judged set")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    r = evaluate(args.verbose)
    print(f"judged set: {r['needs']} needs × {r['products']} products, {r['graded_pairs']} "
          f"graded pairs, {r['eligible_pairs']} eligible pairs")
    print(f"nDCG@5: {r['ndcg@5']:.3f} over {r['needs_scored']} needs   "
          f"best product first: {r['best_first']:.0%}")
    print(f"eligibility violations: {r['violations']}   recall: {r['recall']:.3f}")
    if r["graded_ineligible"]:
        print(f"warning: graded > 0 but not eligible: {r['graded_ineligible']}")
    if r["ungraded_eligible"]:
        print(f"note: eligible but ungraded (count 0): {r['ungraded_eligible']}")


if __name__ == "__main__":
    main()
