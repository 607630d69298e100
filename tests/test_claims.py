"""Claiming (接单): one manager per institution per lead, K institutions per need, deadlines in
working days, the need going in_progress, releasing."""
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matchmaker.errors import ServiceError
from matchmaker.leads import claims, outcomes, push, service
from matchmaker.leads.models import Claim
from matchmaker.policy.models import Setting
from tests.factories import NeedFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_leads_helpers import china, freeze, manager, matched, owner, pushed_lead


def test_claim_sets_deadlines_and_moves_the_need(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 25, 16))  # a Wednesday
    lead = pushed_lead()
    mgr = manager(lead.institution)
    claim = claims.claim_lead(mgr, lead)
    assert (claim.status, lead.status) == ("claimed", "claimed")
    assert claim.contact_due == date(2026, 11, 27)  # Thu, Fri
    assert claim.decision_due == date(2026, 12, 9)  # 10 working days, weekends skipped
    assert lead.need.status == "in_progress"
    assert_audited("lead.claimed", lead, claim_id=claim.id, contact_due="2026-11-27")
    assert_audited("need.status_changed", lead.need)


def test_deadlines_follow_the_settings(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 25))
    db.session.get(Setting, "first_contact_working_days").value = 1
    db.session.get(Setting, "decision_working_days").value = 5
    lead = pushed_lead()
    claim = claims.claim_lead(manager(lead.institution), lead)
    assert (claim.contact_due, claim.decision_due) == (date(2026, 11, 26), date(2026, 12, 2))


def test_second_manager_of_the_same_institution_is_refused(db, client_as):
    lead = pushed_lead()
    claims.claim_lead(manager(lead.institution), lead)
    with pytest.raises(ServiceError, match="本机构已有客户经理认领该线索"):
        claims.claim_lead(manager(lead.institution), lead)
    client = client_as("bank_manager", institution=lead.institution)
    db.session.commit()  # the refused request rolls back to here (a savepoint of the test)
    page = client.post(f"/leads/{lead.id}/claim", follow_redirects=True)
    assert "本机构已有客户经理认领该线索" in page.text
    assert len(db.session.scalars(select(Claim).where(Claim.lead_id == lead.id)).all()) == 1


def test_the_database_refuses_a_second_live_claim(db):
    lead = pushed_lead()
    first = claims.claim_lead(manager(lead.institution), lead)
    twin = Claim(lead_id=lead.id, need_id=lead.need_id, institution_id=lead.institution_id,
                 manager_id=manager(lead.institution).id, contact_due=first.contact_due,
                 decision_due=first.decision_due)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(twin)
        db.session.flush()


def test_at_most_k_institutions_per_need(db, client_as):
    need = NeedFactory()
    leads = [pushed_lead(need=need) for _ in range(4)]
    for lead in leads[:3]:
        claims.claim_lead(manager(lead.institution), lead)
    with pytest.raises(ServiceError, match="该需求已有3家机构接单，暂不能认领"):
        claims.claim_lead(manager(leads[3].institution), leads[3])
    client = client_as("bank_manager", institution=leads[3].institution)
    db.session.commit()
    page = client.post(f"/leads/{leads[3].id}/claim", follow_redirects=True)
    assert "该需求已有3家机构接单，暂不能认领" in page.text
    assert leads[3].status == "open"


def test_k_is_a_setting(db):
    db.session.get(Setting, "claim_limit_per_need").value = 1
    need = NeedFactory()
    first, second = pushed_lead(need=need), pushed_lead(need=need)
    claims.claim_lead(manager(first.institution), first)
    with pytest.raises(ServiceError, match="该需求已有1家机构接单"):
        claims.claim_lead(manager(second.institution), second)


def test_a_slot_frees_up_when_a_claim_ends(db):
    db.session.get(Setting, "claim_limit_per_need").value = 1
    need = NeedFactory()
    first, second = pushed_lead(need=need), pushed_lead(need=need)
    holder = manager(first.institution)
    claims.claim_lead(holder, first)
    outcomes.decline_lead(holder, first, "weak_financials", no_contact_reason="企业电话停机")
    assert need.status == "published"  # back on the market
    claims.claim_lead(manager(second.institution), second)
    assert need.status == "in_progress"


