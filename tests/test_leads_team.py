"""The institution's team (issue 18): the roster with each manager's leads and on-time
figures, 派单 and 改派, a manager who leaves handing the leads back; audited; another
institution's lead or manager is 404."""
from sqlalchemy import select

from matchmaker.accounts import service as accounts
from matchmaker.audit.models import AuditEntry
from matchmaker.extensions import db as _db
from matchmaker.leads import claims
from matchmaker.leads.models import Claim
from tests.factories import InstitutionFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_leads_helpers import claimed_lead, manager, pushed_lead


def _admin(institution, **fields):
    return user_for_role("bank_admin", institution=institution, **fields)


def test_roster_lists_managers_with_their_open_leads(db, app):
    lead, holder = claimed_lead()
    idle = manager(lead.institution, name="闲置经理")
    manager(InstitutionFactory(), name="他行经理")
    page = app.test_client(user=_admin(lead.institution)).get("/leads/team")
    assert page.status_code == 200
    text = page.text
    assert holder.name in text and "闲置经理" in text and "他行经理" not in text
    assert f"/leads/{lead.id}" in text
    assert text.count('data-testid="member"') == 2
    assert idle.name in text


def test_the_admin_menu_opens_the_team_not_the_invitation_log(db, app):
    bank = InstitutionFactory()
    home = app.test_client(user=_admin(bank)).get("/home").text
    assert 'href="/leads/team"' in home


def test_assign_an_open_lead(db, app):
    lead = pushed_lead()
    admin, mgr = _admin(lead.institution), manager(lead.institution)
    _db.session.commit()
    response = app.test_client(user=admin).post(f"/leads/{lead.id}/assign",
                                                data={"manager_id": mgr.id})
    assert response.status_code == 302
    _db.session.refresh(lead)
    assert lead.status == "claimed" and lead.live_claim.manager_id == mgr.id
    assert_audited("lead.assigned", lead, manager_id=mgr.id)


def test_reassign_keeps_the_deadlines(db):
    lead, holder = claimed_lead()
    admin, other = _admin(lead.institution), manager(lead.institution)
    before = lead.live_claim
    dues = (before.contact_due, before.decision_due)
    claims.assign_lead(admin, lead, other)
    claim = lead.live_claim
    assert claim.id == before.id and claim.manager_id == other.id
    assert (claim.contact_due, claim.decision_due) == dues
    assert_audited("lead.reassigned", lead, from_manager_id=holder.id, manager_id=other.id)


def test_assign_refuses_another_banks_or_inactive_manager(db, app):
    lead = pushed_lead()
    admin = _admin(lead.institution)
    stranger = manager(InstitutionFactory())
    gone = manager(lead.institution, active=False)
    _db.session.commit()
    client = app.test_client(user=admin)
    for who in (stranger, gone):
        response = client.post(f"/leads/{lead.id}/assign", data={"manager_id": who.id})
        assert response.status_code == 400
        assert "客户经理" in response.text
    _db.session.refresh(lead)
    assert lead.status == "open" and lead.live_claim is None


def test_deactivating_a_manager_hands_the_leads_back(db, app):
    lead, holder = claimed_lead()
    admin = _admin(lead.institution)
    _db.session.commit()
    response = app.test_client(user=admin).post(f"/leads/team/{holder.id}/deactivate",
                                                data={"reason": "调岗"})
    assert response.status_code == 302
    _db.session.refresh(holder)
    _db.session.refresh(lead)
    assert not holder.active
    assert lead.status == "open" and lead.live_claim is None
    claim = _db.session.scalar(select(Claim).where(Claim.lead_id == lead.id))
    assert claim.status == "released"
    assert_audited("user.deactivated", holder, reason="调岗")
    assert_audited("lead.handed_back", lead, manager_id=holder.id)
    entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "lead.handed_back"))
    assert entry.actor_id == admin.id
    # the manager's session is over
    assert app.test_client(user=holder).get("/leads/").status_code in (302, 401)


def test_reactivate(db, app):
    bank = InstitutionFactory()
    gone = manager(bank, active=False)
    _db.session.commit()
    app.test_client(user=_admin(bank)).post(f"/leads/team/{gone.id}/reactivate")
    _db.session.refresh(gone)
    assert gone.active
    assert_audited("user.reactivated", gone)


def test_another_institutions_lead_or_manager_is_404(db, app):
    lead, holder = claimed_lead()
    other_admin = _admin(InstitutionFactory())
    _db.session.commit()
    client = app.test_client(user=other_admin)
    assert client.post(f"/leads/{lead.id}/assign",
                       data={"manager_id": holder.id}).status_code == 404
    assert client.post(f"/leads/team/{holder.id}/deactivate").status_code == 404
    assert client.post(f"/leads/team/{holder.id}/reactivate").status_code == 404
    _db.session.refresh(holder)
    assert holder.active


def test_a_manager_may_not_run_the_team(db, app):
    lead, holder = claimed_lead()
    colleague = manager(lead.institution)
    _db.session.commit()
    client = app.test_client(user=colleague)
    assert client.get("/leads/team").status_code == 403
    assert client.post(f"/leads/{lead.id}/assign",
                       data={"manager_id": colleague.id}).status_code == 403
    assert client.post(f"/leads/team/{holder.id}/deactivate").status_code == 403
    _db.session.refresh(holder)
    assert holder.active


def test_the_enterprise_sees_the_assignment_on_its_timeline(db, app):
    from matchmaker.leads.queries import public_timeline
    lead = pushed_lead()
    claims.assign_lead(_admin(lead.institution), lead, manager(lead.institution))
    titles = [i.title for i in public_timeline(lead)]
    assert any("已安排客户经理接单" in t for t in titles)


def test_deactivate_via_service_refuses_admin_of_other_bank(db):
    lead, holder = claimed_lead()
    import pytest

    from matchmaker.guards import Forbidden
    with pytest.raises(Forbidden):
        accounts.deactivate_member(_admin(InstitutionFactory()), holder)
    assert holder.active and lead.live_claim is not None
