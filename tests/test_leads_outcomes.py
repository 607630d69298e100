"""Follow-up log, outcomes (approved / declined / withdrawn) with their bounds, the enterprise's
confirmation and rating, the need's status, and the timeline the enterprise sees."""
from datetime import date
from decimal import Decimal

import pytest

from matchmaker.errors import ServiceError
from matchmaker.leads import claims, outcomes, queries
from tests.factories import NeedFactory, ProductFactory
from tests.helpers import assert_audited
from tests.test_leads_helpers import china, claimed_lead, freeze, manager, owner, pushed_lead

APPROVAL = {"amount_wan": Decimal(300), "rate": Decimal("3.45"), "term_months": 12,
            "guarantee_mode": "credit", "approved_on": date(2026, 10, 9)}


def _approve(lead, by, **overrides):
    product = overrides.pop("product", None) or lead.institution.products[0]
    return outcomes.approve_lead(by, lead, product=product, **dict(APPROVAL, **overrides))


@pytest.fixture
def clock(monkeypatch):
    freeze(monkeypatch, china(2026, 10, 9, 15))


# --- follow-up --------------------------------------------------------------------------------

def test_first_contact_is_recorded_on_time(db, clock):
    lead, mgr = claimed_lead()
    entry = claims.add_followup(mgr, lead, "call", "与财务负责人通话，约定下周走访")
    claim = lead.live_claim
    assert claim.status == "contacted" and lead.status == "contacted"
    assert claim.contacted_at is not None
    assert_audited("lead.followed_up", lead, kind="call", followup_id=entry.id)
    assert_audited("lead.contacted", lead, on_time=True)
    claims.add_followup(mgr, lead, "visit")
    assert claim.contacted_at == entry.created_at  # the first contact stays the first


def test_late_contact_is_recorded_late(db, monkeypatch):
    freeze(monkeypatch, china(2026, 9, 30))
    lead, mgr = claimed_lead()
    freeze(monkeypatch, china(2026, 10, 10, 9))  # the Saturday after the deadline (9 Oct)
    claims.add_followup(mgr, lead, "call")
    assert_audited("lead.contacted", lead, on_time=False)


def test_a_note_is_not_contact_and_needs_text(db, clock):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match="请填写备注内容"):
        claims.add_followup(mgr, lead, "note", "  ")
    claims.add_followup(mgr, lead, "note", "企业实控人有涉诉记录，需核实")
    assert lead.live_claim.status == "claimed"


def test_only_the_holder_logs_followups(db, clock, client_as):
    lead, _mgr = claimed_lead()
    with pytest.raises(ServiceError, match="只有认领该线索的客户经理"):
        claims.add_followup(manager(lead.institution), lead, "call")
    client = client_as("bank_manager", institution=lead.institution)
    response = client.post(f"/leads/{lead.id}/followups", data={"kind": "call"},
                           follow_redirects=True)
    assert "只有认领该线索的客户经理可以进行此操作" in response.text


def test_followup_form_through_the_page(db, clock, client_as):
    lead = pushed_lead()
    mgr = manager(lead.institution)
    claims.claim_lead(mgr, lead)
    client = client_as("bank_manager", institution=lead.institution)
    client = client.application.test_client(user=mgr)
    db.session.commit()  # a refused request rolls back to here
    refused = client.post(f"/leads/{lead.id}/followups", data={"kind": "note", "note": ""})
    assert refused.status_code == 400 and "请填写备注内容" in refused.text
    response = client.post(f"/leads/{lead.id}/followups",
                           data={"kind": "documents_requested", "note": "近三年财报、纳税证明"})
    assert response.status_code == 302
    page = client.get(f"/leads/{lead.id}").text
    assert "近三年财报、纳税证明" in page and "要求提供资料" in page


# --- outcomes ----------------------------------------------------------------------------------

def test_approve_records_terms_and_tells_the_enterprise(db, clock):
    lead, mgr = claimed_lead()
    user = owner(lead.need)
    _approve(lead, mgr)
    assert (lead.status, lead.outcome, lead.live_claim) == ("approved", "approved", None)
    assert lead.last_claim.status == "approved" and lead.last_claim.contacted_at is not None
    assert lead.approved_amount_wan == Decimal(300) and lead.approved_rate == Decimal("3.45")
    assert lead.need.status == "in_progress"  # until the money arrives
    assert_audited("lead.approved", lead, amount_wan="300", rate="3.45", on_time=True)
    from sqlalchemy import select

    from matchmaker.extensions import db as _db
    from matchmaker.notifications.models import Notification

    kinds = _db.session.scalars(select(Notification.kind).where(
        Notification.user_id == user.id)).all()
    assert "lead.approved" in kinds


