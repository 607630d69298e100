"""`matchmaker leads sweep` with a frozen clock: lapsing claims with no contact in time,
escalating overdue decisions to the 督办 list, closing leads of needs that ended, and the
institution's on-time record."""

import pytest
from sqlalchemy import select

from matchmaker.enterprises.service import change_status
from matchmaker.extensions import db as _db
from matchmaker.leads import claims, outcomes, queries, service, supervision
from matchmaker.leads.models import Claim
from matchmaker.notifications.models import Notification
from tests.factories import NeedFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_leads_helpers import china, claimed_lead, freeze, manager, owner, pushed_lead


def _kinds(user) -> list[str]:
    return list(_db.session.scalars(select(Notification.kind).where(
        Notification.user_id == user.id)))


@pytest.fixture
def claimed_before_national_day(db, monkeypatch):
    """Claimed Wed 30 Sep 2026: contact due Fri 9 Oct, decision due Tue 20 Oct."""
    freeze(monkeypatch, china(2026, 9, 30, 10))
    lead, mgr = claimed_lead()
    admin = user_for_role("bank_admin", institution=lead.institution)
    return lead, mgr, admin


def test_nothing_lapses_during_the_holiday(claimed_before_national_day, monkeypatch):
    lead, _mgr, _admin = claimed_before_national_day
    freeze(monkeypatch, china(2026, 10, 9, 23))
    assert supervision.sweep().lapsed == []  # the last day of the allowance is still allowed
    assert lead.status == "claimed"


def test_no_contact_in_time_lapses(claimed_before_national_day, monkeypatch, client_as):
    lead, mgr, admin = claimed_before_national_day
    need = lead.need
    freeze(monkeypatch, china(2026, 10, 10, 1))
    report = supervision.sweep()
    claim = lead.last_claim
    assert report.lapsed == [claim]
    assert (claim.status, lead.status) == ("lapsed", "lapsed")
    assert need.status == "published"  # back to the pool
    assert_audited("lead.lapsed", lead, claim_id=claim.id, contact_due="2026-10-09")
    assert "lead.lapsed" in _kinds(mgr) and "lead.lapsed" in _kinds(admin)
    # the lapsed lead is gone for the bank, and the record counts it
    client = client_as("bank_manager", institution=lead.institution)
    assert client.get(f"/leads/{lead.id}").status_code == 404
    assert service.lead_response_record()[lead.institution_id] == 0.0
    # the enterprise sees what happened
    titles = [i.title for i in queries.public_timeline(lead)]
    assert f"{lead.institution.name}未在时限内联系您" in titles
    assert supervision.sweep().lapsed == []  # idempotent


def test_another_institution_can_claim_after_a_lapse(claimed_before_national_day,
                                                     monkeypatch):
    lead, _mgr, _admin = claimed_before_national_day
    from matchmaker.policy.models import Setting

    _db.session.get(Setting, "claim_limit_per_need").value = 1
    other = pushed_lead(need=lead.need)
    freeze(monkeypatch, china(2026, 10, 12))
    supervision.sweep()
    assert claims.claim_lead(manager(other.institution), other).status == "claimed"


def test_contact_in_time_prevents_the_lapse(claimed_before_national_day, monkeypatch):
    lead, mgr, _admin = claimed_before_national_day
    freeze(monkeypatch, china(2026, 10, 9, 18))
    claims.add_followup(mgr, lead, "call")
    freeze(monkeypatch, china(2026, 10, 12))
    assert supervision.sweep().lapsed == []
    assert service.lead_response_record()[lead.institution_id] == 1.0


