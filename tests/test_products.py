"""Institution admins manage products (every exchange field, state machine, versions);
managers read them; other institutions' products answer 404."""
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from matchmaker import jobs
from matchmaker.clock import china_today
from matchmaker.errors import ServiceError
from matchmaker.institutions import service
from matchmaker.institutions.models import CoreEnterprise, Product, ProductVersion
from matchmaker.jobs.models import Job
from matchmaker.policy.models import ReferenceRate
from tests.conftest import ROLES
from tests.factories import InstitutionFactory, ProductFactory, UserFactory
from tests.helpers import assert_audited

BANK_ROLES = ("bank_manager", "bank_admin")


def form_data(**overrides) -> MultiDict:
    """A valid product form: every exchange field set."""
    data = {
        "name": "知识产权质押贷", "description": "以专利权、商标权质押",
        "purposes": ["rnd", "tech_upgrade"], "guarantee_modes": ["pledge"],
        "amount_min_wan": "50", "amount_max_wan": "2000",
        "term_min_months": "6", "term_max_months": "36",
        "rate_basis": "fixed", "rate_min": "3.4", "rate_max": "4.8",
        "spread_min_bp": "", "spread_max_bp": "",
        "sizes": ["small", "micro"], "tags_any": ["specialized_sme", "high_tech"],
        "industries": "C39, C3670", "districts": ["永川区"], "min_years": "2",
        "min_revenue_wan": "500", "tax_credit_grades": ["A", "B"],
        "loan_kinds": ["first_loan", "new"], "existing_customers_only": "",
        "core_enterprises": [], "subsidy_programs": ["tech_upgrade_interest"],
    }
    data.update(overrides)
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if item != "" or not isinstance(value, list):
                pairs.append((key, item))
    return MultiDict(pairs)


@pytest.fixture
def bank(db):
    return InstitutionFactory(districts=["永川区", "璧山区"])


def saved(db, obj=None):
    """Commit the test's setup: a view that rolls back after a refused change must not take
    the fixtures with it (the test's outer transaction still discards everything)."""
    db.session.commit()
    return obj


@pytest.fixture
def admin_client(db, client_as, bank):
    client = client_as("bank_admin", institution=bank)
    saved(db)
    return client


def _count(db, model=Product):
    return db.session.scalar(select(func.count()).select_from(model))


# --- creating and editing ----------------------------------------------------------------

def test_admin_creates_a_draft_with_every_exchange_field(db, admin_client, bank):
    response = admin_client.post("/institution/products/new", data=form_data())
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.institution_id == bank.id))
    assert product.status == "draft" and product.version == 0
    assert product.purposes == ["rnd", "tech_upgrade"]
    assert product.guarantee_modes == ["pledge"]
    assert product.sizes == ["small", "micro"]
    assert product.tags_any == ["specialized_sme", "high_tech"]
    assert product.industries == ["C39", "C3670"]
    assert product.districts == ["永川区"]
    assert product.tax_credit_grades == ["A", "B"]
    assert product.loan_kinds == ["first_loan", "new"]
    assert product.subsidy_programs == ["tech_upgrade_interest"]
    assert product.min_years == Decimal(2) and product.min_revenue_wan == Decimal(500)
    assert (product.rate_min, product.rate_max) == (Decimal("3.4"), Decimal("4.8"))
    assert product.ref.startswith(bank.ref)
    assert_audited("product.created", product)


def test_lpr_priced_product_gets_its_rates_from_the_lpr_in_force(db, admin_client, bank):
    # the migration's quote: 1-year LPR 3.00 % since 2025-05-20
    response = admin_client.post("/institution/products/new", data=form_data(
        rate_basis="lpr_1y", rate_min="", rate_max="", spread_min_bp="-20", spread_max_bp="150"))
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.institution_id == bank.id))
    assert product.rate_basis == "lpr_1y"
    assert (product.spread_min_bp, product.spread_max_bp) == (-20, 150)
    assert (product.rate_min, product.rate_max) == (Decimal("2.8"), Decimal("4.5"))


