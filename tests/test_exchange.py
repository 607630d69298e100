"""matchmaker-exchange/1 import and export through the service (the CLI and the upload page
have their own test modules)."""
import json
import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.audit.models import AuditEntry
from matchmaker.clock import china_today
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.exchange.service import (
    ImportRejected,
    export_document,
    import_document,
    load_document,
    preview_document,
)
from matchmaker.institutions.models import Institution, Product, ProductVersion
from tests.factories import EnterpriseFactory, InstitutionFactory, ProductFactory
from tests.helpers import assert_audited

DATA = Path(__file__).parent / "data"
SEEDS = Path(__file__).parent.parent / "seeds"


def load(name: str = "example.json") -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def by_ref(db, model, ref):
    return db.session.scalar(select(model).where(model.ref == ref))


def rejected_lines(doc) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        import_document(doc)
    return caught.value.errors


# --- importing --------------------------------------------------------------------------

def test_import_example_creates_every_record(db):
    report = import_document(load())
    assert report.counts() == {
        "institutions": {"created": 2, "updated": 0, "unchanged": 0},
        "products": {"created": 3, "updated": 0, "unchanged": 0},
        "enterprises": {"created": 2, "updated": 0, "unchanged": 0},
        "needs": {"created": 3, "updated": 0, "unchanged": 0}}
    assert (count(db, Institution), count(db, Product), count(db, Enterprise),
            count(db, Need)) == (2, 3, 2, 3)
    product = by_ref(db, Product, "P-TECH-01")
    assert product.institution.ref == "I-BANK-01"
    assert product.status == "published" and product.version == 1
    assert product.purposes == ["tech_upgrade"]
    assert product.guarantee_modes == ["mortgage", "guarantee"]
    assert product.rate_min == Decimal("3.1") and product.min_years == Decimal(2)
    assert product.versions[0].terms["ref"] == "P-TECH-01"
    need = by_ref(db, Need, "N-01")
    assert need.enterprise.ref == "E-01" and need.status == "published"
    assert need.created == date(2026, 9, 1) and need.consent_to_share is True
    assert need.max_rate == Decimal("4.0")


