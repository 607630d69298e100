"""`matchmaker seed` with the real seeds/ folder: the demo's 白名单 and 对接会 scenes.

The demo is seeded once for the module (`seeded`, in the module's transaction); the CLI's
commit is a savepoint inside it, so a second run sees the first's rows, and each test's
savepoint is rolled back after it (tests/README.md)."""
import pytest
from flask import url_for
from sqlalchemy import func, select

from matchmaker import ROOT
from matchmaker.accounts.models import User
from matchmaker.demo_scenes import EVENT_TITLE, WHITELIST_TITLE
from matchmaker.enterprises.models import Need
from matchmaker.events.models import Event, Meeting, MeetingRequest, Registration
from matchmaker.whitelists.models import Push, Whitelist, WhitelistEntry
from tests.conftest import shared_data

SEEDS = ROOT / "seeds"


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def seed(runner):
    result = runner.invoke(args=["seed", "--dir", str(SEEDS)])
    assert result.exit_code == 0, result.output
    return result


def _seed_once(app):
    """The first `matchmaker seed` of the module: what it printed."""
    return seed(app.test_cli_runner()).stdout


seeded = shared_data(_seed_once)
pytestmark = pytest.mark.usefixtures("module_connection")


def test_seed_builds_a_pushed_whitelist_and_a_scheduled_event_once(seeded, runner, db):
    assert "demo scenes: whitelist #" in seeded

    city = db.session.scalar(select(Whitelist).where(Whitelist.title == WHITELIST_TITLE))
    assert (city.status, city.owner_district) == ("pushed", None)
    assert len(city.entries) == 12
    assert any(not e.consent for e in city.entries)  # the consent rule shows on the page
    sent = db.session.scalars(select(Push).join(Push.entry).where(
        WhitelistEntry.whitelist_id == city.id, Push.status == "sent")).all()
    assert sent and all(p.lead_id is not None for p in sent)
    assert all(p.entry.consent for p in sent)
    draft = db.session.scalar(select(Whitelist).where(Whitelist.owner_district == "永川区"))
    assert draft.status == "draft" and len(draft.entries) == 3
    assert {e.enterprise.district for e in draft.entries} == {"永川区"}

    event = db.session.scalar(select(Event).where(Event.title == EVENT_TITLE))
    assert (event.status, event.district, event.theme_cluster) == (
        "scheduled", "永川区", "intelligent_equipment")
    assert (len(event.slots), len(event.tables)) == (8, 6)
    assert count(db, Meeting) > 0
    assert db.session.scalar(select(func.count(MeetingRequest.id)).where(
        MeetingRequest.status == "accepted")) >= 3

    before = {m: count(db, m) for m in (Whitelist, WhitelistEntry, Push, Event, Registration,
                                        MeetingRequest, Meeting)}
    funded = db.session.scalars(select(Need).where(Need.status == "funded")).all()
    assert funded and all(n.funded_on and n.enterprise.has_bank_loan for n in funded)
    was = {n.ref: n.funded_on for n in funded}
    second = seed(runner)
    assert "nothing created" in second.stdout
    assert {m: count(db, m) for m in before} == before
    # the demo file does not say those needs were funded: a re-seed must not undo the funding
    db.session.expire_all()
    again = db.session.scalars(select(Need).where(Need.status == "funded")).all()
    assert {n.ref: n.funded_on for n in again} == was
    assert all(n.enterprise.has_bank_loan for n in again)


def test_the_organizer_sees_the_scenes(seeded, db, app):
    organizer = db.session.scalar(select(User).where(User.email == "jxw@demo.matchmaker.local"))
    city = db.session.scalar(select(Whitelist).where(Whitelist.title == WHITELIST_TITLE))
    event = db.session.scalar(select(Event).where(Event.title == EVENT_TITLE))
    client = app.test_client(user=organizer)
    with app.test_request_context():
        pages = (url_for("whitelists.show", whitelist_id=city.id),
                 url_for("whitelists.progress", whitelist_id=city.id),
                 url_for("events.schedule", event_id=event.id))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
    assert "演示" in client.get(pages[2]).get_data(as_text=True)


def test_the_demo_has_a_lead_in_every_state(seeded, db, app):
    """Issue 17: claimed, contacted, declined with a reason, funded, unclaimed on the 督办
    list, each through the services."""
    from matchmaker.leads.models import Lead

    by_status = dict(db.session.execute(select(Lead.status, func.count(Lead.id))
                                        .group_by(Lead.status)).all())
    for status in ("claimed", "contacted", "declined", "funded"):
        assert by_status.get(status), status
    declined = db.session.scalar(select(Lead).where(Lead.status == "declined"))
    assert declined.decline_reason and declined.last_claim.contacted_at is not None
    unclaimed = db.session.scalar(select(Lead).where(Lead.unclaimed_at.is_not(None)))
    assert unclaimed is not None and unclaimed.status == "open"
    organizer = db.session.scalar(select(User).where(User.email == "jxw@demo.matchmaker.local"))
    page = app.test_client(user=organizer).get("/leads/supervision").get_data(as_text=True)
    assert f'data-testid="unclaimed-{unclaimed.id}"' in page


def test_the_demo_has_a_pending_claim_and_collected_firms_to_invite(app, seeded, db):
    """Issue 17 #4 in the demo: the 永川区 organizer finds a claim to decide and a collected
    firm without a login whose page offers to invite its first user."""
    from matchmaker.demo_scenes import APPLICANT
    from matchmaker.enterprises.models import EnterpriseClaim

    assert "pending claim on E-" in seeded
    claim = db.session.scalar(select(EnterpriseClaim))
    assert claim.status == "pending" and claim.enterprise.district == "永川区"
    assert claim.requester.email == APPLICANT["email"] and claim.requester.role == "applicant"
    organizer = db.session.scalar(select(User).where(
        User.email == "yongchuan-jxw@demo.matchmaker.local"))
    client = app.test_client(user=organizer)
    assert f'data-testid="claim-{claim.id}"' in client.get("/enterprises/claims").get_data(
        as_text=True)
    page = client.get(f"/enterprises/{claim.enterprise_id}").get_data(as_text=True)
    assert 'data-testid="invite-first-user"' in page