@pytest.mark.parametrize("overrides, field, message", [
    ({"amount_min_wan": "500", "amount_max_wan": "100"}, "amount_max_wan", "最高额度不能低于最低额度"),
    ({"amount_min_wan": "0"}, "amount_min_wan", "金额必须大于0"),
    ({"term_min_months": "0"}, "term_min_months", "期限应在1到360个月之间"),
    ({"term_min_months": "24", "term_max_months": "12"}, "term_max_months", "最长期限不能短于最短期限"),
    ({"rate_min": "-1"}, "rate_min", "利率不能为负数"),
    ({"rate_min": "5", "rate_max": "4"}, "rate_max", "最高利率不能低于最低利率"),
    ({"rate_min": ""}, "rate_min", "固定利率产品请填写最低年利率"),
    ({"rate_basis": "lpr_5y", "spread_min_bp": "50", "spread_max_bp": "10"},
     "spread_max_bp", "最高加点不能低于最低加点"),
    ({"purposes": ["working_capital", "space_travel"]}, "purposes", "不是有效的代码（不在词表中）"),
    ({"guarantee_modes": []}, "guarantee_modes", "请至少选择一种担保方式"),
    ({"tags_any": ["famous"]}, "tags_any", "不是有效的代码"),
    ({"districts": ["成都市"]}, "districts", "不是有效的代码"),
    ({"industries": "C99, C36"}, "industries", "“C99”不是国民经济行业分类（GB/T 4754—2017）代码"),
    ({"core_enterprises": ["不存在的汽车公司"]}, "core_enterprises", "不在核心企业名单库中"),
    ({"min_years": "-1"}, "min_years", "成立年限不能为负数"),
    ({"rate_basis": "lpr_10y"}, "rate_basis", "请选择有效的定价方式"),
])
def test_bad_input_is_explained_beside_the_field_and_nothing_is_saved(
        db, admin_client, overrides, field, message):
    before = _count(db)
    response = admin_client.post("/institution/products/new", data=form_data(**overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'data-field="{field}"' in html
    feedback = html.split(f'data-field="{field}"')[1].split("</div>")[0]
    assert message in feedback
    assert _count(db) == before


def test_negative_lpr_result_is_refused(db, admin_client):
    response = admin_client.post("/institution/products/new", data=form_data(
        rate_basis="lpr_1y", rate_min="", rate_max="", spread_min_bp="-400", spread_max_bp="0"))
    assert response.status_code == 400
    assert "计算的最低利率为负数" in response.get_data(as_text=True)


def test_supply_chain_product_names_core_enterprises_from_the_list(db, admin_client, bank):
    db.session.add(CoreEnterprise(name="重庆长安汽车股份有限公司", cluster="intelligent_connected_nev"))
    saved(db)
    response = admin_client.post("/institution/products/new", data=form_data(
        name="渝链贷", purposes=["supply_chain"], core_enterprises=["重庆长安汽车股份有限公司"]))
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.name == "渝链贷"))
    assert product.core_enterprises == ["重庆长安汽车股份有限公司"]


def test_service_canonicalises_a_listed_core_enterprise_written_differently(db, bank):
    db.session.add(CoreEnterprise(name="重庆长安汽车股份有限公司"))
    db.session.flush()
    admin = UserFactory(role="bank_admin", institution=bank)
    terms = _terms(core_enterprises=["长安汽车"])
    product = service.create_product(admin, bank, **terms)
    assert product.core_enterprises == ["重庆长安汽车股份有限公司"]


def _terms(**overrides) -> dict:
    terms = {"name": "流动资金贷", "description": None, "purposes": ["working_capital"],
             "guarantee_modes": ["credit"], "amount_min_wan": Decimal(10),
             "amount_max_wan": Decimal(500), "term_min_months": 3, "term_max_months": 12,
             "rate_basis": "fixed", "rate_min": Decimal("3.5"), "rate_max": Decimal("4.5")}
    terms.update(overrides)
    return terms


def test_profile_form_shows_the_current_values_on_edit(db, admin_client, bank):
    product = ProductFactory(institution=bank, status="draft", version=0, industries=["C36"])
    html = admin_client.get(f"/institution/products/{product.id}/edit").get_data(as_text=True)
    assert 'value="C36"' in html and product.name in html


