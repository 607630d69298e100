"""Every route of the whitelists blueprint × every role: allowed, login redirect, 403; another
district's batch, another bank's push, another batch's entry or push answer 404; a district
edits only until it submits."""
from decimal import Decimal

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.extensions import db as _db
from matchmaker.institutions.models import Institution
from matchmaker.whitelists import pushing, rules
from matchmaker.whitelists.models import EnterpriseFlag, Push, Whitelist, WhitelistEntry
from tests.conftest import ROLES, shared_data
from tests.factories import user_for_role
from tests.test_whitelists_support import (
    OTHER_DISTRICT,
    bank,
    batch,
    city,
    district,
    entry,
    match,
    need_in,
    pushed_batch,
)

GET_ALLOWED = {
    "whitelists.index": {"organizer"},
    "whitelists.new": {"organizer"},
    "whitelists.show": {"organizer"},
    "whitelists.edit": {"organizer"},
    "whitelists.add_entries": {"organizer"},
    "whitelists.edit_entry": {"organizer"},
    "whitelists.import_template": {"organizer"},
    "whitelists.import_upload": {"organizer"},
    "whitelists.progress": {"organizer"},
    "whitelists.export": {"organizer"},
    "whitelists.history": {"organizer"},
    "whitelists.supervision": {"organizer"},
    "whitelists.flags": {"organizer"},
    "whitelists.bank_index": {"bank_manager", "bank_admin"},
    "whitelists.bank_push": {"bank_manager", "bank_admin"},
}
POST_ALLOWED = {
    "whitelists.new": {"organizer"},
    "whitelists.edit": {"organizer"},
    "whitelists.add_entry": {"organizer"},
    "whitelists.edit_entry": {"organizer"},
    "whitelists.remove_entry": {"organizer"},
    "whitelists.import_upload": {"organizer"},
    "whitelists.import_commit": {"organizer"},
    "whitelists.submit": {"organizer"},
    "whitelists.send_back": {"organizer"},
    "whitelists.propose": {"organizer"},
    "whitelists.add_push": {"organizer"},
    "whitelists.remove_push": {"organizer"},
    "whitelists.push": {"organizer"},
    "whitelists.close": {"organizer"},
    "whitelists.new_version": {"organizer"},
    "whitelists.supervise": {"organizer"},
    "whitelists.set_flag": {"organizer"},
    "whitelists.clear_flag": {"organizer"},
    "whitelists.record_disbursement": {"bank_manager", "bank_admin"},
}


def _build_world(app):
    """A city draft with an entry and a proposal (organizer pages), a pushed batch (bank
    pages, 督办), a flag. Built once for the module (ids); `world` loads it in each test's
    own savepoint."""
    town = city()
    _inst, product, _a, _m = bank()
    draft = batch(town)
    need = need_in()
    match(need, product)
    item = entry(town, draft, need)
    pushing.propose(town, draft)
    pushed, entries, banks, _ = pushed_batch(n_banks=1, n_entries=1, owner=town)
    flag = rules.set_flag(town, need_in().enterprise, "脱困中")
    _db.session.flush()
    return {"draft": draft.id, "entry": item.id, "proposal": item.pushes[0].id,
            "pushed": pushed.id, "sent": entries[0].pushes[0].id, "bank": banks[0][0].id,
            "flag": flag.id}


world_ids = shared_data(_build_world)
# every test of the module in a savepoint of the one connection (tests/README.md)
pytestmark = pytest.mark.usefixtures("module_connection")


@pytest.fixture
def world(db, world_ids):
    get, ids = db.session.get, world_ids
    return {"draft": get(Whitelist, ids["draft"]), "entry": get(WhitelistEntry, ids["entry"]),
            "proposal": get(Push, ids["proposal"]), "pushed": get(Whitelist, ids["pushed"]),
            "sent": get(Push, ids["sent"]), "bank": get(Institution, ids["bank"]),
            "flag": get(EnterpriseFlag, ids["flag"])}


def _url(app, endpoint, world, bank_side=False):
    push = world["sent"] if bank_side or endpoint == "whitelists.supervise" else world["proposal"]
    with app.test_request_context():
        return url_for(endpoint, whitelist_id=world["draft"].id, entry_id=world["entry"].id,
                       push_id=push.id, flag_id=world["flag"].id)


def _client(client_as, role, world):
    fields = {"institution": world["bank"]} if role in ("bank_manager", "bank_admin") else {}
    return client_as(role, **fields)


def _assert_status(status, location, role, allowed):
    if role in allowed:
        assert status not in (403, 404) and status < 500 and "/login" not in location, status
    elif role == "anonymous":
        assert status in (302, 303) and "/login" in location
    else:
        assert status == 403, status


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(GET_ALLOWED))
def test_get_access(app, db, client_as, world, role, endpoint):
    client = _client(client_as, role, world)
    db.session.commit()
    response = client.get(_url(app, endpoint, world, endpoint.startswith("whitelists.bank")))
    if role in GET_ALLOWED[endpoint]:
        assert response.status_code == 200, response.status_code
    _assert_status(response.status_code, response.headers.get("Location", ""), role,
                   GET_ALLOWED[endpoint])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(POST_ALLOWED))
