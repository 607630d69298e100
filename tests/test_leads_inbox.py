"""The bank's inbox: only its consented leads, filters (purpose, district, amount, age,
status), urgency order (renewals near their due date first, then claim deadlines), paging,
and the pipeline figures."""
from datetime import date
from decimal import Decimal

from matchmaker.leads import claims, outcomes, pipeline, queries, supervision
from tests.factories import EnterpriseFactory, InstitutionFactory, NeedFactory
from tests.test_leads_helpers import china, claimed_lead, freeze, manager, pushed_lead


def _ids(user, **filters):
    from matchmaker.extensions import db

    return [lead.id for lead in db.session.scalars(queries.inbox_query(user, **filters))]


def test_inbox_shows_only_own_consented_leads(db, client_as):
    institution = InstitutionFactory()
    mine = pushed_lead(institution=institution)
    theirs = pushed_lead()
    client = client_as("bank_manager", institution=institution)
    page = client.get("/leads/").text
    assert f'data-testid="lead-row-{mine.id}"' in page
    assert f'data-testid="lead-row-{theirs.id}"' not in page


def test_empty_inbox_says_what_to_do(db, client_as):
    page = client_as("bank_manager").get("/leads/").text
    assert "暂时没有待处理的线索" in page and "查看本机构产品" in page


def test_filters(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 20))
    institution = InstitutionFactory()
    mgr = manager(institution)
    big = pushed_lead(need=NeedFactory(amount_wan=Decimal(900), purpose="tech_upgrade",
                                       enterprise=EnterpriseFactory(district="江北区")),
                      institution=institution, purposes=["tech_upgrade"])
    freeze(monkeypatch, china(2026, 11, 1))
    old = pushed_lead(need=NeedFactory(amount_wan=Decimal(100)), institution=institution)
    freeze(monkeypatch, china(2026, 11, 20))
    assert _ids(mgr, purpose="tech_upgrade") == [big.id]
    assert _ids(mgr, district="江北区") == [big.id]
    assert _ids(mgr, amount_min=Decimal(500)) == [big.id]
    assert _ids(mgr, amount_max=Decimal(500)) == [old.id]
    assert _ids(mgr, age="7") == [big.id]
    assert _ids(mgr, age="older") == []
    assert set(_ids(mgr, age="30")) == {big.id, old.id}
    claims.claim_lead(mgr, old)
    assert _ids(mgr, status="mine") == [old.id]
    assert _ids(mgr, status="open") == [big.id]
    assert _ids(mgr, status="claimed") == [old.id]
    outcomes.decline_lead(mgr, old, "weak_financials", no_contact_reason="企业电话停机")
    assert _ids(mgr) == [big.id]  # "active" by default
    assert set(_ids(mgr, status="all")) == {big.id, old.id}
    assert _ids(mgr, status="declined") == [old.id]


def test_filter_form_through_the_page(db, client_as):
    institution = InstitutionFactory()
    lead = pushed_lead(institution=institution)
    client = client_as("bank_manager", institution=institution)
    page = client.get("/leads/?amount_min=-5").text
    assert "金额不能为负数" in page and f"lead-row-{lead.id}" in page  # bad bound ignored
    page = client.get("/leads/?purpose=equipment").text
    assert "没有符合条件的线索" in page