def test_approved_amount_above_the_products_maximum_is_refused(db, clock):
    lead, mgr = claimed_lead(amount_max_wan=Decimal(500))
    product = lead.institution.products[0]
    with pytest.raises(ServiceError, match="批准金额不能超过产品.*的最高额度500万元") as err:
        _approve(lead, mgr, product=product, amount_wan=Decimal("500.01"))
    assert err.value.field == "amount_wan"
    _approve(lead, mgr, product=product, amount_wan=Decimal(500))  # the maximum itself is fine


def test_negative_rate_is_refused(db, clock):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match="年利率不能为负数"):
        _approve(lead, mgr, rate=Decimal("-0.01"))
    _approve(lead, mgr, rate=Decimal(0))  # interest-free (贴息 to zero) is allowed


@pytest.mark.parametrize("overrides,message", [
    ({"amount_wan": Decimal(0)}, "批准金额必须大于0"),
    ({"term_months": 0}, "期限必须大于0个月"),
    ({"guarantee_mode": "gold"}, "请选择担保方式"),
    ({"approved_on": date(2026, 10, 10)}, "批准日期不能晚于今天"),
    ({"approved_on": date(2026, 1, 1)}, "批准日期不能早于接单日期"),
])
def test_other_approval_bounds(db, clock, overrides, message):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match=message):
        _approve(lead, mgr, **overrides)


def test_approval_under_another_institutions_product_is_refused(db, clock):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match="请选择本机构的产品"):
        _approve(lead, mgr, product=ProductFactory())


def test_approval_form_shows_the_messages_beside_the_fields(db, clock, client_as):
    lead, mgr = claimed_lead(amount_max_wan=Decimal(500))
    client = client_as("bank_manager", institution=lead.institution).application.test_client(
        user=mgr)
    db.session.commit()  # the refused request rolls back to here
    data = {"product_id": lead.institution.products[0].id, "amount_wan": "800", "rate": "3.5",
            "term_months": "12", "guarantee_mode": "credit", "approved_on": "2026-10-09"}
    response = client.post(f"/leads/{lead.id}/approve", data=data)
    assert response.status_code == 400
    assert "批准金额不能超过产品" in response.text and 'data-field="amount_wan"' in response.text
    response = client.post(f"/leads/{lead.id}/approve", data=dict(data, rate="-1"))
    assert response.status_code == 400 and "年利率应在0%–36%之间" in response.text
    assert lead.status == "claimed"
    response = client.post(f"/leads/{lead.id}/approve", data=dict(data, amount_wan="450"))
    assert response.status_code == 302 and lead.status == "approved"


def test_decline_needs_a_reason_and_text_for_other(db, clock):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match="请选择未获批原因"):
        outcomes.decline_lead(mgr, lead, "bad_luck")
    with pytest.raises(ServiceError, match="原因为“其他”时须填写具体说明"):
        outcomes.decline_lead(mgr, lead, "other", " ")
    with pytest.raises(ServiceError, match="请先登记与企业的联系"):  # no contact logged
        outcomes.decline_lead(mgr, lead, "other", "申请金额超出企业年销售收入的一半")
    claims.add_followup(mgr, lead, "call")
    outcomes.decline_lead(mgr, lead, "other", "申请金额超出企业年销售收入的一半")
    assert (lead.status, lead.decline_reason) == ("declined", "other")
    assert lead.need.status == "published"  # nobody else works it: back on the market
    assert_audited("lead.declined", lead, reason="other")


def test_the_enterprise_sees_the_decline_reason_not_the_notes(db, clock, client_as):
    lead, mgr = claimed_lead()
    claims.add_followup(mgr, lead, "call", "内部：老板态度差")
    claims.add_followup(mgr, lead, "note", "内部：不建议续作")
    outcomes.decline_lead(mgr, lead, "insufficient_collateral", "可补充房产抵押后再申请")
    page = client_as("enterprise", enterprise=lead.need.enterprise).get(
        f"/leads/{lead.id}/progress").text
    assert "抵押担保不足" in page and "可补充房产抵押后再申请" in page
    assert "客户经理电话联系" in page
    assert "内部" not in page and "内部备注" not in page


def test_decline_through_the_page(db, clock, client_as):
    lead, mgr = claimed_lead()
    client = client_as("bank_manager", institution=lead.institution).application.test_client(
        user=mgr)
    db.session.commit()
    response = client.post(f"/leads/{lead.id}/decline", data={"reason": "other", "text": ""})
    assert response.status_code == 400 and "原因为“其他”时须填写具体说明" in response.text
    response = client.post(f"/leads/{lead.id}/decline", data={"reason": "credit_history"})
    assert response.status_code == 400 and "请先登记与企业的联系" in response.text
    assert 'data-field="no_contact_reason"' in response.text  # beside its field
    response = client.post(f"/leads/{lead.id}/decline", data={
        "reason": "credit_history", "no_contact_reason": "企业留的手机号为空号，座机无人接听"})
    assert response.status_code == 302 and lead.status == "declined"
    claim = lead.last_claim
    assert claim.contacted_at is None and claim.no_contact_reason.startswith("企业留的手机号")
    assert_audited("lead.declined", lead, reason="credit_history", contacted=False)