@pytest.mark.parametrize("status", ["withdrawn", "closed", "expired", "funded"])
def test_claim_refused_when_the_need_left_the_market(db, status):
    lead = pushed_lead()
    lead.need.status = status
    with pytest.raises(ServiceError, match="不能认领"):
        claims.claim_lead(manager(lead.institution), lead)


def test_bank_admin_cannot_claim(db, client_as):
    lead = pushed_lead()
    admin = user_for_role("bank_admin", institution=lead.institution)
    with pytest.raises(ServiceError, match="您不能认领该线索"):
        claims.claim_lead(admin, lead)
    assert client_as("bank_admin", institution=lead.institution).post(
        f"/leads/{lead.id}/claim").status_code == 403


def test_release_by_holder_and_by_admin(db, client_as):
    lead = pushed_lead()
    holder = manager(lead.institution)
    claim = claims.claim_lead(holder, lead)
    claims.release_claim(holder, lead, "客户不在本行服务区域")
    assert (claim.status, lead.status, lead.need.status) == ("released", "open", "published")
    assert_audited("lead.released", lead, reason="客户不在本行服务区域")
    other = manager(lead.institution)
    claims.claim_lead(other, lead)  # back to the institution's pool
    admin = client_as("bank_admin", institution=lead.institution)
    response = admin.post(f"/leads/{lead.id}/release", follow_redirects=True)
    assert "已放弃认领" in response.text and lead.status == "open"


def test_only_holder_or_admin_may_release(db, client_as):
    lead = pushed_lead()
    claims.claim_lead(manager(lead.institution), lead)
    client = client_as("bank_manager", institution=lead.institution)
    response = client.post(f"/leads/{lead.id}/release", follow_redirects=True)
    assert "您不能放弃该线索的认领" in response.text
    assert lead.live_claim is not None


def test_claim_tells_the_enterprise_by_mail(db, client_as, outbox):
    from email import message_from_bytes, policy

    lead = pushed_lead()
    user = owner(lead.need)
    client = client_as("bank_manager", institution=lead.institution)
    client.post(f"/leads/{lead.id}/claim")
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default)
             for p in outbox.glob("*.eml")]
    colleagues = {u.email for u in service.enterprise_users(lead.need)}
    assert user.email in colleagues and {m["To"] for m in mails} == colleagues
    assert "已接单您的需求" in mails[0]["Subject"]
    assert f"/leads/{lead.id}/progress" in mails[0].get_content()


def test_no_mail_when_the_claim_fails(db, client_as, outbox):
    db.session.get(Setting, "claim_limit_per_need").value = 1
    need = NeedFactory()
    first, second = pushed_lead(need=need), pushed_lead(need=need)
    owner(need)
    claims.claim_lead(manager(first.institution), first)
    db.session.commit()  # a savepoint in the test transaction; the mail of this claim goes out
    for old in outbox.glob("*.eml"):
        old.unlink()
    client = client_as("bank_manager", institution=second.institution)
    db.session.commit()
    client.post(f"/leads/{second.id}/claim")
    assert list(outbox.glob("*.eml")) == []


def test_claim_is_visible_on_the_enterprise_progress_page(db, client_as, monkeypatch):
    freeze(monkeypatch, china(2026, 9, 30))
    lead = pushed_lead()
    mgr = manager(lead.institution, phone="023-12345678")
    claims.claim_lead(mgr, lead)
    page = client_as("enterprise", enterprise=lead.need.enterprise).get(
        f"/leads/{lead.id}/progress").text
    assert mgr.name in page and "023-12345678" in page
    assert "承诺 2026-10-09 前首次联系您" in page  # across 国庆


def test_a_need_with_matches_from_one_institution_only(db):
    need, institution, _ = matched()
    lead = push.push_need(owner(need), need, [institution.id], [])[0]
    assert claims.claim_lead(manager(institution), lead).status == "claimed"
