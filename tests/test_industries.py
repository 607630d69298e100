"""Every GB/T 4754—2017 code (issue 14): the table, the picker's search and its endpoint, the
exchange import of non-manufacturing firms, the registration and profile forms, the
organizers' spreadsheet, and products naming any code or prefix."""
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from matchmaker import industries
from matchmaker.enterprises.models import Enterprise
from matchmaker.exchange.service import ImportRejected, export_document, import_document
from matchmaker.institutions.models import Product
from tests.factories import EnterpriseFactory, valid_uscc
from tests.test_access_matrix import ROLES

# --- the table -------------------------------------------------------------------------------


def test_the_whole_table_is_loaded():
    levels = [e.level for e in industries.table().values()]
    assert len(levels) == 1971
    assert [levels.count(n) for n in (1, 2, 3, 4)] == [20, 97, 473, 1381]
    assert industries.name("I6513") == "应用软件开发"
    assert industries.path_text("C3670") == "制造业 › 汽车制造业 › 汽车零部件及配件制造"


@pytest.mark.parametrize("code,detailed,ok", [
    ("C3670", True, True), ("I6513", True, True), ("E47", True, True), ("K7010", True, True),
    ("A0111", True, True), ("C", False, True), ("C", True, False), ("C3699", False, False),
    ("3670", False, False), ("c3670", False, False), ("", False, False), (None, False, False),
])
def test_valid_codes_are_the_tables(code, detailed, ok):
    assert industries.valid(code, detailed) is ok


@pytest.mark.parametrize("typed,code", [
    ("C3670", "C3670"), ("c3670", "C3670"), ("3670", "C3670"), (" 6513 ", "I6513"),
    ("C3670 汽车零部件及配件制造", "C3670"), ("36", "C36"), ("C", None), ("3699", None),
    ("汽车零部件", None), ("", None),
])
def test_normalize_reads_what_people_type(typed, code):
    assert industries.normalize(typed) == code


@pytest.mark.parametrize("query", ["汽车零部件", "qclbj", "3670", "C3670", "qichelingbujian",
                                   "汽车另部件"])
def test_search_finds_the_class_first(query):
    assert industries.search(query, min_level=2)[0].code == "C3670"


def test_search_by_code_lists_the_children_in_order():
    codes = [e.code for e in industries.search("367", limit=5)]
    assert codes == ["C367", "C3670"]
    assert [e.code for e in industries.search("I65", limit=3)] == ["I65", "I651", "I6511"]


def test_search_finds_non_manufacturing_trades():
    assert "I6513" in [e.code for e in industries.search("应用软件")]
    assert "E4790" in [e.code for e in industries.search("其他房屋建筑")]
    assert industries.search("xyzxyz") == [] and industries.search("  ") == []


# --- the endpoint ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_industry_search_is_open_to_every_role(client_as, role):
    response = client_as(role).get("/api/industries?q=qclbj")
    assert response.status_code == 200
    first = response.get_json()["results"][0]
    assert first == {"code": "C3670", "name": "汽车零部件及配件制造", "level": 4,
                     "level_label": "小类",
                     "path": "制造业 › 汽车制造业 › 汽车零部件及配件制造"}


def test_industry_search_answers_an_empty_query_and_never_a_section(client_as):
    client = client_as("anonymous")
    assert client.get("/api/industries").get_json()["results"] == []
    codes = [r["code"] for r in client.get("/api/industries?q=C").get_json()["results"]]
    assert codes and "C" not in codes     # an enterprise picks a division or finer
    long = client.get("/api/industries?q=" + "制" * 500).get_json()
    assert len(long["query"]) == 32


# --- the exchange import ---------------------------------------------------------------------


def firms_doc(**builder_overrides) -> dict:
    builder = {"ref": "E-BUILD", "name": "重庆示例建设工程有限公司", "uscc": valid_uscc(880001),
               "district": "渝北区", "industry": "E4790", "employees": 150, "revenue_wan": 9000,
               "assets_wan": 4999.5, "founded": "2012-04-01", "has_bank_loan": True}
    builder.update(builder_overrides)
    return {"format": "matchmaker-exchange/1", "enterprises": [
        {"ref": "E-SOFT", "name": "重庆示例软件科技有限公司", "uscc": valid_uscc(880002),
         "district": "重庆高新区", "industry": "I6513", "cluster": "software_information_services",
         "employees": 99, "revenue_wan": 1000, "founded": "2019-06-30"},
        builder]}


def test_import_accepts_a_software_firm_and_a_construction_firm(db):
    import_document(firms_doc())
    soft = db.session.scalar(select(Enterprise).where(Enterprise.ref == "E-SOFT"))
    build = db.session.scalar(select(Enterprise).where(Enterprise.ref == "E-BUILD"))
    assert soft.industry == "I6513" and soft.size == "small"       # 软件: 100 people for medium
    assert build.industry == "E4790" and build.assets_wan == Decimal("4999.5")
    assert build.size == "small"                                    # 建筑业: assets 5000 for medium


