"""The service clock runs from the push (issue 17, finding 1): a pushed lead nobody claims
within `unclaimed_working_days` goes on the organizers' 督办 list, its bank admins are told,
the enterprise is offered its next-best institutions (one tap, the consent shown), and the
miss counts against the institution in the pipeline and the on-time record."""
import pytest
from sqlalchemy import select

from matchmaker.extensions import db as _db
from matchmaker.leads import claims, pipeline, service, supervision
from matchmaker.leads.models import Consent, Lead
from matchmaker.notifications.models import Notification
from matchmaker.policy.models import Setting
from tests.factories import InstitutionFactory, MatchFactory, ProductFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_leads_helpers import china, freeze, manager, owner, pushed_lead


def _kinds(user) -> list[str]:
    return list(_db.session.scalars(select(Notification.kind).where(
        Notification.user_id == user.id)))


@pytest.fixture
def pushed_before_national_day(db, monkeypatch):
    """Pushed Wed 30 Sep 2026: with 2 working days to claim, the holiday does not count, so
    the lead may be claimed until Fri 9 Oct."""
    freeze(monkeypatch, china(2026, 9, 30, 10))
    lead = pushed_lead()
    admin = user_for_role("bank_admin", institution=lead.institution)
    return lead, admin


def test_claim_due_counts_working_days_from_the_push(pushed_before_national_day, monkeypatch):
    lead, _admin = pushed_before_national_day
    assert str(lead.claim_due) == "2026-10-09"
    freeze(monkeypatch, china(2026, 10, 9, 23))
    assert supervision.sweep().unclaimed == []  # the last day is still allowed
    assert lead.unclaimed_at is None


def test_the_setting_moves_the_deadline(db, monkeypatch):
    _db.session.get(Setting, "unclaimed_working_days").value = 5
    freeze(monkeypatch, china(2026, 11, 2))  # a Monday
    assert str(pushed_lead().claim_due) == "2026-11-09"


def test_unclaimed_lead_is_escalated_once(pushed_before_national_day, monkeypatch, client_as):
    lead, admin = pushed_before_national_day
    enterprise = owner(lead.need)
    freeze(monkeypatch, china(2026, 10, 10, 1))
    report = supervision.sweep()
    assert report.unclaimed == [lead] and lead.unclaimed_at is not None
    assert lead.status == "open"  # still the bank's to claim
    assert_audited("lead.unclaimed", lead, claim_due="2026-10-09")
    assert "lead.unclaimed" in _kinds(admin) and "lead.unclaimed" in _kinds(enterprise)
    assert supervision.sweep().unclaimed == []  # idempotent
    # on the 督办 list of the city and of the enterprise's district, not elsewhere
    _db.session.commit()
    district = lead.need.enterprise.district
    for organizer in (client_as("organizer"), client_as("organizer", district=district)):
        assert f'data-testid="unclaimed-{lead.id}"' in organizer.get("/leads/supervision").text
    other = client_as("organizer", district="渝中区" if district != "渝中区" else "江北区")
    assert f'data-testid="unclaimed-{lead.id}"' not in other.get("/leads/supervision").text
    assert other.post(f"/leads/{lead.id}/supervise", data={"note": "x"}).status_code == 404


def test_a_claim_takes_it_off_the_list_but_the_miss_stays(pushed_before_national_day,
                                                        monkeypatch, client_as):
    lead, _admin = pushed_before_national_day
    freeze(monkeypatch, china(2026, 10, 12))
    supervision.sweep()
    organizer = client_as("organizer")
    _db.session.commit()
    organizer.post(f"/leads/{lead.id}/supervise", data={"note": "已电话督促"})
    assert lead.supervision_note == "已电话督促"
    assert_audited("lead.supervised", lead, unclaimed=True)
    mgr = manager(lead.institution)
    claims.claim_lead(mgr, lead)
    claims.add_followup(mgr, lead, "call")
    _db.session.commit()
    assert f'data-testid="unclaimed-{lead.id}"' not in organizer.get("/leads/supervision").text
    organizer.post(f"/leads/{lead.id}/supervise", data={"note": "再次督办"})
    assert lead.supervision_note == "已电话督促"  # off the list: nothing to supervise
    # counted against the institution: one on-time contact, one unclaimed push
    assert service.lead_response_record()[lead.institution_id] == 0.5
    figures = pipeline.pipeline(institution_id=lead.institution_id)
    assert (figures.total.unclaimed, figures.total.contact_counted,
            figures.total.contact_on_time) == (1, 2, 1)
    assert figures.total.contact_sla == 0.5
    page = client_as("organizer").get("/leads/pipeline").text
    assert "超时未认领" in page