# --- state machine -----------------------------------------------------------------------

def _post(client, product, action):
    return client.post(f"/institution/products/{product.id}/{action}")


def test_draft_published_paused_published_retired(db, admin_client, bank):
    product = ProductFactory(institution=bank, status="draft", version=0)
    assert _post(admin_client, product, "publish").status_code == 302
    assert (product.status, product.version) == ("published", 1)
    assert_audited("product.published", product, version=1)
    assert _post(admin_client, product, "pause").status_code == 302
    assert product.status == "paused"
    assert_audited("product.paused", product)
    # resuming unchanged terms makes no new version
    assert _post(admin_client, product, "publish").status_code == 302
    assert (product.status, product.version) == ("published", 1)
    assert_audited("product.resumed", product, version=1)
    assert _post(admin_client, product, "retire").status_code == 302
    assert product.status == "retired"
    assert_audited("product.retired", product)


def test_a_status_change_shows_its_matching_job_to_whom_made_it(db, admin_client, bank, app,
                                                                 monkeypatch, client_as):
    """The job waits in the queue (a busy worker): the product page after the change polls
    it; another bank admin of the same bank is not shown someone else's job."""
    product = saved(db, ProductFactory(institution=bank, status="published", version=1))
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs.runner, "dispatch", lambda *_args: "queued")  # nobody runs it
    response = _post(admin_client, product, "pause")
    job_id = int(parse_qs(urlparse(response.headers["Location"]).query)["job"][0])
    job = db.session.get(Job, job_id)
    assert (job.kind, job.status, job.params) == ("matching.product", "queued",
                                                  {"product_id": product.id})
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/jobs/{job_id}/status" in page
    colleague = client_as("bank_admin", institution=bank)
    other = colleague.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/jobs/{job_id}/status" not in other


@pytest.mark.parametrize("status, action", [
    ("draft", "pause"), ("published", "publish"), ("retired", "publish"),
    ("retired", "pause"), ("retired", "retire"), ("paused", "pause")])
def test_transitions_outside_the_state_machine_are_refused(db, admin_client, bank, status,
                                                          action):
    product = saved(db, ProductFactory(institution=bank, status=status))
    response = _post(admin_client, product, action)
    assert response.status_code == 302
    assert product.status == status
    follow = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "的产品不能" in follow


def test_retired_product_cannot_be_edited(db, admin_client, bank):
    product = ProductFactory(institution=bank, status="retired")
    response = admin_client.post(f"/institution/products/{product.id}/edit",
                                 data=form_data(name="复活"))
    assert response.status_code == 302
    assert product.name != "复活"


def test_publishing_needs_purposes_and_guarantee_modes(db, bank):
    admin = UserFactory(role="bank_admin", institution=bank)
    product = ProductFactory(institution=bank, status="draft", version=0, guarantee_modes=[])
    with pytest.raises(ServiceError, match="担保方式"):
        service.change_product_status(admin, product, "publish")


# --- versions ------------------------------------------------------------------------------

