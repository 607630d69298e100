"""Independent eligibility checker for the blind judged set.

Written by the blind grader from the text of `shared/spec/exchange-format.md`
("Hard eligibility", rules 1-9) and `shared/reference/size_rule_300.json`, without
looking at the platform's matching code.  It exists so that every grade in
`grades.json` is given to a product that the contract says is eligible, and to
none that is not.

    python check_eligibility.py            # eligible products per need, counts
    python check_eligibility.py --validate # refs, codes, USCCs, grades coverage

Standard library only (the USCC check character is computed here by GB 32100-2015).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _find_shared() -> Path:
    """shared/ sits beside the repository (or beside the worktrees' parent)."""
    for up in HERE.parents:
        cand = up / "shared" / "spec" / "vocabulary.json"
        if cand.exists():
            return up / "shared"
    raise SystemExit("shared/ not found: pass --shared PATH")


def load_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# --- size by 300号 -------------------------------------------------------------

def sector_for(industry: str, rule: dict) -> dict:
    """Longest matching prefix wins; a code no sector names falls under 'other'."""
    best, best_len = None, -1
    for sector in rule["sectors"]:
        for prefix in sector["gbt4754"]:
            if industry.startswith(prefix) and len(prefix) > best_len:
                best, best_len = sector, len(prefix)
    if best is None:
        best = next(s for s in rule["sectors"] if s["code"] == "other")
    return best


def _meets(ent: dict, thresholds: dict) -> bool:
    for measure, minimum in thresholds.items():
        value = ent.get(measure)
        if value is None:
            raise ValueError(f"{ent['ref']}: size needs {measure}")
        if value < minimum:
            return False
    return True


def derive_size(ent: dict, rule: dict) -> str:
    if ent.get("size"):
        return ent["size"]
    sector = sector_for(ent["industry"], rule)
    if _meets(ent, sector["sme_upper"]):
        return "large"
    if _meets(ent, sector["medium"]):
        return "medium"
    if _meets(ent, sector["small"]):
        return "small"
    return "micro"


# --- tolerant core-enterprise names ---------------------------------------------

_SUFFIXES = ("集团股份有限公司", "集团有限责任公司", "集团有限公司", "股份有限公司",
             "有限责任公司", "有限公司", "股份公司", "公司", "(集团)", "集团")


def norm_company(name: str) -> str:
    """Strip 重庆/重庆市 and company suffixes (spec: 长安汽车 = 重庆长安汽车股份有限公司)."""
    s = name.strip().replace("（", "(").replace("）", ")").replace(" ", "")
    s = s.replace("(重庆)", "")
    for prefix in ("重庆市", "重庆"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                s = s[: -len(suffix)]
                changed = True
    return s


def core_matches(stated: str | None, listed: list[str]) -> bool:
    if not stated:
        return False
    a = norm_company(stated)
    for name in listed:
        b = norm_company(name)
        if a and b and (a in b or b in a):
            return True
    return False


# --- the rules --------------------------------------------------------------------

def years_since(founded: str, on: str) -> float:
    d0, d1 = dt.date.fromisoformat(founded), dt.date.fromisoformat(on)
    return (d1 - d0).days / 365.2425


def district_full(name: str, vocab: dict) -> str:
    for d in vocab["districts"]:
        if name in (d["name"], d.get("short")):
            return d["name"]
    raise ValueError(f"unknown district {name}")


def loan_kind(need: dict, ent: dict) -> str:
    if need.get("loan_kind"):
        return need["loan_kind"]
    return "new" if ent.get("has_bank_loan") else "first_loan"


def failures(prod: dict, need: dict, ent: dict, insts: dict, vocab: dict, rule: dict) -> list[str]:
    """Every hard rule the pair breaks (empty list = eligible)."""
    out = []
    if prod.get("active") is False:
        out.append("1 inactive")
    if need["purpose"] not in prod["purposes"]:
        out.append("2 purpose")
    if not prod["amount_min_wan"] <= need["amount_wan"] <= prod["amount_max_wan"]:
        out.append("3 amount")
    if not prod["term_min_months"] <= need["term_months"] <= prod["term_max_months"]:
        out.append("4 term")
    if "credit" not in prod["guarantee_modes"] and not set(prod["guarantee_modes"]) & set(need["guarantee_modes"]):
        out.append("5 guarantee")
    coverage = prod.get("districts") or insts[prod["institution_ref"]].get("districts") or []
    if coverage and district_full(ent["district"], vocab) not in {district_full(d, vocab) for d in coverage}:
        out.append("6 district")
    if prod.get("sizes") and derive_size(ent, rule) not in prod["sizes"]:
        out.append("7 size")
    if prod.get("tags_any") and not set(prod["tags_any"]) & set(ent.get("tags") or []):
        out.append("7 tags")
    if prod.get("industries") and not any(ent["industry"].startswith(c) for c in prod["industries"]):
        out.append("7 industry")
    if prod.get("min_years") is not None and years_since(ent["founded"], need["created"]) < prod["min_years"]:
        out.append("7 years")
    if prod.get("min_revenue_wan") is not None and ent["revenue_wan"] < prod["min_revenue_wan"]:
        out.append("7 revenue")
    if prod.get("tax_credit_grades") and ent.get("tax_credit_grade") not in prod["tax_credit_grades"]:
        out.append("7 tax grade")
    if prod.get("loan_kinds") and loan_kind(need, ent) not in prod["loan_kinds"]:
        out.append("7 loan kind")
    if prod.get("core_enterprises") and not core_matches(ent.get("core_enterprise"), prod["core_enterprises"]):
        out.append("7 core enterprise")
    if need.get("max_rate") is not None and prod["rate_min"] > need["max_rate"]:
        out.append("8 max_rate")
    if prod.get("existing_customers_only") and need.get("current_lender_ref") != prod["institution_ref"]:
        out.append("9 existing customers")
    return out


def eligibility(catalogue: dict, needs_doc: dict, vocab: dict, rule: dict) -> dict[str, list[str]]:
    insts = {i["ref"]: i for i in catalogue["institutions"]}
    ents = {e["ref"]: e for e in needs_doc["enterprises"]}
    result = {}
    for need in needs_doc["needs"]:
        ent = ents[need["enterprise_ref"]]
        result[need["ref"]] = [p["ref"] for p in catalogue["products"]
                               if not failures(p, need, ent, insts, vocab, rule)]
    return result


# --- validation of the documents ----------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate(catalogue: dict, needs_doc: dict, grades: dict, notes: dict, vocab: dict,
             rule: dict, gb_codes: set[str]) -> list[str]:
    errs = []
    codes = {k: {c["code"] for c in vocab[k]} for k in (
        "purposes", "loan_kinds", "guarantee_modes", "sizes", "enterprise_tags",
        "tax_credit_grades", "institution_kinds", "subsidy_programs", "clusters_33618")}
    district_names = {d["name"] for d in vocab["districts"]} | {d["short"] for d in vocab["districts"]}
    for doc in (catalogue, needs_doc):
        if doc.get("format") != "matchmaker-exchange/1":
            errs.append("format")
    for section, doc in (("institutions", catalogue), ("products", catalogue),
                         ("enterprises", needs_doc), ("needs", needs_doc)):
        refs = [r["ref"] for r in doc[section]]
        if len(refs) != len(set(refs)):
            errs.append(f"{section}: duplicate ref")
    insts = {i["ref"]: i for i in catalogue["institutions"]}
    ents = {e["ref"]: e for e in needs_doc["enterprises"]}
    for i in catalogue["institutions"]:
        if i["kind"] not in codes["institution_kinds"]:
            errs.append(f"institutions {i['ref']} kind")
        for d in i.get("districts") or []:
            if d not in district_names:
                errs.append(f"institutions {i['ref']} district {d}")
    for p in catalogue["products"]:
        r = p["ref"]
        if p["institution_ref"] not in insts:
            errs.append(f"products {r} institution_ref")
        for field, vocab_key in (("purposes", "purposes"), ("guarantee_modes", "guarantee_modes"),
                                 ("sizes", "sizes"), ("tags_any", "enterprise_tags"),
                                 ("tax_credit_grades", "tax_credit_grades"), ("loan_kinds", "loan_kinds"),
                                 ("subsidy_programs", "subsidy_programs")):
            for c in p.get(field) or []:
                if c not in codes[vocab_key]:
                    errs.append(f"products {r} {field}: {c}")
        for c in p.get("industries") or []:
            if c not in gb_codes:
                errs.append(f"products {r} industries: {c}")
        for d in p.get("districts") or []:
            if d not in district_names:
                errs.append(f"products {r} districts: {d}")
        if p["amount_min_wan"] > p["amount_max_wan"] or p["term_min_months"] > p["term_max_months"] \
                or p["rate_min"] > p["rate_max"]:
            errs.append(f"products {r} range")
    for e in needs_doc["enterprises"]:
        r = e["ref"]
        u = e["uscc"]
        if len(u) != 18 or any(c not in _USCC_ALPHABET for c in u) or uscc_check_char(u[:17]) != u[17]:
            errs.append(f"enterprises {r} uscc")
        if e["industry"] not in gb_codes:
            errs.append(f"enterprises {r} industry")
        if e["district"] not in district_names:
            errs.append(f"enterprises {r} district")
        if e.get("cluster") and e["cluster"] not in codes["clusters_33618"]:
            errs.append(f"enterprises {r} cluster")
        for t in e.get("tags") or []:
            if t not in codes["enterprise_tags"]:
                errs.append(f"enterprises {r} tags: {t}")
        if e.get("tax_credit_grade") and e["tax_credit_grade"] not in codes["tax_credit_grades"]:
            errs.append(f"enterprises {r} tax_credit_grade")
        try:
            derive_size(e, rule)
        except ValueError as exc:
            errs.append(f"enterprises {r} size: {exc}")
    for n in needs_doc["needs"]:
        r = n["ref"]
        ent = ents.get(n["enterprise_ref"])
        if ent is None:
            errs.append(f"needs {r} enterprise_ref")
            continue
        if n["purpose"] not in codes["purposes"]:
            errs.append(f"needs {r} purpose")
        for g in n["guarantee_modes"]:
            if g not in codes["guarantee_modes"]:
                errs.append(f"needs {r} guarantee_modes: {g}")
        kind = loan_kind(n, ent)
        if kind not in codes["loan_kinds"]:
            errs.append(f"needs {r} loan_kind")
        if kind == "first_loan" and ent.get("has_bank_loan") and not n.get("funded_on"):
            errs.append(f"needs {r} loan_kind: first_loan for an enterprise with a bank loan")
        if kind == "renewal" and not ent.get("has_bank_loan"):
            errs.append(f"needs {r} loan_kind: renewal without a bank loan")
        if n.get("current_lender_ref") and n["current_lender_ref"] not in insts:
            errs.append(f"needs {r} current_lender_ref")
        if n["amount_wan"] <= 0 or n["term_months"] <= 0:
            errs.append(f"needs {r} amount/term")
    elig = eligibility(catalogue, needs_doc, vocab, rule)
    prod_refs = {p["ref"] for p in catalogue["products"]}
    for need_ref, eligible in elig.items():
        if not eligible:
            errs.append(f"needs {need_ref}: no eligible product")
        graded = grades.get(need_ref)
        if graded is None:
            errs.append(f"grades {need_ref}: missing")
            continue
        if set(graded) != set(eligible):
            errs.append(f"grades {need_ref}: graded {sorted(set(graded) - set(eligible))} not eligible, "
                        f"eligible {sorted(set(eligible) - set(graded))} not graded")
        for pref, g in graded.items():
            if pref not in prod_refs or g not in (0, 1, 2, 3):
                errs.append(f"grades {need_ref} {pref}: {g}")
            if g >= 2 and not (notes.get(need_ref) or {}).get(pref):
                errs.append(f"notes {need_ref} {pref}: missing for grade {g}")
    for need_ref in grades:
        if need_ref not in elig:
            errs.append(f"grades {need_ref}: unknown need")
    # min_years within 60 days of a threshold makes "years since founding" depend on how one counts
    prods = {p["ref"]: p for p in catalogue["products"]}
    for n in needs_doc["needs"]:
        y = years_since(ents[n["enterprise_ref"]]["founded"], n["created"])
        for p in prods.values():
            if p.get("min_years") is not None and abs(y - p["min_years"]) < 60 / 365:
                errs.append(f"needs {n['ref']} x {p['ref']}: founding age {y:.2f} too close to min_years")
    return errs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=None)
    ap.add_argument("--validate", action="store_true")
    ap.add_argument("--why", metavar="NEED", help="print every product's failed rules for one need")
    args = ap.parse_args(argv)
    shared = args.shared or _find_shared()
    vocab = load_json(shared / "spec" / "vocabulary.json")
    rule = load_json(shared / "reference" / "size_rule_300.json")
    catalogue = load_json(HERE / "catalogue.json")
    needs_doc = load_json(HERE / "needs.json")
    if args.why:
        insts = {i["ref"]: i for i in catalogue["institutions"]}
        need = next(n for n in needs_doc["needs"] if n["ref"] == args.why)
        ent = next(e for e in needs_doc["enterprises"] if e["ref"] == need["enterprise_ref"])
        print(need["ref"], ent["ref"], derive_size(ent, rule), loan_kind(need, ent))
        for p in catalogue["products"]:
            print(f"  {p['ref']:7} {p['name'][:18]:20} {failures(p, need, ent, insts, vocab, rule) or 'ELIGIBLE'}")
        return 0
    elig = eligibility(catalogue, needs_doc, vocab, rule)
    if args.validate:
        gb_codes = set()
        with open(shared / "reference" / "gb4754_2017.csv", encoding="utf-8") as f:
            next(f)
            gb_codes = {line.split(",", 1)[0] for line in f if line.strip()}
        grades = load_json(HERE / "grades.json") if (HERE / "grades.json").exists() else {}
        notes = load_json(HERE / "notes.json") if (HERE / "notes.json").exists() else {}
        errs = validate(catalogue, needs_doc, grades, notes, vocab, rule, gb_codes)
        for e in errs:
            print("ERROR", e)
        print(f"{len(errs)} problem(s)")
        return 1 if errs else 0
    for ref, prods in elig.items():
        print(f"{ref}: {len(prods):2d}  {' '.join(prods)}")
    counts = [len(v) for v in elig.values()]
    print(f"needs {len(counts)}, eligible pairs {sum(counts)}, min {min(counts)}, max {max(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