def test_import_audits_each_record_and_the_import_without_personal_data(db):
    import_document(load())
    entry = assert_audited("exchange.imported")
    assert entry.details["enterprises"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert_audited("institution.created", by_ref(db, Institution, "I-BANK-01"), via="import",
                   ref="I-BANK-01")
    assert_audited("product.published", by_ref(db, Product, "P-TECH-01"), version=1)
    assert_audited("need.created", by_ref(db, Need, "N-03"), ref="N-03")
    enterprise = by_ref(db, Enterprise, "E-01")
    assert_audited("enterprise.created", enterprise)
    text = json.dumps([e.details for e in db.session.scalars(select(AuditEntry))],
                      ensure_ascii=False)
    assert enterprise.uscc not in text and enterprise.name not in text


def test_second_import_of_the_same_file_changes_nothing(db):
    import_document(load("full.json"))
    db.session.flush()
    stamps = {model: dict(db.session.execute(select(model.ref, model.updated_at)).all())
              for model in (Institution, Product, Enterprise, Need)}
    audits, versions = count(db, AuditEntry), count(db, ProductVersion)

    report = import_document(load("full.json"))
    db.session.flush()

    assert not report.changed
    assert {c.action for c in report.changes} == {"unchanged"}
    assert count(db, AuditEntry) == audits
    assert count(db, ProductVersion) == versions
    for model, before in stamps.items():
        assert dict(db.session.execute(select(model.ref, model.updated_at)).all()) == before


def test_a_changed_record_is_updated_alone_and_republished(db):
    import_document(load())
    doc = load()
    doc["products"][0]["rate_max"] = 4.35
    report = import_document(doc)
    assert [c.ref for c in report.of("products", "updated")] == ["P-TECH-01"]
    assert report.of("products", "updated")[0].fields == ["rate_max"]
    assert len(report.of("needs", "unchanged")) == 3
    product = by_ref(db, Product, "P-TECH-01")
    assert product.rate_max == Decimal("4.35") and product.version == 2
    assert [v.terms["rate_max"] for v in product.versions] == [4.2, 4.35]
    assert_audited("product.updated", product, fields=["rate_max"])
    assert by_ref(db, Product, "P-CHAIN-01").version == 1


def test_a_file_with_one_valid_and_one_invalid_record_writes_nothing(db):
    doc = load()
    doc["enterprises"][1]["uscc"] = "91500120MA60A5678A"
    doc["enterprises"][1]["ref"] = "E-07"
    for need in doc["needs"]:
        if need["enterprise_ref"] == "E-02":
            need["enterprise_ref"] = "E-07"
    audits = count(db, AuditEntry)
    assert rejected_lines(doc) == ["enterprises E-07 uscc: check character should be 5"]
    assert (count(db, Institution), count(db, Product), count(db, Enterprise),
            count(db, Need), count(db, AuditEntry)) == (0, 0, 0, 0, audits)


def _set(path, value):
    def mutate(doc):
        section, index, name = path
        if value is DELETE:
            del doc[section][index][name]
        else:
            doc[section][index][name] = value
    return mutate


DELETE = object()
CASES = {
    "unknown field": (_set(("enterprises", 0, "revenue"), 1),
                      "enterprises E-01 revenue: unknown field"),
    "required": (_set(("needs", 0, "purpose"), DELETE), "needs N-01 purpose: required"),
    "null is absent": (_set(("institutions", 0, "name"), None),
                       "institutions I-BANK-01 name: required"),
    "empty name": (_set(("institutions", 0, "name"), "  "),
                   "institutions I-BANK-01 name: must not be empty"),
    "bad code": (_set(("products", 0, "purposes"), ["tech_upgrade", "bogus"]),
                 "products P-TECH-01 purposes: unknown code 'bogus' (not in purposes)"),
    "bad kind": (_set(("institutions", 0, "kind"), "Bank"),
                 "institutions I-BANK-01 kind: unknown code 'Bank' (not in institution_kinds)"),
    "duplicate code": (_set(("needs", 2, "guarantee_modes"), ["credit", "credit"]),
                       "needs N-03 guarantee_modes: duplicate code 'credit'"),
    "empty required list": (_set(("products", 1, "purposes"), []),
                            "products P-CHAIN-01 purposes: must not be empty"),
    "number as string": (_set(("products", 0, "amount_max_wan"), "3000"),
                         "products P-TECH-01 amount_max_wan: must be a number"),
    "boolean as number": (_set(("needs", 0, "amount_wan"), True),
                          "needs N-01 amount_wan: must be a number"),
    "integer": (_set(("products", 0, "term_min_months"), 12.0),
                "products P-TECH-01 term_min_months: must be an integer"),
    "boolean": (_set(("enterprises", 1, "has_bank_loan"), "no"),
                "enterprises E-02 has_bank_loan: must be true or false"),
    "date format": (_set(("enterprises", 0, "founded"), "2016/05/18"),
                    "enterprises E-01 founded: must be a date YYYY-MM-DD"),
    "date value": (_set(("needs", 0, "created"), "2026-02-30"),
                   "needs N-01 created: not a valid date: '2026-02-30'"),
    "district": (_set(("enterprises", 0, "district"), "火星区"),
                 "enterprises E-01 district: unknown district '火星区'"),
    "institution district": (_set(("institutions", 1, "districts"), ["江津", "江津区"]),
                             "institutions I-GUAR-01 districts: duplicate district '江津区'"),
    "industry": (_set(("enterprises", 0, "industry"), "C3699"),
                 "enterprises E-01 industry: not a GB/T 4754—2017 code: 'C3699'"),
    "industry shape": (_set(("enterprises", 0, "industry"), "3670"),
                       "enterprises E-01 industry: not a GB/T 4754—2017 code: '3670'"),
    "enterprise industry too coarse": (
        _set(("enterprises", 0, "industry"), "C"),
        ("enterprises E-01 industry: a section letter alone is not an enterprise's industry: "
         "'C' (give its division, group or class, e.g. C36 or C3670)")),
    "product industry": (
        _set(("products", 0, "industries"), ["C", "C99"]),
        "products P-TECH-01 industries: not a GB/T 4754—2017 code: 'C99'"),
    "cluster": (_set(("enterprises", 0, "cluster"), "robots"),
                "enterprises E-01 cluster: unknown code 'robots' (not in clusters_33618)"),
    "uscc": (_set(("enterprises", 0, "uscc"), "91500116MA5U12340A"),
             "enterprises E-01 uscc: check character should be K"),
    "uscc length": (_set(("enterprises", 0, "uscc"), "91500116"),
                    "enterprises E-01 uscc: must be 18 characters, got 8"),
    "amount range": (_set(("products", 0, "amount_min_wan"), 5000),
                     "products P-TECH-01 amount_min_wan: must not exceed amount_max_wan (3000)"),
    "term range": (_set(("products", 0, "term_max_months"), 6),
                   "products P-TECH-01 term_min_months: must not exceed term_max_months (6)"),
    "rate range": (_set(("products", 0, "rate_min"), 4.5),
                   "products P-TECH-01 rate_min: must not exceed rate_max (4.2)"),
    "negative rate": (_set(("products", 0, "rate_min"), -1),
                      "products P-TECH-01 rate_min: must be at least 0"),
    "zero amount": (_set(("needs", 0, "amount_wan"), 0),
                    "needs N-01 amount_wan: must be greater than 0"),
    "zero term": (_set(("needs", 0, "term_months"), 0),
                  "needs N-01 term_months: must be greater than 0"),
    "too many places": (_set(("products", 0, "rate_max"), 4.2345),
                        "products P-TECH-01 rate_max: must have at most 3 decimal places"),
    "first_loan with a loan": (_set(("needs", 0, "loan_kind"), "first_loan"),
                               ("needs N-01 loan_kind: first_loan is not possible: enterprise "
                               "E-01 has a bank loan (has_bank_loan true)")),
    "renewal without a loan": (_set(("needs", 2, "loan_kind"), "renewal"),
                               ("needs N-03 loan_kind: renewal is not possible: enterprise "
                               "E-02 has no bank loan (has_bank_loan false)")),
    "dangling institution": (_set(("products", 0, "institution_ref"), "I-NOPE"),
                             ("products P-TECH-01 institution_ref: unknown institution 'I-NOPE' "
                             "(not in this file nor on the platform)")),
    "dangling enterprise": (_set(("needs", 1, "enterprise_ref"), "E-NOPE"),
                            ("needs N-02 enterprise_ref: unknown enterprise 'E-NOPE' "
                            "(not in this file nor on the platform)")),
    "dangling lender": (_set(("needs", 1, "current_lender_ref"), "I-NOPE"),
                        ("needs N-02 current_lender_ref: unknown institution 'I-NOPE' "
                        "(not in this file nor on the platform)")),
    "duplicate uscc": (_set(("enterprises", 1, "uscc"), "91500116MA5U12340K"),
                       "enterprises E-02 uscc: already used by enterprise E-01 in this file"),
    "duplicate ref": (_set(("products", 1, "ref"), "P-TECH-01"),
                      "products P-TECH-01 ref: duplicate ref in this file"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_invalid_field_is_named(db, case):
    mutate, line = CASES[case]
    doc = load()
    mutate(doc)
    assert rejected_lines(doc) == [line]
    assert count(db, Institution) == 0


@pytest.mark.parametrize("doc, line", [
    ([], "document: must be a JSON object"),
    ({"format": "matchmaker-exchange/2"}, 'format: must be "matchmaker-exchange/1"'),
    ({"format": "matchmaker-exchange/1", "lenders": []}, "lenders: unknown section"),
    ({"format": "matchmaker-exchange/1", "needs": {}}, "needs: must be a list"),
    ({"format": "matchmaker-exchange/1", "institutions": ["I-1"]},
     "institutions #1: must be an object"),
    ({"format": "matchmaker-exchange/1", "institutions": [{"name": "某银行", "kind": "bank"}]},
     "institutions #1 ref: required"),
])
def test_document_level_errors(db, doc, line):
    assert rejected_lines(doc) == [line]


def test_every_invalid_record_is_reported_not_just_the_first(db):
    doc = load()
    for mutate, _ in (CASES["uscc"], CASES["bad code"], CASES["dangling enterprise"],
                      CASES["renewal without a loan"], CASES["unknown field"]):
        mutate(doc)
    assert rejected_lines(doc) == [
        "products P-TECH-01 purposes: unknown code 'bogus' (not in purposes)",
        "enterprises E-01 uscc: check character should be K",
        "enterprises E-01 revenue: unknown field",
        ("needs N-02 enterprise_ref: unknown enterprise 'E-NOPE' "
        "(not in this file nor on the platform)"),
        ("needs N-03 loan_kind: renewal is not possible: enterprise E-02 has no bank loan "
        "(has_bank_loan false)"),
    ]


@pytest.mark.parametrize("raw, line", [
    (b"{\"format\": ", "document: not valid JSON (Expecting value, line 1 column 12)"),
    (b"\xff\xfe", "document: not UTF-8 text"),
    (b'{"format": "matchmaker-exchange/1", "format": "x"}',
     "document: duplicate key 'format' in one object"),
])
def test_unreadable_files_are_rejected(raw, line):
    with pytest.raises(ImportRejected) as caught:
        load_document(raw)
    assert caught.value.errors == [line]


def test_a_utf8_bom_is_accepted():
    assert load_document(b"\xef\xbb\xbf" + (DATA / "example.json").read_bytes())["format"]


def test_short_district_names_are_stored_in_full(db):
    import_document(load("full.json"))
    assert by_ref(db, Enterprise, "E-SHIZHU").district == "石柱土家族自治县"
    assert by_ref(db, Institution, "I-BRIDGE").districts == ["永川区", "江津区"]
    assert by_ref(db, Product, "P-RENEW").districts == ["永川区", "璧山区"]


def test_uscc_must_be_unique_against_the_platform(db):
    EnterpriseFactory(ref="E-OTHER", uscc="91500116MA5U12340K")
    assert rejected_lines(load()) == ["enterprises E-01 uscc: already used by enterprise E-OTHER"]


def test_a_file_may_move_a_uscc_away_from_a_stored_enterprise(db):
    EnterpriseFactory(ref="E-02", uscc="91500116MA5U12340K")  # E-01's code, held by E-02
    report = import_document(load())  # the file gives E-02 another code
    assert [c.ref for c in report.of("enterprises", "updated")] == ["E-02"]
    assert by_ref(db, Enterprise, "E-01").uscc == "91500116MA5U12340K"


def test_references_may_point_to_records_already_on_the_platform(db):
    import_document(load())
    doc = {"format": "matchmaker-exchange/1",
           "products": [dict(load()["products"][0], ref="P-NEW")],
           "needs": [dict(load()["needs"][2], ref="N-NEW")]}
    InstitutionFactory(ref="I-DB")
    doc["products"][0]["institution_ref"] = "I-DB"
    report = import_document(doc)
    assert report.counts()["products"]["created"] == 1
    assert by_ref(db, Product, "P-NEW").institution.ref == "I-DB"
    assert by_ref(db, Need, "N-NEW").loan_kind == "first_loan"  # E-02 stored, no bank loan


def test_loan_kind_defaults_follow_the_enterprise(db):
    import_document(load())
    assert by_ref(db, Need, "N-02").loan_kind == "new"  # E-01 has a bank loan
    assert by_ref(db, Need, "N-03").loan_kind == "first_loan"


def test_loan_kind_rule_uses_the_enterprise_as_the_file_leaves_it(db):
    EnterpriseFactory(ref="E-01", uscc="91500116MA5U12340K", has_bank_loan=False)
    doc = load()
    doc["needs"][0]["loan_kind"] = "renewal"  # E-01 gets a bank loan in this very file
    import_document(doc)
    assert by_ref(db, Need, "N-01").loan_kind == "renewal"


def test_size_is_declared_or_derived(db):
    import_document(load("full.json"))
    shizhu = by_ref(db, Enterprise, "E-SHIZHU")
    assert shizhu.declared_size == "small"
    yong = by_ref(db, Enterprise, "E-YONG")
    assert yong.declared_size is None and yong.size == "micro"
    # stored for the monitoring's size slice, though the import writes rows in bulk
    assert (shizhu.size_class, yong.size_class) == ("small", "micro")
    assert all(e.size_class == e.size for e in db.session.query(Enterprise))


def test_need_created_defaults_to_today_and_stays_on_reimport(db):
    import_document(load("full.json"))
    assert by_ref(db, Need, "N-FIRST").created == china_today()
    assert not import_document(load("full.json")).changed


def test_need_status_is_kept_on_update(db):
    import_document(load())
    by_ref(db, Need, "N-01").status = "in_progress"
    doc = load()
    doc["needs"][0]["amount_wan"] = 900
    import_document(doc)
    need = by_ref(db, Need, "N-01")
    assert need.status == "in_progress" and need.amount_wan == 900


def test_inactive_products_are_paused_and_keep_their_terms(db):
    doc = load()
    doc["products"][0]["active"] = False
    import_document(doc)
    product = by_ref(db, Product, "P-TECH-01")
    assert (product.status, product.version, product.versions) == ("paused", 0, [])
    assert export_document(["products"])["products"][2]["active"] is False

    doc["products"][0]["active"] = True
    import_document(doc)
    assert (product.status, product.version) == ("published", 1)

    doc["products"][0]["active"] = False
    report = import_document(doc)
    assert report.of("products", "updated")[0].fields == ["active"]
    assert (product.status, product.version) == ("paused", 1)
    assert_audited("product.paused", product)
    assert not import_document(doc).changed


def test_inactive_keeps_a_draft_a_draft(db):
    InstitutionFactory(ref="I-BANK-01", name="示例农村商业银行")
    product = ProductFactory(ref="P-TECH-01", status="draft", version=0)
    doc = load()
    doc["products"][0]["active"] = False
    import_document(doc)
    assert product.status == "draft"


def test_a_retired_product_cannot_be_reactivated(db):
    ProductFactory(ref="P-TECH-01", status="retired")
    assert rejected_lines(load()) == [
        ("products P-TECH-01 active: the product is retired on the platform and cannot be "
        "reactivated; send it under a new ref")]


def test_changed_rates_replace_an_lpr_spread(db):
    import_document(load())
    product = by_ref(db, Product, "P-TECH-01")
    product.rate_basis, product.spread_min_bp, product.spread_max_bp = "lpr_1y", 10, 120
    doc = load()
    doc["products"][0]["rate_min"] = 3.0
    import_document(doc)
    assert (product.rate_basis, product.spread_min_bp) == ("fixed", None)


# --- preview ------------------------------------------------------------------------------

def test_preview_lists_the_changes_and_writes_nothing(db):
    import_document(load())
    audits = count(db, AuditEntry)
    doc = load()
    doc["needs"][0]["amount_wan"] = 900
    doc["needs"].append(dict(doc["needs"][2], ref="N-04"))
    report = preview_document(doc)
    assert [c.ref for c in report.of("needs", "created")] == ["N-04"]
    assert [(c.ref, c.fields) for c in report.of("needs", "updated")] == [("N-01", ["amount_wan"])]
    assert len(report.of("enterprises", "unchanged")) == 2
    assert report.errors == []
    assert count(db, Need) == 3 and count(db, AuditEntry) == audits
    assert by_ref(db, Need, "N-01").amount_wan == 800


def test_preview_reports_the_same_errors(db):
    doc = load()
    CASES["uscc"][0](doc)
    report = preview_document(doc)
    assert report.errors == ["enterprises E-01 uscc: check character should be K"]
    assert count(db, Enterprise) == 0


# --- export ---------------------------------------------------------------------------------

def test_export_then_import_into_an_empty_platform_gives_the_same_document(db):
    import_document(load("full.json"))
    import_document(load())
    first = export_document()
    db.session.rollback()  # back to this test's empty database
    assert count(db, Product) == 0
    import_document(json.loads(json.dumps(first)))
    assert export_document() == first


def test_export_writes_numbers_exactly_and_omits_defaults(db):
    import_document(load("full.json"))
    doc = export_document()
    assert list(doc) == ["format", "institutions", "products", "enterprises", "needs"]
    assert [p["ref"] for p in doc["products"]] == ["P-LEASE", "P-PAUSED", "P-RENEW"]
    renew = doc["products"][2]
    assert (renew["rate_min"], renew["rate_max"], renew["amount_min_wan"]) == (3.45, 4.355, 12.5)
    assert renew["min_revenue_wan"] == 500.55 and renew["min_years"] == 1.5
    assert '"rate_min": 3.45,' in json.dumps(renew)
    assert isinstance(renew["amount_max_wan"], int)
    assert "active" not in renew and doc["products"][1]["active"] is False
    assert doc["products"][0]["rate_min"] == 0
    assert doc["institutions"][0] == {"ref": "I-BRIDGE", "name": "示例应急转贷基金",
                                      "kind": "bridge_fund", "districts": ["永川区", "江津区"]}
    assert doc["enterprises"][1] == {
        "ref": "E-YONG", "name": "永川示例电子有限公司", "uscc": "91500118MA5YQ1230C",
        "district": "永川区", "industry": "C3976", "employees": 0, "revenue_wan": 0,
        "founded": "2025-01-02"}
    assert doc["needs"][0]["loan_kind"] == "first_loan"  # always written: explicit
    assert doc["needs"][0]["created"] == china_today().isoformat()
    assert doc["needs"][1]["amount_wan"] == 999.99


def test_export_of_chosen_sections(db):
    import_document(load())
    doc = export_document(("institutions", "needs"))
    assert list(doc) == ["format", "institutions", "needs"]


def test_export_includes_platform_registered_records(db):
    ProductFactory(ref="P-0001", rate_min=Decimal("3.200"))
    product = export_document(["products"])["products"][0]
    assert product["rate_min"] == 3.2 and product["purposes"] == ["working_capital"]


@pytest.mark.skipif(not (SEEDS / "demo.json").exists(), reason="seeds/demo.json not written yet")
def test_demo_seed_imports_and_reimports_without_change(db):
    demo = load_document((SEEDS / "demo.json").read_bytes())
    first = import_document(demo)
    assert first.counts()["institutions"]["created"] >= 10
    assert not import_document(demo).changed


# --- logs ---------------------------------------------------------------------------------

def test_import_logs_no_uscc_or_company_name(db, caplog):
    caplog.set_level(logging.DEBUG)
    doc = load()
    import_document(doc)
    CASES["uscc"][0](doc)
    with pytest.raises(ImportRejected):
        import_document(doc)
    assert "exchange import" in caplog.text
    for enterprise in load()["enterprises"]:
        assert enterprise["uscc"] not in caplog.text
        assert enterprise["name"] not in caplog.text
