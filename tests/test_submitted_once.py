"""One effect per submitted form (issue 17 finding 8): a token per form render
(matchmaker/formtokens.py), spent in the transaction of the effect (matchmaker/web/once.py);
a repeat shows the first result.

The first half posts repeats one after another through the test client; the second half posts
them at the same moment from threads, each request in its own app context, session and
connection, against the suite's database (SQLite file, or PostgreSQL with
MATCHMAKER_TEST_DATABASE_URL), on committed rows removed again at the end (test_claims_race).
"""
import re
import threading

from sqlalchemy import delete, func, select

from matchmaker.accounts.models import User
from matchmaker.clock import china_today
from matchmaker.enterprises.models import Need
from matchmaker.extensions import db
from matchmaker.leads import outcomes
from matchmaker.leads.models import Lead, LeadFollowUp
from matchmaker.notifications.models import Notification
from matchmaker.web.models import FormSubmission
from matchmaker.web.once import REPEATED
from tests.factories import EnterpriseFactory, user_for_role
from tests.test_claims_race import _race_one_institution, committed  # noqa: F401 (fixture)
from tests.test_leads_helpers import claimed_lead, pushed_lead
from tests.test_needs_form import need_data

TOKEN = "0123456789abcdef0123456789abcdef"


def token_of(html: str) -> str:
    """The form token a rendered page carries (the first form's)."""
    return re.search(r'name="form_token"[^>]*value="([0-9a-f]{32})"', html).group(1)


def needs_of(enterprise_id: int) -> int:
    return db.session.scalar(select(func.count(Need.id)).where(Need.enterprise_id == enterprise_id))


# --- repeats, one after another ---------------------------------------------------------------

def test_each_render_carries_a_fresh_token(db, client_as):
    client = client_as("enterprise", enterprise=EnterpriseFactory(has_bank_loan=True))
    first, second = (token_of(client.get("/needs/new").text) for _ in range(2))
    assert first != second


def test_a_repeated_needs_form_makes_one_need_and_shows_it(db, client_as):
    enterprise = EnterpriseFactory(has_bank_loan=True)
    client = client_as("enterprise", enterprise=enterprise)
    token = token_of(client.get("/needs/new").text)
    first = client.post("/needs/new", data=need_data(form_token=token))
    assert first.status_code == 302
    again = client.post("/needs/new", data=need_data(form_token=token))
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert REPEATED in client.get(again.headers["Location"]).text
    assert needs_of(enterprise.id) == 1
    # a new render is a new need
    token = token_of(client.get("/needs/new").text)
    assert client.post("/needs/new", data=need_data(form_token=token)).status_code == 302
    assert needs_of(enterprise.id) == 2


def test_a_refused_submission_does_not_spend_its_token(db, client_as):
    enterprise = EnterpriseFactory(has_bank_loan=True)
    client = client_as("enterprise", enterprise=enterprise)
    assert client.post("/needs/new", data=need_data(form_token=TOKEN,
                                                    amount_wan="-1")).status_code == 400
    assert db.session.get(FormSubmission, TOKEN) is None
    assert client.post("/needs/new", data=need_data(form_token=TOKEN)).status_code == 302
    assert needs_of(enterprise.id) == 1


def test_without_a_token_a_form_works_as_before(db, client_as):
    enterprise = EnterpriseFactory(has_bank_loan=True)
    client = client_as("enterprise", enterprise=enterprise)
    for _ in range(2):
        assert client.post("/needs/new", data=need_data()).status_code == 302
    assert needs_of(enterprise.id) == 2


def test_another_users_token_is_refused(db, client_as):
    mine = client_as("enterprise", enterprise=EnterpriseFactory(has_bank_loan=True))
    theirs = EnterpriseFactory(has_bank_loan=True)
    other = client_as("enterprise", enterprise=theirs)
    assert mine.post("/needs/new", data=need_data(form_token=TOKEN)).status_code == 302
    assert other.post("/needs/new", data=need_data(form_token=TOKEN)).status_code == 409
    assert needs_of(theirs.id) == 0


def test_a_repeated_followup_is_logged_once(db, app):
    lead, mgr = claimed_lead()
    db.session.commit()
    client = app.test_client(user=mgr)
    data = {"kind": "call", "note": "与财务负责人通话", "form_token": TOKEN}
    for _ in range(3):
        response = client.post(f"/leads/{lead.id}/followups", data=data)
        assert response.status_code == 302 and response.headers["Location"].endswith(
            f"/leads/{lead.id}")
    assert db.session.scalar(select(func.count(LeadFollowUp.id))
                             .where(LeadFollowUp.lead_id == lead.id)) == 1


def test_a_repeated_claim_shows_the_claim_not_an_error(db, app):
    from tests.test_leads_helpers import manager

    lead = pushed_lead()
    mgr = manager(lead.institution)
    db.session.commit()
    client = app.test_client(user=mgr)
    client.post(f"/leads/{lead.id}/claim", data={"form_token": TOKEN})
    page = client.post(f"/leads/{lead.id}/claim", data={"form_token": TOKEN},
                       follow_redirects=True).text
    assert REPEATED in page and "本机构已有客户经理认领该线索" not in page
    assert len(lead.claims) == 1


