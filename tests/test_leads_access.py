"""Every leads and notifications route × every role (200, login redirect, 403), and another
tenant's object, a lapsed lead, a revoked lead: 404."""
from datetime import date

import pytest
from flask import url_for

from matchmaker.accounts.models import User
from matchmaker.extensions import db as _db
from matchmaker.leads import claims, push
from matchmaker.leads import consent as consents
from matchmaker.leads.permissions import can_view_lead, visible_leads
from matchmaker.notifications.service import notify
from matchmaker.policy.models import WorkdayOverride
from tests.conftest import ROLES, shared_data
from tests.factories import InstitutionFactory, user_for_role
from tests.test_leads_helpers import manager, owner, pushed_lead

GET_ALLOWED = {
    "leads.index": {"bank_manager", "bank_admin"},
    "leads.show": {"bank_manager", "bank_admin"},
    "leads.pipeline": {"bank_admin", "organizer"},
    "leads.team_page": {"bank_admin"},
    "leads.supervision": {"organizer"},
    "leads.push": {"enterprise"},
    "leads.progress": {"enterprise", "organizer"},
    "policy.workdays_page": {"admin"},
    "notifications.index": {"enterprise", "bank_manager", "bank_admin", "organizer", "admin"},
}
POST_ALLOWED = {
    "leads.claim": {"bank_manager"},
    "leads.release": {"bank_manager", "bank_admin"},
    "leads.assign": {"bank_admin"},
    "leads.deactivate_member": {"bank_admin"},
    "leads.reactivate_member": {"bank_admin"},
    "leads.add_followup": {"bank_manager"},
    "leads.approve": {"bank_manager"},
    "leads.decline": {"bank_manager"},
    "leads.withdraw": {"bank_manager"},
    "leads.supervise": {"organizer"},
    "leads.supervise_lead": {"organizer"},
    "leads.push": {"enterprise"},
    "leads.push_next": {"enterprise"},
    "leads.revoke_consent": {"enterprise"},
    "leads.withdraw_flag_consent": {"enterprise"},
    "leads.confirm_funding": {"enterprise"},
    "leads.rate": {"enterprise"},
    "policy.workdays_page": {"admin"},
    "policy.delete_workday": {"admin"},
    "notifications.open_": {"enterprise", "bank_manager", "bank_admin", "organizer", "admin"},
    "notifications.read_all": {"enterprise", "bank_manager", "bank_admin", "organizer",
                               "admin"},
    "notifications.preferences": {"enterprise", "bank_manager", "bank_admin", "organizer",
                                  "admin"},
}


def _setup(app, role):
    """A lead of the user's own institution / on the user's own need, claimed when the user
    is a manager, escalated for the organizers; a notification of the user.
    Returns the user's id (None: anonymous) and the URL of every endpoint."""
    lead = pushed_lead()
    fields = {}
    if role in ("bank_manager", "bank_admin"):
        fields["institution"] = lead.institution
    if role == "enterprise":
        fields["enterprise"] = lead.need.enterprise
    user = None if role == "anonymous" else user_for_role(role, **fields)
    holder = user if role == "bank_manager" else manager(lead.institution)
    claim = claims.claim_lead(holder, lead)
    claim.escalated_at = claim.claimed_at
    note = notify(user or holder, "lead.opened", "新线索", "/leads/")
    _db.session.flush()
    urls = {}
    with app.test_request_context():
        for endpoint in set(GET_ALLOWED) | set(POST_ALLOWED):
            urls[endpoint] = url_for(
                endpoint, lead_id=lead.id, need_id=lead.need_id, claim_id=claim.id,
                consent_id=consents.live_consent(lead.need_id, lead.institution_id).id,
                day="2027-01-01", notification_id=note.id, user_id=holder.id)
    return (user.id if user else None), urls


def _per_role(app):
    """Each role's own lead, user and URLs (see _setup) and an override day, built once for
    the module; each test runs in a savepoint rolled back after it."""
    _db.session.add(WorkdayOverride(day=date(2027, 1, 1), is_working=False))
    return {role: _setup(app, role) for role in ROLES}


roles = shared_data(_per_role)
# every test of the module in a savepoint of the one connection: on SQLite a second
# connection would wait for the module's open transaction
pytestmark = pytest.mark.usefixtures("module_connection")


def _client(app, user_id):
    user = _db.session.get(User, user_id) if user_id else None
    return app.test_client(user=user) if user else app.test_client()


def _assert_status(status, location, role, allowed):
    if role in allowed:
        assert status not in (403, 404) and "/login" not in location, status
    elif role == "anonymous":
        assert status in (302, 303) and "/login" in location, status
    else:
        assert status == 403, status


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(GET_ALLOWED))
def test_get_access(app, roles, db, role, endpoint):
    user_id, urls = roles[role]
    client = _client(app, user_id)
    response = client.get(urls[endpoint])
    _assert_status(response.status_code, response.headers.get("Location", ""), role,
                   GET_ALLOWED[endpoint])
    if role in GET_ALLOWED[endpoint]:
        assert response.status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(POST_ALLOWED))
