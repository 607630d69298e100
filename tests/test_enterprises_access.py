"""Every route of the enterprises blueprint × every role: allowed, login redirect, 403; and
another tenant's object answers 404."""
import pytest
from flask import url_for

from matchmaker.accounts.models import User
from matchmaker.enterprises.models import Need
from matchmaker.extensions import db as _db
from tests.conftest import ROLES, shared_data
from tests.factories import EnterpriseFactory, NeedFactory, user_for_role
from tests.test_enterprise_claims import MEMBER_ROUTES

GET_ALLOWED = {
    "enterprises.profile": {"enterprise"},
    "enterprises.edit_profile": {"enterprise"},
    "enterprises.needs": {"enterprise"},
    "enterprises.new_need": {"enterprise"},
    "enterprises.need": {"enterprise", "organizer"},
    "enterprises.edit_need": {"enterprise"},
    "enterprises.search": {"organizer"},
    "enterprises.show": {"organizer"},
    "enterprises.import_upload": {"organizer"},
    "enterprises.import_template": {"organizer"},
    "enterprises.registrations": {"organizer"},
    "enterprises.core_enterprise_suggest": {"enterprise", "bank_manager", "bank_admin",
                                            "organizer", "admin"},
    # public reference data (GB/T 4754): the registration form uses it before any login
    "enterprises.industry_search": {"anonymous", "enterprise", "bank_manager", "bank_admin",
                                    "organizer", "admin"},
}
POST_ALLOWED = {
    "enterprises.edit_profile": {"enterprise"},
    "enterprises.new_need": {"enterprise"},
    "enterprises.edit_need": {"enterprise"},
    "enterprises.change_need_status": {"enterprise", "organizer"},
    "enterprises.verify_tag": {"organizer"},
    "enterprises.set_ownership": {"organizer"},
    "enterprises.import_upload": {"organizer"},
    "enterprises.import_commit": {"organizer"},
    "enterprises.confirm_registration": {"organizer"},
    "enterprises.refuse_registration": {"organizer"},
}


def _setup(role):
    need = NeedFactory(status="published")
    need.enterprise.tags = ["high_tech"]
    fields = {"enterprise": need.enterprise} if role == "enterprise" else {}
    user = None if role == "anonymous" else user_for_role(role, **fields)
    return need.id, (user.id if user else None)


def _per_role(app):
    """Each role's own published need (and user), built once for the module; each test runs
    in a savepoint rolled back after it (tests/README.md)."""
    built = {role: _setup(role) for role in ROLES}
    _db.session.flush()
    return built


roles = shared_data(_per_role)
pytestmark = pytest.mark.usefixtures("module_connection")


def _loaded(app, roles, role):
    need_id, user_id = roles[role]
    user = _db.session.get(User, user_id) if user_id else None
    return (_db.session.get(Need, need_id),
            app.test_client(user=user) if user else app.test_client())


def _url(app, endpoint, need):
    with app.test_request_context():
        return url_for(endpoint, need_id=need.id, enterprise_id=need.enterprise_id,
                       code="high_tech", q="长安")


def _assert_status(status, location, role, allowed):
    if role in allowed:
        assert status not in (403, 404) and "/login" not in location, status
    elif role == "anonymous":
        assert status in (302, 303) and "/login" in location
    else:
        assert status == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(GET_ALLOWED))
def test_get_access(app, roles, db, role, endpoint):
    need, client = _loaded(app, roles, role)
    response = client.get(_url(app, endpoint, need))
    if role in GET_ALLOWED[endpoint]:
        assert response.status_code == 200
    _assert_status(response.status_code, response.headers.get("Location", ""), role,
                   GET_ALLOWED[endpoint])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(POST_ALLOWED))
def test_post_access(app, roles, db, role, endpoint):
    need, client = _loaded(app, roles, role)   # committed into the module's transaction
    to = "closed" if role == "organizer" else "withdrawn"  # a move this role may make
    response = client.post(_url(app, endpoint, need), data={"to": to, "reason": "测试"})
    _assert_status(response.status_code, response.headers.get("Location", ""), role,
                   POST_ALLOWED[endpoint])


def test_every_enterprises_route_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.startswith("enterprises.")}
    # the enterprise's users (first-user invitation, claim requests): their role × route
    # matrix, applicant included, is tests/test_enterprise_claims.py
    assert endpoints == set(GET_ALLOWED) | set(POST_ALLOWED) | set(MEMBER_ROUTES)


@pytest.mark.parametrize("endpoint", ["enterprises.need", "enterprises.edit_need"])
def test_other_enterprises_need_is_404(app, db, client_as, endpoint):
    other = NeedFactory()
    client = client_as("enterprise", enterprise=EnterpriseFactory())
    assert client.get(_url(app, endpoint, other)).status_code == 404


def test_other_enterprises_need_status_change_is_404(app, db, client_as):
    other = NeedFactory(status="published")
    client = client_as("enterprise", enterprise=EnterpriseFactory())
    response = client.post(_url(app, "enterprises.change_need_status", other),
                           data={"to": "withdrawn", "reason": "x"})
    assert response.status_code == 404 and other.status == "published"


@pytest.mark.parametrize("endpoint,method", [
    ("enterprises.show", "get"), ("enterprises.need", "get"),
    ("enterprises.verify_tag", "post"), ("enterprises.change_need_status", "post"),
    ("enterprises.set_ownership", "post")])
def test_other_district_is_404_for_district_organizer(app, db, client_as, endpoint, method):
    need = NeedFactory(enterprise=EnterpriseFactory(district="璧山区"), status="published")
    need.enterprise.tags = ["high_tech"]
    client = client_as("organizer", district="永川区")
    url = _url(app, endpoint, need)
    response = getattr(client, method)(url, data={"to": "in_progress", "verified": "1",
                                                  "ownership": "private"})
    assert response.status_code == 404
    assert need.status == "published" and need.enterprise.ownership is None


def test_city_organizer_sees_every_district(app, db, client_as):
    need = NeedFactory(enterprise=EnterpriseFactory(district="城口县"))
    client = client_as("organizer")
    assert client.get(_url(app, "enterprises.need", need)).status_code == 200
    assert client.get(_url(app, "enterprises.show", need)).status_code == 200


def test_enterprise_colleague_sees_company_needs(app, db, client_as):
    need = NeedFactory()
    colleague = client_as("enterprise", enterprise=need.enterprise, is_enterprise_admin=False)
    assert colleague.get(_url(app, "enterprises.need", need)).status_code == 200
