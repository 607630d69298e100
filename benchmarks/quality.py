"""Ranking quality: nDCG@5, eligibility violations, recall — on the tuning set and the blind set.

    python -m benchmarks.quality            # both sets' figures, side by side
    python -m benchmarks.quality -v         # and each need's ranking beside its grades

The tuning set (`judged/judged_set.py`) was used while designing the score. The blind set
(`judged/blind/`: catalogue.json and needs.json in matchmaker-exchange/1, grades.json
{need: {product: 0–3}}, METHOD.md) was graded by someone who never saw the ranking code; it is
loaded the way a real platform loads data: `matchmaker import` of its documents into a scratch
SQLite database (migrated, with the policy data of the migrations), then the matches the
platform stored for each need (the `matches` table, in the need page's order) are read back.

Eligibility is re-checked by a naive implementation written here from the spec's rules 1–9,
independent of matcher.RULES (it shares only names.same_company, which defines what
"the same core enterprise" means). Violations = returned products the naive check rejects;
recall = eligible products returned / eligible products (matching with top=None).
nDCG@5 uses the grades 0–3 (gain 2^g − 1); ungraded pairs count 0; needs whose eligible
products are all ungraded are left out of the mean.
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

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
        size = sizes.derive(industry, employees, Decimal(revenue))
        enterprises[ref] = EnterpriseFacts(
            i, ref, district, industry, cluster, size, employees, Decimal(revenue), founded,
            frozenset(tags), grade, loan, core, derived_size=size)
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


def naive_eligible(n: NeedFacts, p: ProductTerms, same_core=None) -> bool:
    """Rules 1–9 of exchange-format.md, written out one by one. `same_core(stated, listed)`:
    the platform's reading of "the same core enterprise" (its list and groups); default the
    tolerant name rule alone."""
    same_core = same_core or same_company
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
            and any(same_core(e.core_enterprise, c) for c in p.core_enterprises)),
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


# ------------------------------------------------------------------ the blind set

BLIND = Path(__file__).resolve().parent / "judged" / "blind"


def evaluate_blind(directory: Path = BLIND, verbose: bool = False, k: int = 5,
                   core_list: Path | None = None) -> dict:
    """Import the blind set's documents into a scratch SQLite platform and score the matches
    it stored. Eligibility is re-checked by naive_eligible() on the platform's own facts.
    `core_list`: the organizers' 核心企业名单库 (with groups) loaded first, as on a real platform."""
    from matchmaker import create_app
    from matchmaker.extensions import db

    grades = json.loads((directory / "grades.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/blind.sqlite3", "TESTING": True,
                          "MAIL_OUTBOX": f"{tmp}/outbox",
                          # the jobs an import starts (recounts) run in the importing
                          # transaction: a thread runner's writes would lock the SQLite file
                          "JOBS_BACKEND": "inline"}, require_secret=False)
        with app.app_context():
            import flask_migrate

            flask_migrate.upgrade()
            if core_list is not None:
                _load_core_list(core_list)
            ranked, eligible, refs = _import_and_read(directory)
            db.session.remove()
            db.engine.dispose()
    return _score(ranked, eligible, grades, refs, verbose, k)


def _load_core_list(path: Path) -> None:
    from matchmaker.extensions import db
    from matchmaker.institutions.service import load_core_enterprises, load_core_groups

    data = json.loads(path.read_text(encoding="utf-8"))
    load_core_enterprises(None, data["core_enterprises"])
    load_core_groups(None, data.get("groups") or [])
    db.session.commit()


def _import_and_read(directory: Path) -> tuple[dict, dict, dict]:
    """(need ref -> stored product refs in order, need ref -> naive-eligible refs, counts)."""
    from sqlalchemy import select

    from matchmaker.enterprises.models import Need
    from matchmaker.exchange.service import import_document, load_document
    from matchmaker.extensions import db
    from matchmaker.institutions.models import Product
    from matchmaker.matching import adapters, queries
    from matchmaker.matching import service as matching

    for name in ("catalogue.json", "needs.json"):
        import_document(load_document((directory / name).read_bytes()))
        db.session.commit()
    products = [adapters.product_terms(p) for p in db.session.scalars(select(Product))]
    ranked, eligible, complete = {}, {}, {}
    needs = db.session.scalars(select(Need).order_by(Need.ref)).all()
    for need in needs:
        ranked[need.ref] = [m.product.ref for m in queries.matches_for_need(need)]
        facts = adapters.need_facts(need)
        # the platform's resolver (with the list's groups) decides what "the same core
        # enterprise" is; every other rule is the naive one
        matcher = matching.current_matcher()
        eligible[need.ref] = {p.ref for p in products
                              if naive_eligible(facts, p, matcher.ctx.same_core)}
        # the need page stores its top 10 only: recall and violations are read from the
        # platform's matcher with top=None, as the tuning set's are
        complete[need.ref] = [m.product_ref for m in matcher.match(facts, top=None)]
    return ranked, eligible, {"needs": len(needs), "products": len(products),
                              "complete": complete}