def test_post_access(app, db, client_as, world, role, endpoint):
    client = _client(client_as, role, world)
    db.session.commit()  # refusals roll back the view's work
    response = client.post(_url(app, endpoint, world, endpoint == "whitelists.record_disbursement"),
                           data={"reason": "测试", "note": "测试",
                                 "enterprise_id": str(world["entry"].enterprise_id)})
    _assert_status(response.status_code, response.headers.get("Location", ""), role,
                   POST_ALLOWED[endpoint])


def test_every_whitelists_route_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()
                 if r.endpoint.startswith("whitelists.")}
    assert endpoints == set(GET_ALLOWED) | set(POST_ALLOWED)


# --- other tenants: 404 ------------------------------------------------------------------------

EDIT_PAGES = ("whitelists.edit", "whitelists.add_entries", "whitelists.import_upload",
              "whitelists.edit_entry")
ORGANIZER_PAGES = ("whitelists.show", "whitelists.edit", "whitelists.progress", "whitelists.export",
                   "whitelists.history", "whitelists.add_entries", "whitelists.import_upload",
                   "whitelists.edit_entry")


@pytest.mark.parametrize("endpoint", ORGANIZER_PAGES)
def test_another_districts_batch_is_404(app, db, client_as, endpoint):
    yongchuan = district()
    whitelist = batch(yongchuan)
    item = entry(yongchuan, whitelist, need_in())
    with app.test_request_context():
        url = url_for(endpoint, whitelist_id=whitelist.id, entry_id=item.id)
    assert client_as("organizer", district=OTHER_DISTRICT).get(url).status_code == 404
    assert client_as("organizer", district="永川区").get(url).status_code == 200
    # the city sees every batch; a district's draft it only reads (edit pages redirect)
    city_status = client_as("organizer").get(url).status_code
    assert city_status == (302 if endpoint in EDIT_PAGES else 200)


def test_a_district_does_not_see_city_batches(app, db, client_as):
    whitelist = batch(city())
    client = client_as("organizer", district="永川区")
    assert client.get(f"/whitelists/{whitelist.id}").status_code == 404
    assert client.post(f"/whitelists/{whitelist.id}/push").status_code == 404
    listing = client.get("/whitelists/")
    assert whitelist.title not in listing.text


@pytest.mark.parametrize("path", ["submit", "propose", "push", "close", "versions", "return"])
def test_another_districts_batch_refuses_actions_with_404(app, db, client_as, path):
    whitelist = batch(district())
    db.session.commit()
    response = client_as("organizer", district=OTHER_DISTRICT).post(
        f"/whitelists/{whitelist.id}/{path}", data={"reason": "x"})
    assert response.status_code == 404


def test_another_batchs_entry_and_push_are_404(app, db, client_as):
    town = city()
    _i, product, _a, _m = bank()
    first, second = batch(town), batch(town, title="另一批")
    need = need_in()
    match(need, product)
    item = entry(town, first, need)
    pushing.propose(town, first)
    client = client_as("organizer")
    assert client.get(f"/whitelists/{second.id}/entries/{item.id}/edit").status_code == 404
    assert client.post(f"/whitelists/{second.id}/entries/{item.id}/remove").status_code == 404
    assert client.post(f"/whitelists/{second.id}/pushes/{item.pushes[0].id}/remove"
                       ).status_code == 404


def test_another_banks_push_is_404(app, db, client_as):
    _whitelist, entries, _banks, _town = pushed_batch(n_banks=1, n_entries=1)
    push = entries[0].pushes[0]
    other = client_as("bank_manager", institution=bank()[0])
    assert other.get(f"/whitelists/bank/pushes/{push.id}").status_code == 404
    assert other.post(f"/whitelists/bank/pushes/{push.id}/disbursement").status_code == 404
    assert f"bank-push-{push.id}" not in other.get("/whitelists/bank").text
    own = client_as("bank_admin", institution=push.institution)
    assert own.get(f"/whitelists/bank/pushes/{push.id}").status_code == 200
    assert f"bank-push-{push.id}" in own.get("/whitelists/bank").text


def test_a_bank_does_not_see_a_proposal_not_yet_sent(app, db, client_as):
    town = city()
    inst, product, _a, _m = bank()
    whitelist = batch(town)
    need = need_in()
    match(need, product)
    item = entry(town, whitelist, need)
    pushing.propose(town, whitelist)
    client = client_as("bank_admin", institution=inst)
    assert client.get(f"/whitelists/bank/pushes/{item.pushes[0].id}").status_code == 404