def test_a_decline_without_contact_is_no_on_time_contact(db, clock):
    """Finding 3: claim, decline in three taps, no contact: the figure organizers supervise
    must not say 100 % on-time contact."""
    from matchmaker.leads import pipeline, service

    lead, mgr = claimed_lead()
    outcomes.decline_lead(mgr, lead, "insufficient_collateral", no_contact_reason="无法接通")
    figures = pipeline.pipeline(institution_id=lead.institution_id)
    assert (figures.total.contact_counted, figures.total.contact_on_time) == (1, 0)
    assert figures.total.contact_sla == 0.0
    assert service.lead_response_record()[lead.institution_id] == 0.0


def test_withdraw_needs_a_reason(db, clock):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match="请填写终止对接的原因"):
        outcomes.withdraw_lead(mgr, lead, "")
    outcomes.withdraw_lead(mgr, lead, "企业表示已通过其他渠道解决")
    assert lead.status == "withdrawn" and lead.outcome_note == "企业表示已通过其他渠道解决"
    assert_audited("lead.withdrawn", lead)


def test_no_second_decision(db, clock):
    lead, mgr = claimed_lead()
    outcomes.decline_lead(mgr, lead, "weak_financials", no_contact_reason="无法接通")
    with pytest.raises(ServiceError, match="只有认领该线索的客户经理可以登记审批结果"):
        _approve(lead, mgr)


# --- the enterprise confirms and rates -------------------------------------------------------

def test_confirm_funding_closes_the_loop(db, clock, client_as):
    need = NeedFactory()
    lead, mgr = claimed_lead(need=need)
    rival, _rival_mgr = claimed_lead(need=need)
    _approve(lead, mgr)
    client = client_as("enterprise", enterprise=need.enterprise)
    db.session.commit()
    refused = client.post(f"/leads/{lead.id}/confirm", data={})
    assert refused.status_code == 400 and "请为服务打分（1–5星）" in refused.text
    response = client.post(f"/leads/{lead.id}/confirm", data={"rating": "5",
                                                              "comment": "响应很快"})
    assert response.status_code == 302
    assert (lead.status, lead.rating, need.status) == ("funded", 5, "funded")
    assert lead.funded_at is not None and need.enterprise.has_bank_loan
    assert rival.status == "closed" and rival.last_claim.status == "closed"
    assert_audited("lead.funded", lead)
    assert_audited("lead.rated", lead, rating=5)
    assert_audited("lead.closed", rival)
    bank_page = client_as("bank_manager", institution=lead.institution).get(
        f"/leads/{lead.id}").text
    assert "企业已于" in bank_page and "响应很快" in bank_page


def test_confirm_only_an_approved_lead(db, clock):
    lead, _mgr = claimed_lead()
    with pytest.raises(ServiceError, match="只有已批准的线索可以确认放款"):
        outcomes.confirm_funding(owner(lead.need), lead, 5)


def test_rate_a_declined_lead_once(db, clock, client_as):
    lead, mgr = claimed_lead()
    with pytest.raises(ServiceError, match="对接结束后才能评价"):
        outcomes.rate_lead(owner(lead.need), lead, 3)
    outcomes.decline_lead(mgr, lead, "outside_policy", no_contact_reason="无法接通")
    with pytest.raises(ServiceError, match="请为服务打分"):
        outcomes.rate_lead(owner(lead.need), lead, 6)
    outcomes.rate_lead(owner(lead.need), lead, 2, "等了很久")
    assert lead.rating == 2
    with pytest.raises(ServiceError, match="您已评价过该机构的服务"):
        outcomes.rate_lead(owner(lead.need), lead, 3)
    client = client_as("enterprise", enterprise=lead.need.enterprise)
    assert "您的评价" in client.get(f"/leads/{lead.id}/progress").text


def test_another_enterprise_cannot_confirm(db, clock, client_as):
    lead, mgr = claimed_lead()
    _approve(lead, mgr)
    assert client_as("enterprise").post(f"/leads/{lead.id}/confirm",
                                        data={"rating": "5"}).status_code == 404
    assert lead.status == "approved"


def test_the_whole_timeline_for_the_enterprise(db, clock):
    lead, mgr = claimed_lead()
    claims.add_followup(mgr, lead, "visit", "内部记录")
    _approve(lead, mgr)
    outcomes.confirm_funding(owner(lead.need), lead, 4)
    titles = [item.title for item in queries.public_timeline(lead)]
    inst = lead.institution.name
    assert titles == [f"授权{inst}查看", f"需求已推送至{inst}", f"{inst}客户经理{mgr.name}已接单",
                      "客户经理上门走访", f"{inst}已批准", "您已确认放款到账", "您评价了服务：4星"]