def _score(ranked: dict, eligible: dict, grades: dict, refs: dict, verbose: bool,
           k: int) -> dict:
    ndcgs, strict, first_hits = [], [], []
    violations = returned = total = 0
    for need_ref in sorted(ranked):
        got_refs, ok = ranked[need_ref], eligible[need_ref]
        every = refs.get("complete", ranked)[need_ref]
        violations += sum(1 for ref in set(got_refs) | set(every) if ref not in ok)
        returned += len(set(every) & ok)
        total += len(ok)
        mine = grades.get(need_ref, {})
        ideal = sorted((mine.get(p, 0) for p in ok), reverse=True)[:k]
        got = [mine.get(p, 0) for p in got_refs[:k]]
        if dcg(ideal) > 0:
            ndcgs.append(dcg(got) / dcg(ideal))
            first_hits.append(1.0 if got and got[0] == ideal[0] else 0.0)
        # the grader's own ideal: every pair it graded, eligible by its reading of the spec
        graded_ideal = sorted(mine.values(), reverse=True)[:k]
        if dcg(graded_ideal) > 0:
            strict.append(dcg(got) / dcg(graded_ideal))
        if verbose:
            shown = ", ".join(f"{ref}({mine.get(ref, 0)})" for ref in got_refs[:k])
            value = dcg(got) / dcg(ideal) if dcg(ideal) else float("nan")
            print(f"{need_ref} nDCG@{k} {value:.3f}  {shown}")
    return {"needs": refs["needs"], "products": refs["products"],
            "graded_pairs": sum(len(v) for v in grades.values()),
            f"ndcg@{k}": sum(ndcgs) / len(ndcgs) if ndcgs else float("nan"),
            "ndcg_graded": sum(strict) / len(strict) if strict else float("nan"),
            "best_first": sum(first_hits) / len(first_hits) if first_hits else float("nan"),
            "needs_scored": len(ndcgs), "violations": violations,
            "recall": returned / total if total else 1.0, "eligible_pairs": total,
            "ungraded_eligible": [], "graded_ineligible": [
                (n, p) for n, g in grades.items() for p, v in g.items()
                if v > 0 and p not in eligible.get(n, set())]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ranking quality on the judged sets")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--blind", type=Path, default=BLIND,
                        help="the blind set's folder (catalogue.json, needs.json, grades.json)")
    parser.add_argument("--core-list", type=Path, default=None,
                        help="load this 核心企业名单库 (e.g. seeds/core_enterprises.json) into "
                             "the blind set's platform first")
    args = parser.parse_args(argv)
    if args.verbose:
        print("--- tuning set")
    results = {"tuning set": evaluate(args.verbose)}
    results["tuning set"]["ndcg_graded"] = results["tuning set"]["ndcg@5"]
    if (args.blind / "grades.json").is_file():
        if args.verbose:
            print("--- blind set")
        results["blind set"] = evaluate_blind(args.blind, args.verbose,
                                              core_list=args.core_list)
    else:
        print(f"(no blind set at {args.blind})")
    for name, r in results.items():
        print(f"{name}: {r['needs']} needs × {r['products']} products, {r['graded_pairs']} "
              f"graded pairs, {r['eligible_pairs']} eligible pairs")
    print(f"{'':<24}" + "".join(f"{name:>14}" for name in results))
    rows = (("nDCG@5", "ndcg@5", "{:.3f}"), ("nDCG@5, grader's ideal", "ndcg_graded", "{:.3f}"),
            ("best product first", "best_first", "{:.0%}"),
            ("needs scored", "needs_scored", "{}"), ("eligibility violations", "violations", "{}"),
            ("recall", "recall", "{:.3f}"))
    for label, key, fmt in rows:
        print(f"{label:<24}" + "".join(f"{fmt.format(r[key]):>14}" for r in results.values()))
    for name, r in results.items():
        if r["graded_ineligible"]:
            print(f"warning ({name}): graded > 0 but not eligible: {r['graded_ineligible']}")


if __name__ == "__main__":
    main()