def test_editing_a_published_product_publishes_a_new_version_and_keeps_the_old(
        db, admin_client, bank):
    product = ProductFactory(institution=bank, status="draft", version=0, name="科技贷")
    _post(admin_client, product, "publish")
    v1 = service.product_version(product, 1)
    data = form_data(name="科技贷", rate_min="3.1", rate_max="4.1", version_seen="1")
    # first a preview of what changes; nothing is published yet
    preview = admin_client.post(f"/institution/products/{product.id}/edit", data=data)
    assert preview.status_code == 200 and 'data-testid="product-changes"' in preview.text
    assert "最低年利率" in preview.text and "3.1" in preview.text
    assert product.version == 1
    response = admin_client.post(f"/institution/products/{product.id}/edit",
                                 data={**data, "action": "confirm"})
    assert response.status_code == 302
    assert product.version == 2 and product.status == "published"
    v2 = service.product_version(product, 2)
    assert v1.terms["rate_min"] == 3.2 and v2.terms["rate_min"] == 3.1
    assert_audited("product.updated", product)
    assert_audited("product.published", product, version=2)
    # the old version stays readable, on its own page, for whatever still refers to it
    page = admin_client.get(f"/catalog/products/{product.id}/versions/1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "3.2%至4.5%" in html and "这是历史版本" in html


def test_saving_unchanged_terms_makes_no_new_version(db, bank):
    admin = UserFactory(role="bank_admin", institution=bank)
    product = service.create_product(admin, bank, **_terms())
    service.change_product_status(admin, product, "publish")
    service.update_product(admin, product, version_seen=1, **_terms())
    assert product.version == 1
    assert db.session.scalar(select(func.count()).select_from(ProductVersion)
                             .where(ProductVersion.product_id == product.id)) == 1


def test_a_stale_form_does_not_overwrite_a_newer_version(db, bank):
    admin = UserFactory(role="bank_admin", institution=bank)
    product = service.create_product(admin, bank, **_terms())
    service.change_product_status(admin, product, "publish")
    service.update_product(admin, product, version_seen=1, **_terms(rate_min=Decimal("3.3")))
    with pytest.raises(ServiceError, match="第2版"):
        service.update_product(admin, product, version_seen=1, **_terms(name="旧表单"))


def test_a_match_keeps_the_version_it_saw(db, bank, client):
    """A lead or match stores (product, version); that snapshot stays readable after edits,
    pauses and even retirement."""
    admin = UserFactory(role="bank_admin", institution=bank)
    product = service.create_product(admin, bank, **_terms(name="订单贷"))
    service.change_product_status(admin, product, "publish")
    seen = (product.id, product.version)
    service.update_product(admin, product, version_seen=1, **_terms(name="订单贷（升级版）"))
    service.change_product_status(admin, product, "retire")
    snapshot = service.product_version(product, seen[1])
    assert snapshot.terms["name"] == "订单贷" and snapshot.terms.get("active", True)
    response = client.get(f"/catalog/products/{seen[0]}/versions/{seen[1]}")
    assert response.status_code == 200
    assert "订单贷" in response.get_data(as_text=True)
    assert client.get(f"/catalog/products/{seen[0]}/versions/9").status_code == 404


def test_lpr_change_reprices_and_versions_published_products(db, bank):
    admin = UserFactory(role="bank_admin", institution=bank)
    product = service.create_product(admin, bank, **_terms(
        rate_basis="lpr_5y", rate_min=None, rate_max=None, spread_min_bp=0, spread_max_bp=100))
    service.change_product_status(admin, product, "publish")
    assert product.rate_min == Decimal("3.5")
    from matchmaker.policy import service as policy_service

    policy_service.add_lpr_quote(UserFactory(role="admin"), "lpr_5y", Decimal("3.2"),
                                 date(2026, 1, 20), today=date(2026, 2, 1))
    assert (product.rate_min, product.rate_max) == (Decimal("3.2"), Decimal("4.2"))
    assert product.version == 2
    assert service.product_version(product, 1).terms["rate_min"] == 3.5


# --- institution profile -------------------------------------------------------------------

def test_admin_edits_the_profile(db, admin_client, bank):
    response = admin_client.post("/institution/profile", data=MultiDict([
        ("kind", "guarantee"), ("districts", "永川区"), ("districts", "江津区"),
        ("contact_name", "王经理"), ("contact_phone", "023-12345678"),
        ("contact_email", "wang@bank.example"), ("address", "永川区人民大道1号"),
        ("description", "政策性融资担保")]))
    assert response.status_code == 302
    assert bank.kind == "guarantee" and bank.districts == ["永川区", "江津区"]
    assert bank.contact_phone == "023-12345678"
    entry = assert_audited("institution.updated", bank)
    assert "contact_phone" in entry.details["changed"]
    assert "023-12345678" not in str(entry.details)  # names of fields, never their values


def test_profile_rejects_a_bad_phone_and_a_bad_kind(db, admin_client, bank):
    response = admin_client.post("/institution/profile", data={
        "kind": "casino", "contact_phone": "call me"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "联系电话只能包含数字" in html
    assert bank.kind == "bank"


# --- access ----------------------------------------------------------------------------------

GET_ROUTES = {  # endpoint path template -> roles that get 200
    "/institution/products": {"bank_manager", "bank_admin"},
    "/institution/products/new": {"bank_admin"},
    "/institution/products/{id}": {"bank_manager", "bank_admin"},
    "/institution/products/{id}/edit": {"bank_admin"},
    "/institution/profile": {"bank_admin"},
}
POST_ROUTES = {  # -> roles allowed (302 after the change)
    "/institution/products/{id}/publish": {"bank_admin"},
    "/institution/products/{id}/pause": {"bank_admin"},
    "/institution/products/{id}/retire": {"bank_admin"},
    "/institution/products/{id}/edit": {"bank_admin"},
    "/institution/products/new": {"bank_admin"},
    "/institution/profile": {"bank_admin"},
}


def _expect(status, role, allowed, ok=200):
    if role in allowed:
        assert status == ok, (role, status)
    elif role == "anonymous":
        assert status in (302, 303)
    else:
        assert status == 403, (role, status)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(GET_ROUTES))
def test_get_access(db, client_as, bank, role, path):
    product = ProductFactory(institution=bank, status="published")
    client = client_as(role, institution=bank) if role in BANK_ROLES else client_as(role)
    response = client.get(path.format(id=product.id))
    _expect(response.status_code, role, GET_ROUTES[path])
    if role == "anonymous":
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(POST_ROUTES))
def test_post_access(db, client_as, bank, role, path):
    product = ProductFactory(institution=bank, status="published")
    client = client_as(role, institution=bank) if role in BANK_ROLES else client_as(role)
    saved(db)
    data = form_data(version_seen="1", action="confirm") if path.endswith(("edit", "new")) else {
        "kind": "bank"} if path.endswith("profile") else {}
    response = client.post(path.format(id=product.id), data=data)
    _expect(response.status_code, role, POST_ROUTES[path], ok=302)
    if role not in POST_ROUTES[path]:
        assert product.status == "published" and product.version == 1


@pytest.mark.parametrize("role", BANK_ROLES)
@pytest.mark.parametrize("path", ["/institution/products/{id}", "/institution/products/{id}/edit"])
def test_other_institutions_product_is_404(db, client_as, role, path):
    product = ProductFactory(status="published")
    client = client_as(role, institution=InstitutionFactory())
    assert client.get(path.format(id=product.id)).status_code in (
        (404,) if role == "bank_admin" or path.endswith("}") else (403,))


@pytest.mark.parametrize("action", ["publish", "pause", "retire", "edit"])
def test_other_institutions_admin_cannot_change_it(db, client_as, action):
    product = ProductFactory(status="published", name="别家的产品")
    client = client_as("bank_admin", institution=InstitutionFactory())
    data = form_data(name="改名") if action == "edit" else {}
    assert client.post(f"/institution/products/{product.id}/{action}",
                       data=data).status_code == 404
    assert product.status == "published" and product.name == "别家的产品"


def test_manager_reads_products_without_edit_buttons(db, client_as, bank):
    product = ProductFactory(institution=bank, status="published")
    client = client_as("bank_manager", institution=bank)
    html = client.get(f"/institution/products/{product.id}").get_data(as_text=True)
    assert product.name in html
    assert 'data-testid="edit-product"' not in html and 'data-testid="pause"' not in html
    listing = client.get("/institution/products").get_data(as_text=True)
    assert product.name in listing and 'data-testid="new-product"' not in listing


def test_product_list_shows_only_own_products_and_an_empty_state(db, client_as, bank):
    ProductFactory(name="别家的产品")
    client = client_as("bank_admin", institution=bank)
    html = client.get("/institution/products").get_data(as_text=True)
    assert "别家的产品" not in html
    assert 'data-testid="empty-state"' in html


def test_lpr_quote_missing_for_the_basis(db, bank):
    db.session.execute(ReferenceRate.__table__.delete().where(ReferenceRate.kind == "lpr_5y"))
    admin = UserFactory(role="bank_admin", institution=bank)
    with pytest.raises(ServiceError, match="LPR报价"):
        service.create_product(admin, bank, **_terms(
            rate_basis="lpr_5y", spread_min_bp=0, spread_max_bp=10))


def test_a_paused_product_edited_then_resumed_is_a_new_version(db, bank):
    admin = UserFactory(role="bank_admin", institution=bank)
    product = service.create_product(admin, bank, **_terms())
    service.change_product_status(admin, product, "publish")
    service.change_product_status(admin, product, "pause")
    service.update_product(admin, product, version_seen=1, **_terms(amount_max_wan=Decimal(800)))
    assert (product.status, product.version) == ("paused", 1)   # not public while paused
    service.change_product_status(admin, product, "publish")
    assert (product.status, product.version) == ("published", 2)
    assert service.product_version(product, 2).terms["amount_max_wan"] == 800


def test_paused_and_draft_products_are_not_in_the_catalogue(db, client, bank):
    ProductFactory(institution=bank, name="暂停中的贷款", status="paused")
    ProductFactory(institution=bank, name="还在草稿的贷款", status="draft", version=0)
    html = client.get("/catalog/").get_data(as_text=True)
    assert "暂停中的贷款" not in html and "还在草稿的贷款" not in html


def test_every_route_of_issue_4_has_access_tests(app):
    """The matrices of test_products / test_catalog / test_policy / test_core_enterprises /
    test_core_groups cover exactly these endpoints; a new route must join one of them."""
    covered = {
        "institutions.products", "institutions.new_product", "institutions.product",
        "institutions.edit_product", "institutions.publish_product",
        "institutions.pause_product", "institutions.retire_product", "institutions.profile",
        "institutions.core_enterprises", "institutions.new_core_enterprise",
        "institutions.edit_core_enterprise", "institutions.stated_names",
        "institutions.confirm_alias", "institutions.core_groups", "institutions.new_core_group",
        "institutions.edit_core_group", "institutions.delete_core_group",
        "catalog.index", "catalog.product",
        "catalog.product_version", "catalog.export", "policy.index", "policy.add_rate",
        "policy.edit_program", "policy.edit_setting",
        # issue 15: tests/test_policy.py and tests/test_policy_programmes.py
        "policy.new_program", "policy.confirmations", "policy.confirm_programme",
        "policy.revoke_programme", "policy.confirm_all"}
    endpoints = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.split(".")[0] in ("institutions", "catalog", "policy")
                 and "workday" not in r.endpoint}  # the calendar's matrix: test_leads_access
    assert endpoints == covered