def test_post_access(app, roles, db, role, endpoint):
    user_id, urls = roles[role]   # built once, committed into the module's transaction
    client = _client(app, user_id)
    response = client.post(urls[endpoint], data={})
    _assert_status(response.status_code, response.headers.get("Location", ""), role,
                   POST_ALLOWED[endpoint])


def test_every_route_is_in_a_matrix(app):
    ours = {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(("leads.", "notifications.", "policy.")) and
            (not rule.endpoint.startswith("policy.") or "workday" in rule.endpoint)}
    assert ours == set(GET_ALLOWED) | set(POST_ALLOWED)


# --- another tenant's object: 404 -------------------------------------------------------------

BANK_LEAD_ROUTES = [("get", "/leads/{id}"), ("post", "/leads/{id}/claim"),
                    ("post", "/leads/{id}/release"), ("post", "/leads/{id}/followups"),
                    ("post", "/leads/{id}/approve"), ("post", "/leads/{id}/decline"),
                    ("post", "/leads/{id}/withdraw")]


@pytest.mark.parametrize("method,path", BANK_LEAD_ROUTES)
def test_another_institutions_lead_is_404(db, client_as, method, path):
    lead = pushed_lead()
    for role in ("bank_manager", "bank_admin"):
        client = client_as(role, institution=InstitutionFactory())
        if (role, method) == ("bank_admin", "post") and path.endswith(("claim", "followups",
                                                                       "approve", "decline",
                                                                       "withdraw")):
            continue  # 403 by role before the lead is looked up
        assert getattr(client, method)(path.format(id=lead.id)).status_code == 404


@pytest.mark.parametrize("method,path", BANK_LEAD_ROUTES)
def test_lapsed_lead_is_404_for_the_bank(db, client_as, method, path):
    lead = pushed_lead()
    lead.status = "lapsed"
    client = client_as("bank_manager", institution=lead.institution)
    assert getattr(client, method)(path.format(id=lead.id)).status_code == 404


@pytest.mark.parametrize("method,path", BANK_LEAD_ROUTES)
def test_revoked_lead_is_404_for_the_bank(db, client_as, method, path):
    lead = pushed_lead()
    push.revoke_consent(owner(lead.need),
                           consents.live_consent(lead.need_id, lead.institution_id))
    client = client_as("bank_manager", institution=lead.institution)
    assert getattr(client, method)(path.format(id=lead.id)).status_code == 404


def test_lead_of_a_draft_need_is_404(db, client_as):
    lead = pushed_lead()
    lead.need.status = "draft"
    client = client_as("bank_manager", institution=lead.institution)
    assert client.get(f"/leads/{lead.id}").status_code == 404


ENTERPRISE_ROUTES = [("get", "/leads/needs/{need}/push"), ("post", "/leads/needs/{need}/push"),
                     ("get", "/leads/{id}/progress"), ("post", "/leads/{id}/confirm"),
                     ("post", "/leads/{id}/rate"), ("post", "/leads/consents/{consent}/revoke"),
                     ("post", "/leads/needs/{need}/withdraw-consent")]


@pytest.mark.parametrize("method,path", ENTERPRISE_ROUTES)
def test_another_enterprises_need_is_404(db, client_as, method, path):
    lead = pushed_lead()
    consent = consents.live_consent(lead.need_id, lead.institution_id)
    client = client_as("enterprise")
    url = path.format(need=lead.need_id, id=lead.id, consent=consent.id)
    assert getattr(client, method)(url).status_code == 404


def test_organizer_of_another_district_gets_404(db, client_as):
    lead = pushed_lead()
    district = lead.need.enterprise.district
    other = "渝中区" if district != "渝中区" else "江北区"
    assert client_as("organizer", district=other).get(
        f"/leads/{lead.id}/progress").status_code == 404
    assert client_as("organizer", district=district).get(
        f"/leads/{lead.id}/progress").status_code == 200


def test_organizer_may_look_but_not_act_for_the_enterprise(db, client_as):
    lead = pushed_lead()
    organizer = client_as("organizer")
    assert organizer.post(f"/leads/{lead.id}/confirm", data={"rating": "5"}).status_code == 403
    page = organizer.get(f"/needs/{lead.need_id}").text
    assert "撤回授权" not in page and lead.institution.name in page


def test_another_users_notification_is_404(db, client_as):
    lead = pushed_lead()
    mgr = manager(lead.institution)
    note = notify(mgr, "lead.opened", "新线索", "/leads/")
    _db.session.flush()
    client = client_as("bank_manager", institution=lead.institution)
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    assert note.read_at is None


def test_visible_leads_and_can_view_lead_agree(db):
    institution = InstitutionFactory()
    mgr = manager(institution)
    leads = [pushed_lead(institution=institution) for _ in range(5)] + [pushed_lead()]
    leads[1].status = "lapsed"
    leads[2].need.status = "draft"
    push.revoke_consent(owner(leads[3].need),
                           consents.live_consent(leads[3].need_id, institution.id))
    claims.claim_lead(manager(institution), leads[4])
    visible = set(_db.session.scalars(visible_leads(mgr)).all())
    for lead in leads:
        assert (lead in visible) == can_view_lead(mgr, lead), lead.id
    assert visible == {leads[0], leads[4]}
    for role in ("enterprise", "organizer", "admin"):
        assert _db.session.scalars(visible_leads(user_for_role(role))).all() == []
