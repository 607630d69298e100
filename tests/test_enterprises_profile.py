"""The company profile: the size rule at every threshold, the size shown with its figures,
editing every exchange field (bad USCC beside the field), tags with certificate years and an
organizer's verification, the completeness indicator, the invitation link."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from matchmaker.audit.models import AuditEntry
from matchmaker.enterprises.models import Enterprise, EnterpriseTag, derive_size
from matchmaker.enterprises.service import profile_completeness, profile_gaps
from tests.factories import EnterpriseFactory, NeedFactory, valid_uscc
from tests.helpers import assert_audited

# 工信部联企业〔2011〕300号, 工业: both sides of each boundary, on each of the two figures
SIZE_CASES = [
    (1000, 40000, "large"), (999, 40000, "medium"), (1000, Decimal("39999.99"), "medium"),
    (300, 2000, "medium"), (299, 2000, "small"), (300, Decimal("1999.99"), "small"),
    (20, 300, "small"), (19, 300, "micro"), (20, Decimal("299.99"), "micro"),
    (5000, 100, "micro"),  # many people, little revenue: both thresholds must hold
    (10, 100000, "micro"), (0, 0, "micro"), (100000, 1000000, "large"),
]


@pytest.mark.parametrize("employees,revenue,size", SIZE_CASES)
def test_size_rule_at_every_threshold(employees, revenue, size):
    assert derive_size("C3670", employees, Decimal(revenue)) == size


@pytest.mark.parametrize("employees,revenue,size", SIZE_CASES[:9])
def test_size_shown_with_its_figures(db, client_as, employees, revenue, size):
    enterprise = EnterpriseFactory(employees=employees, revenue_wan=Decimal(revenue))
    html = client_as("enterprise", enterprise=enterprise).get("/enterprise").get_data(as_text=True)
    label = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}[size]
    assert f"{label}企业" in html
    assert f"从业人员 {employees} 人" in html and "工信部联企业〔2011〕300号" in html


def test_declared_size_overrides_and_says_so(db, client_as):
    enterprise = EnterpriseFactory(employees=120, revenue_wan=Decimal(8600),
                                   declared_size="medium")
    assert enterprise.size == "medium"
    html = client_as("enterprise", enterprise=enterprise).get("/enterprise").get_data(as_text=True)
    assert "中型企业" in html and "企业申报" in html and "按标准测算为小型，以企业申报为准" in html


def profile_data(enterprise, **overrides):
    data = {"name": enterprise.name, "uscc": enterprise.uscc, "district": enterprise.district,
            "industry": "C3484", "cluster": "intelligent_equipment", "employees": "120",
            "revenue_wan": "8600", "founded": "2016-05-18", "tax_credit_grade": "A",
            "has_bank_loan": "y", "core_enterprise": "", "declared_size": "",
            "contact_name": "王会计", "contact_phone": "023-49876543", "address": "永川区凤凰湖工业园"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_profile_saves_every_field_and_records_change(db, client_as):
    enterprise = EnterpriseFactory(employees=120, has_bank_loan=False)
    client = client_as("enterprise", enterprise=enterprise)
    assert client.get("/enterprise/edit").status_code == 200
    response = client.post("/enterprise/edit", data=profile_data(
        enterprise, employees="320", revenue_wan="2500", industry="c3670",
        tag_specialized_sme="y", tag_specialized_sme_year="2023", tag_high_tech="y",
        core_enterprise="长安汽车"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert enterprise.employees == 320 and enterprise.size == "medium"
    assert enterprise.industry == "C3670" and enterprise.has_bank_loan is True
    assert enterprise.tax_credit_grade == "A" and enterprise.core_enterprise == "长安汽车"
    assert enterprise.tags == ["specialized_sme", "high_tech"]
    row = next(r for r in enterprise.tag_rows if r.value == "specialized_sme")
    assert row.certificate_year == 2023
    entry = assert_audited("enterprise.updated", enterprise)
    assert entry.details["changes"]["employees"] == ["120人", "320人"]
    assert entry.details["changes"]["revenue_wan"] == "已修改"  # credit data: not copied
    assert "2500" not in str(entry.details) and "023-49876543" not in str(entry.details)


@pytest.mark.parametrize("overrides,field,message", [
    ({"uscc": "91500000MA0000000X"}, "uscc", "校验位错误"),
    ({"uscc": "123"}, "uscc", "应为18位"),
    ({"industry": "C3699"}, "industry", "请从列表中选择所属行业"),
    ({"industry": "汽车零部件"}, "industry", "请从列表中选择所属行业"),
    ({"industry": "E4790", "assets_wan": ""}, "assets_wan", "建筑业按资产总额划分企业规模"),
    ({"assets_wan": "-5"}, "assets_wan", "资产总额不能为负数"),
    ({"employees": "-1"}, "employees", "人数需在0–1000000之间"),
    ({"founded": "2999-01-01"}, "founded", "成立日期不能晚于今天"),
    ({"district": "成都市"}, "district", "请选择所在区县"),
    ({"contact_phone": "abc"}, "contact_phone", "请填写有效的电话号码"),
    ({"tag_gazelle": "y", "tag_gazelle_year": "1800"}, None, "认定年份应在1990"),
])
def test_bad_profile_input_is_refused_beside_field(db, client_as, overrides, field, message):
    enterprise = EnterpriseFactory()
    client = client_as("enterprise", enterprise=enterprise)
    before = enterprise.uscc, enterprise.employees
    response = client.post("/enterprise/edit", data=profile_data(enterprise, **overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    if field:
        assert f'data-field="{field}">{message}' in html or \
            f'data-field="{field}">统一社会信用代码' in html
    assert (enterprise.uscc, enterprise.employees) == before


def test_uscc_of_another_enterprise_is_refused(db, client_as):
    other = EnterpriseFactory()
    enterprise = EnterpriseFactory()
    client = client_as("enterprise", enterprise=enterprise)
    db.session.commit()  # the view rolls back on the refusal
    response = client.post("/enterprise/edit", data=profile_data(enterprise, uscc=other.uscc))
    assert response.status_code == 400
    assert "已被平台上另一家企业使用" in response.get_data(as_text=True)


def test_changed_certificate_year_drops_verification(db, client_as):
    enterprise = EnterpriseFactory()
    enterprise.tags = ["high_tech"]
    db.session.flush()
    organizer = client_as("organizer")
    organizer.post(f"/enterprises/{enterprise.id}/tags/high_tech/verify", data={"verified": "1"})
    row = enterprise.tag_rows[0]
    assert row.verified_at is not None and row.verified_by_id is not None
    assert_audited("enterprise.tag_verified", enterprise, tag="high_tech")
    client = client_as("enterprise", enterprise=enterprise)
    client.post("/enterprise/edit", data=profile_data(enterprise, tag_high_tech="y",
                                                       tag_high_tech_year="2024"))
    assert row.certificate_year == 2024 and row.verified_at is None


def test_organizer_verifies_and_unverifies_tag(db, client_as):
    enterprise = EnterpriseFactory()
    enterprise.tags = ["little_giant"]
    db.session.flush()
    organizer = client_as("organizer")
    html = organizer.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    assert "核验通过" in html and "待核验" in html
    organizer.post(f"/enterprises/{enterprise.id}/tags/little_giant/verify", data={"verified": "1"})
    assert "已核验" in organizer.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)
    organizer.post(f"/enterprises/{enterprise.id}/tags/little_giant/verify", data={"verified": "0"})
    assert enterprise.tag_rows[0].verified_at is None
    assert_audited("enterprise.tag_unverified", enterprise)


def test_verifying_an_undeclared_tag_is_refused(db, client_as):
    enterprise = EnterpriseFactory()
    organizer = client_as("organizer")
    db.session.commit()
    response = organizer.post(f"/enterprises/{enterprise.id}/tags/unicorn/verify",
                              data={"verified": "1"})
    assert response.status_code == 302
    assert db.session.scalar(select(EnterpriseTag).where(
        EnterpriseTag.enterprise_id == enterprise.id)) is None


def test_completeness_lists_what_is_missing(db, client_as):
    enterprise = EnterpriseFactory(industry="C34", cluster=None, tax_credit_grade=None)
    enterprise.tags = ["gazelle"]
    db.session.flush()
    gaps = profile_gaps(enterprise)
    assert "纳税信用等级" in gaps and "联系电话" in gaps and "所属产业集群" in gaps
    assert any("C3670" in g for g in gaps) and any("瞪羚企业" in g for g in gaps)
    html = client_as("enterprise", enterprise=enterprise).get("/enterprise").get_data(as_text=True)
    assert f"{profile_completeness(enterprise)}%" in html and "纳税信用等级" in html
    full = EnterpriseFactory(industry="C3484", tax_credit_grade="B", contact_name="李",
                             contact_phone="13800000000", address="璧山区")
    assert profile_gaps(full) == [] and profile_completeness(full) == 100


def test_enterprise_admin_sees_invite_link_colleague_does_not(db, client_as):
    enterprise = EnterpriseFactory()
    admin = client_as("enterprise", enterprise=enterprise, is_enterprise_admin=True)
    colleague = client_as("enterprise", enterprise=enterprise, is_enterprise_admin=False)
    assert "/invitations/new" in admin.get("/enterprise").get_data(as_text=True)
    assert "/invitations/new" not in colleague.get("/enterprise").get_data(as_text=True)


def test_district_organizer_sees_only_district(db, client_as):
    here = EnterpriseFactory(district="永川区")
    there = EnterpriseFactory(district="璧山区")
    organizer = client_as("organizer", district="永川区")
    assert organizer.get(f"/enterprises/{here.id}").status_code == 200
    assert organizer.get(f"/enterprises/{there.id}").status_code == 404


def test_registration_still_works_and_leads_to_profile(db, client):
    response = client.post("/register", data={
        "company_name": "重庆新注册精工有限公司", "uscc": valid_uscc(990001), "district": "永川区",
        "industry": "C34", "employees": "25", "revenue_wan": "400", "founded": "2019-01-01",
        "name": "张三", "email": "zhang@example.com", "password": "long-enough-pw",
        "confirm": "long-enough-pw", "mobile": "13800001234"})
    assert response.status_code == 302
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.name == "重庆新注册精工有限公司"))
    assert enterprise.size == "small"
    html = client.get("/enterprise").get_data(as_text=True)
    assert "重庆新注册精工有限公司" in html and "资料完整度" in html
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "enterprise.created"))
    assert enterprise.founded == date(2019, 1, 1)


def test_enterprise_home_shows_completeness_and_needs(db, client_as):
    enterprise = EnterpriseFactory(contact_phone=None)
    need = NeedFactory(enterprise=enterprise)
    html = client_as("enterprise", enterprise=enterprise).get("/home").get_data(as_text=True)
    assert "企业信息完整度" in html and "联系电话" in html
    assert f'href="/needs/{need.id}"' in html and "/needs/new" in html