def test_cli_reprices_after_a_future_dated_quote_takes_effect(app, db, bank):
    from datetime import timedelta

    admin = UserFactory(role="bank_admin", institution=bank)
    product = service.create_product(admin, bank, **_terms(
        rate_basis="lpr_1y", rate_min=None, rate_max=None, spread_min_bp=50, spread_max_bp=50))
    service.change_product_status(admin, product, "publish")
    # entered ahead of time (not yet in force on entry day), in force by the time the job runs
    db.session.add(ReferenceRate(kind="lpr_1y", rate=Decimal("2.75"),
                                 effective_from=china_today() - timedelta(days=1)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reprice-lpr-products"])
    assert result.exit_code == 0 and "repriced: 1" in result.output
    assert (product.rate_min, product.version) == (Decimal("3.25"), 2)


def test_the_preview_replays_the_form_and_back_returns_to_it(db, admin_client, bank):
    product = ProductFactory(institution=bank, status="draft", version=0, name="科技贷")
    _post(admin_client, product, "publish")
    data = form_data(name="科技贷二号", version_seen="1")
    page = admin_client.post(f"/institution/products/{product.id}/edit", data=data).text
    assert 'name="name" value="科技贷二号"' in page and 'value="confirm"' in page
    back = admin_client.post(f"/institution/products/{product.id}/edit",
                             data={**data, "action": "back"})
    assert back.status_code == 200 and 'data-testid="product-form"' in back.text
    assert product.version == 1 and product.name == "科技贷"


def test_product_form_has_no_ctrl_click_multi_selects(db, admin_client):
    page = admin_client.get("/institution/products/new").text
    assert "<select multiple" not in page and " multiple" not in page.replace("multiple-", "")
    assert 'type="checkbox" name="purposes"' in page