def test_renewals_near_due_first_then_deadlines(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    institution = InstitutionFactory()
    mgr = manager(institution)

    def renewal(due):
        need = NeedFactory(loan_kind="renewal", renewal_due=due)
        return pushed_lead(need=need, institution=institution)

    fresh = pushed_lead(institution=institution)
    far = renewal(date(2027, 6, 1))
    soon = renewal(date(2026, 11, 20))
    sooner = renewal(date(2026, 11, 10))
    claimed = pushed_lead(institution=institution)
    claims.claim_lead(mgr, claimed)  # a contact deadline of 4 Nov
    order = _ids(mgr)
    assert order[:3] == [sooner.id, soon.id, claimed.id]
    assert set(order[3:]) == {far.id, fresh.id}


def test_inbox_paginates(db, client_as):
    institution = InstitutionFactory()
    for _ in range(21):
        pushed_lead(institution=institution)
    client = client_as("bank_manager", institution=institution)
    first = client.get("/leads/").text
    assert first.count('data-testid="lead-row-') == 20 and "共 21 条" in first
    assert client.get("/leads/?page=2").text.count('data-testid="lead-row-') == 1


def test_lead_page_shows_need_products_reasons(db, client_as):
    lead = pushed_lead()
    page = client_as("bank_manager", institution=lead.institution).get(f"/leads/{lead.id}").text
    product = lead.institution.products[0]
    assert product.name in page and "金额300万元在产品额度内" in page
    assert "匹配时为第1版" in page and "接单" in page


# --- pipeline ----------------------------------------------------------------------------------

def test_pipeline_per_manager_and_product(db, monkeypatch, client_as):
    freeze(monkeypatch, china(2026, 11, 2, 9))
    institution = InstitutionFactory()
    fast, slow = manager(institution), manager(institution)
    a = pushed_lead(institution=institution)
    b = pushed_lead(institution=institution)
    claims.claim_lead(fast, a)
    claims.claim_lead(slow, b)
    freeze(monkeypatch, china(2026, 11, 2, 12))
    claims.add_followup(fast, a, "call")
    product = institution.products[0]
    outcomes.approve_lead(fast, a, product=product, amount_wan=Decimal(200),
                         rate=Decimal("3.4"), term_months=12, guarantee_mode="credit",
                         approved_on=date(2026, 11, 2))
    freeze(monkeypatch, china(2026, 11, 10))
    supervision.sweep()  # b lapses
    data = pipeline.pipeline(institution_id=institution.id)
    rows = {r.label: r for r in data.managers}
    assert rows[fast.name].contact_sla == 1.0 and rows[fast.name].avg_hours == 3.0
    assert rows[fast.name].conversion == 1.0 and rows[fast.name].decision_sla == 1.0
    assert rows[slow.name].lapsed == 1 and rows[slow.name].contact_sla == 0.0
    assert data.total.contact_sla == 0.5
    assert data.by_status["approved"] == 1 and data.by_status["lapsed"] == 1
    by_product = {r.label: r for r in data.products}
    assert by_product[product.name].approved == 1
    page = client_as("bank_admin", institution=institution).get("/leads/pipeline").text
    assert fast.name in page and "100%" in page and "3.0 小时" in page


def test_organizer_pipeline_is_per_institution(db, monkeypatch, client_as):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, _mgr = claimed_lead()
    page = client_as("organizer").get("/leads/pipeline?days=30").text
    assert lead.institution.name in page and 'data-testid="per-institution"' in page
    elsewhere = "渝中区" if lead.need.enterprise.district != "渝中区" else "江北区"
    page = client_as("organizer", district=elsewhere).get("/leads/pipeline").text
    assert lead.institution.name not in page


def test_bank_admin_sees_only_own_institution(db, monkeypatch, client_as):
    freeze(monkeypatch, china(2026, 11, 2))
    _lead, mgr = claimed_lead()
    page = client_as("bank_admin", institution=InstitutionFactory()).get("/leads/pipeline").text
    assert mgr.name not in page and "统计范围内还没有线索" in page


def test_inbox_reads_a_page_in_the_same_number_of_queries_whatever_its_leads(db, client_as):
    """No query per lead (the live consent, the need and its firm, the claim's manager): a
    page of 6 leads costs what a page of 2 costs."""
    from sqlalchemy import event

    from matchmaker.accounts.models import User
    from matchmaker.institutions.models import Institution

    institution = InstitutionFactory()
    client = client_as("bank_manager", institution=institution)
    ids = institution.id, manager(institution).id

    def add(n):
        institution, other = db.session.get(Institution, ids[0]), db.session.get(User, ids[1])
        for k in range(n):
            lead = pushed_lead(institution=institution)
            if k % 2:
                claims.claim_lead(other, lead)

    def queries_of_one_page() -> int:
        db.session.expunge_all()  # as in production: a fresh session per request
        statements = []

        def count(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = client.get("/leads/")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return statements, page.text

    add(2)
    few, text = queries_of_one_page()
    assert text.count('data-testid="lead-row-') == 2
    add(4)
    many, text = queries_of_one_page()
    assert text.count('data-testid="lead-row-') == 6
    assert len(many) == len(few), "\n".join(many)