def test_overdue_decision_is_escalated_once(claimed_before_national_day, monkeypatch,
                                            client_as):
    lead, mgr, admin = claimed_before_national_day
    claims.add_followup(mgr, lead, "visit")
    freeze(monkeypatch, china(2026, 10, 20, 22))
    assert supervision.sweep().escalated == []  # due today: not yet
    freeze(monkeypatch, china(2026, 10, 21, 2))
    report = supervision.sweep()
    claim = lead.last_claim
    assert report.escalated == [claim] and claim.escalated_at is not None
    assert claim.status == "contacted"  # still the bank's to answer
    assert_audited("lead.escalated", lead, decision_due="2026-10-20")
    assert "lead.escalated" in _kinds(admin)
    assert supervision.sweep().escalated == []
    # on the organizers' 督办 list (the enterprise's district, and city level)
    district = lead.need.enterprise.district
    for organizer in (client_as("organizer"), client_as("organizer", district=district)):
        page = organizer.get("/leads/supervision").text
        assert f'data-testid="supervision-{claim.id}"' in page
    elsewhere = client_as("organizer", district="渝中区" if district != "渝中区" else "江北区")
    assert f'data-testid="supervision-{claim.id}"' not in elsewhere.get(
        "/leads/supervision").text


def test_organizer_records_the_supervision(claimed_before_national_day, monkeypatch,
                                           client_as):
    lead, mgr, admin = claimed_before_national_day
    claims.add_followup(mgr, lead, "visit")
    freeze(monkeypatch, china(2026, 10, 22))
    supervision.sweep()
    claim = lead.last_claim
    organizer = client_as("organizer")
    _db.session.commit()
    refused = organizer.post(f"/leads/claims/{claim.id}/supervise", data={"note": ""},
                             follow_redirects=True)
    assert "请填写督办情况" in refused.text
    organizer.post(f"/leads/claims/{claim.id}/supervise", data={"note": "已电话督促"})
    assert claim.supervision_note == "已电话督促" and claim.supervised_at is not None
    assert_audited("lead.supervised", lead, claim_id=claim.id)
    assert "lead.supervised" in _kinds(admin)
    # the decision takes it off the list
    outcomes.decline_lead(mgr, lead, "weak_financials")
    assert f'data-testid="supervision-{claim.id}"' not in organizer.get(
        "/leads/supervision").text
    assert organizer.post(f"/leads/claims/{claim.id}/supervise",
                          data={"note": "x"}).status_code == 404


def test_leads_of_ended_needs_close_at_once(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, mgr = claimed_lead()
    idle = pushed_lead(need=lead.need)
    change_status(owner(lead.need), lead.need, "withdrawn", "已通过其他渠道解决")
    assert lead.status == idle.status == "closed" and lead.last_claim.status == "closed"
    assert "lead.closed" in _kinds(mgr)
    assert supervision.sweep().closed == []  # nothing left for the cron to close


def test_sweep_command(app, db, monkeypatch):
    freeze(monkeypatch, china(2026, 9, 30))
    lead, _mgr = claimed_lead()
    result = app.test_cli_runner().invoke(args=["leads", "sweep", "--today", "2026-10-12"])
    assert result.exit_code == 0, result.output
    assert f"lead {lead.id}: claim" in result.output and "lapsed 1 claim(s)" in result.output
    assert lead.status == "lapsed"


def test_record_counts_only_settled_claims(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))  # Monday
    need = NeedFactory()
    on_time, mgr = claimed_lead(need=need)
    claims.add_followup(mgr, on_time, "call")
    late, late_mgr = claimed_lead(need=need)
    pending, _ = claimed_lead(need=NeedFactory(), institution=on_time.institution)
    freeze(monkeypatch, china(2026, 11, 6))  # Friday: past Wednesday's deadline
    claims.add_followup(late_mgr, late, "call")
    record = service.lead_response_record()
    assert record[on_time.institution_id] == 1.0  # the pending claim is not counted yet
    assert record[late.institution_id] == 0.0
    assert pending.institution_id == on_time.institution_id


def test_record_forgets_claims_older_than_180_days(db, monkeypatch):
    freeze(monkeypatch, china(2026, 1, 5))
    lead, _mgr = claimed_lead()
    freeze(monkeypatch, china(2026, 1, 20))
    supervision.sweep()
    assert lead.institution_id in service.lead_response_record()
    freeze(monkeypatch, china(2026, 7, 20))
    assert lead.institution_id not in service.lead_response_record()


def test_released_claim_is_not_held_against_the_institution(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, mgr = claimed_lead()
    claims.release_claim(mgr, lead)
    freeze(monkeypatch, china(2026, 11, 20))
    supervision.sweep()
    assert lead.institution_id not in service.lead_response_record()
    assert _db.session.scalars(select(Claim.status)).all()[-1] == "released"