def test_a_repeated_registration_makes_one_account_and_sends_to_login(app, db):
    from tests.test_registration import form

    data = dict(form(), form_token=TOKEN)
    first = app.test_client().post("/register", data=data)
    assert first.status_code == 302, first.text[:500]
    again = app.test_client().post("/register", data=data)
    assert again.status_code == 302 and again.headers["Location"].endswith("/login")
    assert db.session.scalar(select(func.count(User.id)).where(User.email == data["email"])) == 1


# --- repeats at the same moment ---------------------------------------------------------------

def _post_together(app, users, url: str, data: dict, count: int) -> list[int]:
    """`count` clients (cycling over `users`) post the same form at once; their statuses."""
    clients = [app.test_client(user=users[n % len(users)]) for n in range(count)]
    db.session.rollback()  # no open reader in this thread (SQLite: it would block the writers)
    barrier = threading.Barrier(count)
    statuses: list[int | None] = [None] * count
    errors: list[BaseException] = []

    def post(n: int) -> None:
        try:
            barrier.wait(timeout=20)
            statuses[n] = clients[n].post(url, data=data).status_code
        except BaseException as err:  # noqa: BLE001 (surfaced in the main thread below)
            errors.append(err)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    return statuses


def _forget_needs(made, enterprise_id: int) -> None:
    made["needs"] += list(db.session.scalars(select(Need.id)
                                             .where(Need.enterprise_id == enterprise_id)))


def test_ten_simultaneous_posts_of_the_needs_form_make_one_need(app, committed):  # noqa: F811
    enterprise = EnterpriseFactory(has_bank_loan=True)
    user = user_for_role("enterprise", enterprise=enterprise)
    db.session.commit()
    committed["enterprises"].append(enterprise.id)
    try:
        statuses = _post_together(app, [user], "/needs/new", need_data(form_token=TOKEN), 10)
        assert statuses == [302] * 10
        db.session.rollback()
        assert needs_of(enterprise.id) == 1
    finally:
        db.session.rollback()
        _forget_needs(committed, enterprise.id)
        db.session.execute(delete(FormSubmission).where(FormSubmission.token == TOKEN))
        db.session.commit()


def test_eight_simultaneous_approvals_make_one_decision(app, committed, monkeypatch):  # noqa: F811
    recorded = []
    monkeypatch.setattr(outcomes, "record", lambda _actor, action, *_a, **_k:
                        recorded.append(action))
    race = _race_one_institution(committed)
    lead, mgr = race.leads[0], race.managers[0]
    from matchmaker.leads import claims

    claims.claim_lead(mgr, lead)
    enterprise_users = list(db.session.scalars(select(User.id).where(
        User.enterprise_id == lead.need.enterprise_id)))
    db.session.commit()
    data = {"product_id": lead.institution.products[0].id, "amount_wan": "100",
            "rate": "3.5", "term_months": "12", "guarantee_mode": "credit",
            "approved_on": china_today().isoformat(), "form_token": TOKEN}
    lead_id = lead.id
    statuses = _post_together(app, [mgr], f"/leads/{lead_id}/approve", data, 8)
    assert statuses == [302] * 8
    db.session.rollback()
    assert db.session.get(Lead, lead_id).status == "approved"
    assert recorded.count("lead.approved") == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id.in_(enterprise_users), Notification.kind == "lead.approved")) == 1


def test_two_pages_approving_at_once_make_one_decision(app, committed, monkeypatch):  # noqa: F811
    """Two tabs, two tokens: the claim's row lock (PostgreSQL) or the one writer (SQLite)
    lets one decide; the other is told it is decided."""
    recorded = []
    monkeypatch.setattr(outcomes, "record", lambda _actor, action, *_a, **_k:
                        recorded.append(action))
    race = _race_one_institution(committed)
    lead, mgr = race.leads[0], race.managers[0]
    from matchmaker.leads import claims

    claims.claim_lead(mgr, lead)
    db.session.commit()
    base = {"product_id": lead.institution.products[0].id, "amount_wan": "100",
            "rate": "3.5", "term_months": "12", "guarantee_mode": "credit",
            "approved_on": china_today().isoformat()}
    lead_id = lead.id
    clients = [app.test_client(user=mgr) for _ in range(2)]
    db.session.rollback()
    barrier = threading.Barrier(2)
    statuses = []

    def post(n):
        barrier.wait(timeout=20)
        statuses.append(clients[n].post(f"/leads/{lead_id}/approve", data=dict(
            base, form_token=f"{n:032x}")).status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.rollback()
    assert recorded.count("lead.approved") == 1
    assert sorted(statuses) in ([302, 302], [302, 400])
    db.session.execute(delete(FormSubmission).where(FormSubmission.user_id == mgr.id))
    db.session.commit()
