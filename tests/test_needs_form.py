"""The needs form: every bad input gets its Chinese message beside the field, nothing is written;
a good one creates a need with a platform ref and an audit entry."""
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from matchmaker.clock import china_today
from matchmaker.enterprises.models import Need
from matchmaker.enterprises.service import next_need_ref
from matchmaker.institutions.models import CoreEnterprise, CoreEnterpriseAlias
from tests.factories import EnterpriseFactory, InstitutionFactory, NeedFactory
from tests.helpers import assert_audited


def need_data(**overrides):
    data = {"loan_kind": "new", "purpose": "working_capital", "amount_wan": "300",
            "term_months": "12", "guarantee_modes": ["credit"], "max_rate": "",
            "current_lender": "", "renewal_due": "", "core_enterprise": "", "description": "",
            "action": "publish", "contact_name": "王会计", "contact_phone": "13800001234"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def need_count(db):
    return db.session.scalar(select(func.count(Need.id)))


def feedback(html: str, field: str) -> str:
    """The text of the invalid-feedback element beside a field."""
    match = re.search(rf'class="invalid-feedback[^"]*" data-field="{field}">([^<]*)<', html)
    return match.group(1) if match else ""


@pytest.fixture
def enterprise_client(client_as):
    enterprise = EnterpriseFactory(has_bank_loan=True)
    return client_as("enterprise", enterprise=enterprise), enterprise


def test_form_renders_every_choice_with_its_explanation(enterprise_client):
    client, _ = enterprise_client
    html = client.get("/needs/new").get_data(as_text=True)
    assert "首贷" in html and "续贷" in html and "新增贷款" in html
    assert "日常经营周转" in html and "技改贷款贴息" in html  # purpose explanations
    assert 'value="new" checked' in html or 'checked value="new"' in html or \
        re.search(r'<input[^>]*checked[^>]*value="new"', html)  # default for a company with a loan
    assert 'max="360"' in html and 'min="0.01"' in html  # HTML5 constraints for live checks
    assert "need-form.js" in html


def test_good_need_is_published_with_platform_ref(db, enterprise_client):
    client, enterprise = enterprise_client
    response = client.post("/needs/new", data=need_data(guarantee_modes=["credit", "mortgage"],
                                                         max_rate="4.5", consent_to_share="y"))
    assert response.status_code == 302
    need = db.session.scalar(select(Need).where(Need.enterprise_id == enterprise.id))
    assert re.fullmatch(rf"N-{china_today():%Y%m%d}-\d{{4}}", need.ref)
    assert need.status == "published" and need.consent_to_share
    assert need.amount_wan == Decimal(300) and need.guarantee_modes == ["credit", "mortgage"]
    assert need.max_rate == Decimal("4.5")
    entry = assert_audited("need.created", need)
    assert "流动资金" in entry.details["summary"] and "300万元" in entry.details["summary"]
    assert_audited("need.status_changed", need, to="published")
    assert response.headers["Location"].endswith(f"/needs/{need.id}")


def test_draft_is_not_published(db, enterprise_client):
    client, enterprise = enterprise_client
    client.post("/needs/new", data=need_data(action="draft"))
    need = db.session.scalar(select(Need).where(Need.enterprise_id == enterprise.id))
    assert need.status == "draft"


def test_need_refs_count_up_within_a_day(db):
    day = date(2026, 3, 4)
    assert next_need_ref(day) == "N-20260304-0001"
    NeedFactory(ref="N-20260304-0001")
    NeedFactory(ref="N-20260304-0009")
    assert next_need_ref(day) == "N-20260304-0010"
    NeedFactory(ref="N-20260304-10000")  # past four digits the longer ref still sorts last
    assert next_need_ref(day) == "N-20260304-10001"


BAD_INPUTS = [
    ({"amount_wan": "0"}, "amount_wan", "融资金额必须大于0"),
    ({"amount_wan": "-5"}, "amount_wan", "融资金额必须大于0"),
    ({"amount_wan": ""}, "amount_wan", "请填写融资金额"),
    ({"amount_wan": "2000000"}, "amount_wan", "金额过大"),
    ({"term_months": "361"}, "term_months", "期限不能超过360个月（30年）"),
    ({"term_months": "0"}, "term_months", "期限至少1个月"),
    ({"term_months": ""}, "term_months", "请填写融资期限"),
    ({"guarantee_modes": []}, "guarantee_modes", "请至少选择一种可提供的担保方式"),
    ({"max_rate": "0"}, "max_rate", "最高年利率应大于0且不超过24%"),
    ({"max_rate": "30"}, "max_rate", "最高年利率应大于0且不超过24%"),
    ({"purpose": None}, "purpose", "请选择融资用途"),
    ({"purpose": "gambling"}, "purpose", "请选择融资用途"),
    ({"loan_kind": "first_loan"}, "loan_kind", "不能选择“首贷”"),
    ({"loan_kind": "renewal"}, "current_lender", "续贷请选择现贷款机构"),
    ({"loan_kind": "renewal"}, "renewal_due", "续贷请填写现贷款到期日"),
    ({"purpose": "supply_chain"}, "core_enterprise", "供应链融资请填写核心企业"),
    ({"purpose": "tech_upgrade", "description": "买设备"}, "description", "请简要说明项目"),
    ({"purpose": "project"}, "description", "请简要说明项目"),
]


@pytest.mark.parametrize("overrides,field,message", BAD_INPUTS,
                         ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(BAD_INPUTS)])