def test_construction_without_assets_needs_a_declared_size(db):
    doc = firms_doc()
    del doc["enterprises"][1]["assets_wan"]
    with pytest.raises(ImportRejected) as caught:
        import_document(doc)
    assert caught.value.errors == [(
        "enterprises E-BUILD size: required: the 300号 size rule of 建筑业 (construction, "
        "industry E4790) reads assets_wan; give assets_wan or size")]
    doc["enterprises"][1]["size"] = "medium"
    import_document(doc)
    assert db.session.scalar(select(Enterprise.declared_size)
                             .where(Enterprise.ref == "E-BUILD")) == "medium"


def test_a_section_letter_or_an_unknown_class_is_refused(db):
    doc = firms_doc(industry="E")
    doc["enterprises"][0]["industry"] = "I6599x"
    with pytest.raises(ImportRejected) as caught:
        import_document(doc)
    assert caught.value.errors[0] == "enterprises E-SOFT industry: not a GB/T 4754—2017 code: 'I6599x'"
    assert caught.value.errors[1].startswith(
        "enterprises E-BUILD industry: a section letter alone is not an enterprise's industry")


def test_negative_assets_are_refused(db):
    with pytest.raises(ImportRejected) as caught:
        import_document(firms_doc(assets_wan=-1))
    assert caught.value.errors == ["enterprises E-BUILD assets_wan: must be at least 0"]


def test_round_trip_with_a_software_firm_and_a_construction_firm(db):
    doc = firms_doc()
    doc["institutions"] = [{"ref": "I-B", "name": "示例银行", "kind": "bank"}]
    doc["products"] = [{
        "ref": "P-IT", "institution_ref": "I-B", "name": "软件企业信用贷", "purposes": ["rnd"],
        "guarantee_modes": ["credit"], "amount_min_wan": 10, "amount_max_wan": 500,
        "term_min_months": 6, "term_max_months": 36, "rate_min": 3.5, "rate_max": 4.5,
        "industries": ["I65", "E", "C3670"]}]
    doc["needs"] = [{"ref": "N-IT", "enterprise_ref": "E-SOFT", "purpose": "rnd", "amount_wan": 100,
                     "term_months": 12, "guarantee_modes": ["credit"], "created": "2026-11-01"}]
    import_document(doc)
    first = export_document()
    assert first["enterprises"][0]["assets_wan"] == 4999.5
    assert first["products"][0]["industries"] == ["I65", "E", "C3670"]
    db.session.rollback()  # back to this test's empty database
    assert db.session.scalar(select(Product.id)) is None
    import_document(json.loads(json.dumps(first)))
    assert export_document() == first


# --- the forms -------------------------------------------------------------------------------


def profile_data(enterprise, **overrides):
    data = {"name": enterprise.name, "uscc": enterprise.uscc, "district": enterprise.district,
            "industry": "I6513", "employees": "120", "revenue_wan": "8600",
            "founded": "2016-05-18", "declared_size": ""}
    data.update(overrides)
    return data


def test_profile_takes_a_software_class_typed_as_digits(db, client_as):
    enterprise = EnterpriseFactory()
    client = client_as("enterprise", enterprise=enterprise)
    page = client.get("/enterprise/edit").get_data(as_text=True)
    assert 'data-industry-search="/api/industries"' in page and "industry-picker.js" in page
    response = client.post("/enterprise/edit", data=profile_data(enterprise, industry="6513"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert enterprise.industry == "I6513" and enterprise.size == "medium"
    profile = client.get("/enterprise").get_data(as_text=True)
    assert "应用软件开发（I6513）" in profile and "软件和信息技术服务业" in profile


def test_profile_of_a_builder_shows_assets_and_the_construction_rule(db, client_as):
    enterprise = EnterpriseFactory()
    client = client_as("enterprise", enterprise=enterprise)
    response = client.post("/enterprise/edit", data=profile_data(
        enterprise, industry="E4790", assets_wan="80000", revenue_wan="80000"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert enterprise.assets_wan == Decimal(80000) and enterprise.size == "large"
    html = client.get("/enterprise").get_data(as_text=True)
    assert "大型企业" in html and "建筑业标准" in html and "资产总额 8" in html
    assert "营业收入80000万元及以上且资产总额80000万元及以上为大型" in html


def test_registration_takes_any_trade(db, client_as):
    from matchmaker.accounts.models import User

    response = client_as("anonymous").post("/register", data={
        "company_name": "重庆示例软件有限公司", "uscc": valid_uscc(880010), "district": "渝北区",
        "industry": "i6513", "employees": "12", "revenue_wan": "60", "founded": "2020-01-01",
        "name": "张会计", "email": "soft@example.com", "password": "correct-horse-battery",
        "confirm": "correct-horse-battery", "mobile": "13800001234"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    user = db.session.scalar(select(User).where(User.email == "soft@example.com"))
    assert user.enterprise.industry == "I6513" and user.enterprise.size == "small"


def test_registration_of_a_builder_asks_for_assets(db, client_as):
    response = client_as("anonymous").post("/register", data={
        "company_name": "重庆示例建筑有限公司", "uscc": valid_uscc(880011), "district": "渝北区",
        "industry": "E4790", "employees": "12", "revenue_wan": "600", "founded": "2020-01-01",
        "name": "李会计", "email": "build@example.com", "password": "correct-horse-battery",
        "confirm": "correct-horse-battery", "mobile": "13800001234"})
    assert response.status_code == 400
    assert "建筑业按资产总额划分企业规模，请填写资产总额（万元）" in response.get_data(as_text=True)