def test_revoked_or_claimed_leads_are_not_escalated(pushed_before_national_day, monkeypatch):
    lead, _admin = pushed_before_national_day
    other = pushed_lead(need=lead.need)
    claims.claim_lead(manager(other.institution), other)
    consent = _db.session.scalar(select(Consent).where(Consent.need_id == lead.need_id,
                                                       Consent.institution_id ==
                                                       lead.institution_id))
    from matchmaker.leads import push
    push.revoke_consent(owner(lead.need), consent)
    freeze(monkeypatch, china(2026, 10, 12))
    assert supervision.sweep().unclaimed == []


def test_old_leads_without_a_claim_due_get_one(pushed_before_national_day, monkeypatch):
    lead, _admin = pushed_before_national_day
    lead.claim_due = None
    freeze(monkeypatch, china(2026, 10, 12))
    assert supervision.sweep().unclaimed == [lead]
    assert str(lead.claim_due) == "2026-10-09"


def test_enterprise_pushes_to_the_next_best_in_one_tap(pushed_before_national_day,
                                                      monkeypatch, app):
    lead, _admin = pushed_before_national_day
    need = lead.need
    better, worse = InstitutionFactory(), InstitutionFactory()
    MatchFactory(need=need, product=ProductFactory(institution=better), score=90)
    MatchFactory(need=need, product=ProductFactory(institution=worse), score=40)
    enterprise = owner(need)
    freeze(monkeypatch, china(2026, 10, 12))
    supervision.sweep()
    _db.session.commit()
    client = app.test_client(user=enterprise)
    page = client.get(f"/needs/{need.id}").text
    assert 'data-testid="next-best"' in page
    assert f'data-testid="push-next-{better.id}"' in page
    # the consent is shown beside the button: the fields the enterprise chose when pushing
    assert "统一社会信用代码" in page and "上年营业收入" in page and "纳税信用等级" not in page
    client.post(f"/leads/needs/{need.id}/push-next",
                data={"institution": better.id, "scope": ["uscc", "revenue"]})
    new = _db.session.scalar(select(Lead).where(Lead.need_id == need.id,
                                                Lead.institution_id == better.id))
    assert new is not None and new.status == "open"
    consent = _db.session.scalar(select(Consent).where(
        Consent.need_id == need.id, Consent.institution_id == better.id))
    assert consent.via == "push" and consent.granted_by_id == enterprise.id
    assert set(consent.scope) >= {"uscc", "revenue"} and "tax_credit_grade" not in consent.scope
    # not offered twice
    assert f'data-testid="push-next-{better.id}"' not in client.get(f"/needs/{need.id}").text


def test_push_next_access(pushed_before_national_day, monkeypatch, client_as):
    lead, _admin = pushed_before_national_day
    target = InstitutionFactory()
    MatchFactory(need=lead.need, product=ProductFactory(institution=target))
    _db.session.commit()
    url = f"/leads/needs/{lead.need_id}/push-next"
    data = {"institution": target.id, "scope": ["uscc"]}
    assert client_as("enterprise").post(url, data=data).status_code == 404  # another firm
    for role in ("bank_manager", "bank_admin", "organizer", "admin"):
        assert client_as(role).post(url, data=data).status_code == 403
    assert client_as("anonymous").post(url, data=data).status_code in (302, 401)
    assert _db.session.scalar(select(Lead).where(Lead.institution_id == target.id)) is None