def test_bad_input_gets_message_beside_field(db, enterprise_client, overrides, field, message):
    client, _ = enterprise_client
    before = need_count(db)
    response = client.post("/needs/new", data=need_data(**overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in feedback(html, field), feedback(html, field)
    assert need_count(db) == before


def test_renewal_due_in_the_past_is_refused(db, enterprise_client):
    client, _ = enterprise_client
    lender = InstitutionFactory()
    response = client.post("/needs/new", data=need_data(
        loan_kind="renewal", current_lender=str(lender.id),
        renewal_due=(china_today() - timedelta(days=1)).isoformat()))
    assert response.status_code == 400
    assert "现贷款到期日已过" in feedback(response.get_data(as_text=True), "renewal_due")


def test_renewal_for_company_without_bank_loan_is_refused(db, client_as):
    client = client_as("enterprise", enterprise=EnterpriseFactory(has_bank_loan=False))
    lender = InstitutionFactory()
    response = client.post("/needs/new", data=need_data(
        loan_kind="renewal", current_lender=str(lender.id),
        renewal_due=(china_today() + timedelta(days=30)).isoformat()))
    assert response.status_code == 400
    assert "续贷须有正在使用的银行贷款" in feedback(response.get_data(as_text=True), "loan_kind")
    assert need_count(db) == 0


def test_first_loan_default_for_company_without_loan(db, client_as):
    enterprise = EnterpriseFactory(has_bank_loan=False)
    client = client_as("enterprise", enterprise=enterprise)
    html = client.get("/needs/new").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="first_loan"', html)
    assert client.post("/needs/new", data=need_data(loan_kind="first_loan")).status_code == 302
    assert db.session.scalar(select(Need.loan_kind)) == "first_loan"


def test_good_renewal_keeps_lender_and_due_date(db, enterprise_client):
    client, _ = enterprise_client
    lender = InstitutionFactory(name="重庆农村商业银行")
    due = china_today() + timedelta(days=45)
    response = client.post("/needs/new", data=need_data(
        loan_kind="renewal", current_lender=str(lender.id), renewal_due=due.isoformat()))
    assert response.status_code == 302
    need = db.session.scalar(select(Need))
    assert need.current_lender_id == lender.id and need.renewal_due == due
    assert "重庆农村商业银行" in assert_audited("need.created", need).details["summary"]


def test_fields_that_do_not_apply_are_dropped(db, enterprise_client):
    client, enterprise = enterprise_client
    lender = InstitutionFactory()
    client.post("/needs/new", data=need_data(
        loan_kind="new", current_lender=str(lender.id), renewal_due="2030-01-01",
        core_enterprise="长安汽车"))
    need = db.session.scalar(select(Need))
    assert need.current_lender_id is None and need.renewal_due is None
    assert enterprise.core_enterprise is None  # only supply-chain finance names a buyer


def test_supply_chain_need_records_core_enterprise_on_enterprise(db, enterprise_client):
    client, enterprise = enterprise_client
    response = client.post("/needs/new", data=need_data(purpose="supply_chain",
                                                         core_enterprise="重庆长安汽车股份有限公司"))
    assert response.status_code == 302
    assert enterprise.core_enterprise == "重庆长安汽车股份有限公司"
    assert_audited("enterprise.updated", enterprise)


def test_project_need_keeps_description(db, enterprise_client):
    client, _ = enterprise_client
    text = "购置五轴加工中心3台，总投资800万元，建设期6个月"
    assert client.post("/needs/new", data=need_data(
        purpose="tech_upgrade", description=text, term_months="36")).status_code == 302
    assert db.session.scalar(select(Need.description)) == text


def test_core_enterprise_suggestions(db, client_as):
    core = CoreEnterprise(name="重庆长安汽车股份有限公司")
    core.aliases = [CoreEnterpriseAlias(alias="长安汽车", confirmed=True)]
    db.session.add_all([core, CoreEnterprise(name="赛力斯集团股份有限公司"),
                        CoreEnterprise(name="长城汽车股份有限公司")])
    db.session.flush()
    client = client_as("enterprise")
    data = client.get("/api/core-enterprises?q=长安").get_json()
    names = [s["name"] for s in data["suggestions"]]
    assert names[0] == "重庆长安汽车股份有限公司"
    assert "赛力斯集团股份有限公司" not in names
    assert client.get("/api/core-enterprises?q=").get_json() == {"suggestions": []}
    assert client.get("/api/core-enterprises?q=赛力斯").get_json()["suggestions"][0]["name"] \
        == "赛力斯集团股份有限公司"


def test_csrf_is_required_when_enabled(app, db, enterprise_client):
    client, _ = enterprise_client
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/needs/new", data=need_data())
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert need_count(db) == 0


def test_the_form_starts_from_the_profile_and_the_last_need(db, client_as):
    from decimal import Decimal

    from tests.factories import EnterpriseFactory, NeedFactory
    firm = EnterpriseFactory(has_bank_loan=True, core_enterprise="重庆长安汽车股份有限公司")
    NeedFactory(enterprise=firm, purpose="supply_chain", term_months=9,
                amount_wan=Decimal(450), guarantee_modes=["pledge"], consent_to_share=True)
    page = client_as("enterprise", enterprise=firm).get("/needs/new").text
    assert _checked(page, "purpose", "supply_chain")
    assert 'value="9"' in page and 'value="450' not in page
    assert _checked(page, "guarantee_modes", "pledge") and _checked(page, "loan_kind", "new")
    assert "重庆长安汽车股份有限公司" in page
    # only purpose, amount, term and guarantee are in the open; the rest is folded
    assert page.index('name="purpose"') < page.index('id="more-fields"') < page.index(
        'name="loan_kind"')
    assert page.index('id="more-fields"') < page.index('name="max_rate"')


def _checked(page, name, value) -> bool:
    import re
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return "checked" in tag
    return False