def test_a_bank_loses_the_push_when_the_consent_is_revoked(app, db, client_as):
    from matchmaker.leads import push as pushing
    from matchmaker.leads.models import Consent

    _whitelist, entries, _banks, _town = pushed_batch(n_banks=1, n_entries=1)
    push = entries[0].pushes[0]
    consent = db.session.scalar(select(Consent).where(Consent.need_id == push.entry.need_id))
    owner = user_for_role("enterprise", enterprise=push.entry.enterprise)
    pushing.revoke_consent(owner, consent)
    client = client_as("bank_admin", institution=push.institution)
    assert client.get(f"/whitelists/bank/pushes/{push.id}").status_code == 404


def test_another_districts_flag_is_404(app, db, client_as):
    flag = rules.set_flag(district(OTHER_DISTRICT), need_in(OTHER_DISTRICT).enterprise, "x")
    client = client_as("organizer", district="永川区")
    assert client.post(f"/whitelists/flags/{flag.id}/clear").status_code == 404
    assert client.get(f"/whitelists/flags?enterprise_id={flag.enterprise_id}").status_code == 404
    assert client.post("/whitelists/flags", data={"enterprise_id": flag.enterprise_id,
                                                  "reason": "x"}).status_code == 404


def test_another_districts_overdue_push_is_404(app, db, client_as, monkeypatch):
    from tests.test_whitelists_support import china, freeze

    freeze(monkeypatch, china(2026, 11, 10))
    _whitelist, entries, _banks, _town = pushed_batch(n_banks=1, n_entries=1)
    freeze(monkeypatch, china(2026, 11, 30))
    push = entries[0].pushes[0]
    client = client_as("organizer", district="永川区")
    assert client.post(f"/whitelists/pushes/{push.id}/supervise",
                       data={"note": "x"}).status_code == 404


# --- who edits when ------------------------------------------------------------------------------

def test_district_edits_until_submitted_then_the_city(app, db, client_as):
    yongchuan = district()
    whitelist = batch(yongchuan)
    item = entry(yongchuan, whitelist, need_in())
    mine = app.test_client(user=yongchuan)
    town = client_as("organizer")
    db.session.commit()  # a refused request rolls back to here
    edit_url = f"/whitelists/{whitelist.id}/entries/{item.id}/edit"
    assert mine.get(edit_url).status_code == 200
    assert town.get(edit_url).status_code == 302  # a district's draft is the district's
    assert town.post(f"/whitelists/{whitelist.id}/propose").status_code == 302
    assert whitelist.entries[0].pushes == []
    response = mine.post(f"/whitelists/{whitelist.id}/submit", follow_redirects=True)
    assert "已报送市级" in response.text
    db.session.expire_all()
    assert db.session.get(Whitelist, whitelist.id).status == "submitted"
    assert mine.get(edit_url).status_code == 302  # read-only for the district now
    assert mine.get(f"/whitelists/{whitelist.id}").status_code == 200
    assert town.get(edit_url).status_code == 200
    response = town.post(edit_url, data={"recommender": "市经信委", "consent": "y",
                                         "consent_basis": "申报表YC-007"})
    assert response.status_code == 302


def test_enterprises_never_see_batches(app, db, client_as):
    whitelist = batch(city())
    client = client_as("enterprise")
    for path in ("/whitelists/", f"/whitelists/{whitelist.id}", "/whitelists/bank",
                 f"/whitelists/{whitelist.id}/report.xlsx"):
        assert client.get(path).status_code == 403


def test_share_and_per_entry_are_set_per_batch(app, db, client_as):
    client = client_as("organizer")
    response = client.post("/whitelists/new", data={
        "title": "2026年第4批 制造业融资需求白名单", "kind": "needs",
        "issuing_body": "重庆市经济和信息化委员会", "issued_on": "2026-11-02",
        "answer_deadline": "2026-11-01", "per_entry": "3", "share_percent": "25"})
    assert response.status_code == 400 and "反馈截止日期不能早于印发日期" in response.text
    response = client.post("/whitelists/new", data={
        "title": "2026年第4批 制造业融资需求白名单", "kind": "needs",
        "issuing_body": "重庆市经济和信息化委员会", "issued_on": "2026-11-02",
        "answer_deadline": "2026-11-20", "per_entry": "2", "share_percent": "40"})
    assert response.status_code == 302
    created = db.session.scalar(select(Whitelist).order_by(Whitelist.id.desc()))
    assert (created.per_entry, created.share, created.owner_district) == (2, Decimal("0.4"), None)


def test_a_push_without_the_csrf_token_is_refused(app, db, client_as, monkeypatch):
    whitelist = batch(city())
    client = client_as("organizer")
    db.session.commit()
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/whitelists/{whitelist.id}/push").status_code == 400
