"""Every events route × every role: allowed, login redirect or 403; another participant's
registration, request or meeting, another district's event and a draft event answer 404."""
import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.events import meetings
from matchmaker.events.models import Event, Meeting, MeetingRequest, Registration
from matchmaker.extensions import db as _db
from tests.conftest import ROLES, shared_data
from tests.factories import user_for_role
from tests.test_events_helpers import (
    BEFORE,
    accepted,
    enterprise_side,
    freeze,
    institution_side,
    make_event,
    matched_pair,
    organizer,
)

ALL = {"enterprise", "bank_manager", "bank_admin", "organizer"}
PARTICIPANTS = {"enterprise", "bank_manager", "bank_admin"}
ORGANIZER = {"organizer"}

GET_ALLOWED = {
    "events.index": ALL, "events.show": ALL, "events.requests": ALL, "events.agenda": ALL,
    "events.agenda_ics": ALL, "events.qr": ALL,
    "events.register": PARTICIPANTS, "events.partners": PARTICIPANTS,
    "events.result": PARTICIPANTS,
    "events.new": ORGANIZER, "events.edit": ORGANIZER, "events.registrations": ORGANIZER,
    "events.schedule": ORGANIZER, "events.move_meeting": ORGANIZER,
    "events.table_print": ORGANIZER, "events.checkin": ORGANIZER,
}
POST_ALLOWED = {
    "events.cancel_registration": ALL,
    "events.register": PARTICIPANTS, "events.send_request": PARTICIPANTS,
    "events.accept_request": PARTICIPANTS, "events.decline_request": PARTICIPANTS,
    "events.withdraw_request": PARTICIPANTS, "events.result": PARTICIPANTS,
    "events.new": ORGANIZER, "events.edit": ORGANIZER, "events.add_slots": ORGANIZER,
    "events.remove_slot": ORGANIZER, "events.set_tables": ORGANIZER,
    "events.publish": ORGANIZER, "events.invite": ORGANIZER, "events.must_meet": ORGANIZER,
    "events.run_schedule": ORGANIZER, "events.move_meeting": ORGANIZER,
    "events.checkin_submit": ORGANIZER, "events.attendance": ORGANIZER,
    "events.assign_meeting": {"bank_admin"},
}


def _build_scene(app):
    """A scheduled event: one enterprise and one institution (bank admin + manager) with an
    accepted request and its meeting; a second published event nobody registered for.
    Built once for the module (ids); `scene` loads it in each test's own savepoint."""
    with pytest.MonkeyPatch.context() as patch:
        freeze(patch, BEFORE)
        event = make_event()
        ent, ent_user, inst, inst_user, staff = matched_pair(event)
        request = accepted(ent, ent_user, inst, inst_user)
        meetings.schedule_event(organizer(), event)
        meeting = _db.session.scalar(select(Meeting))
        users = {"enterprise": ent_user, "bank_admin": inst_user, "bank_manager": staff[0],
                 "organizer": organizer()}
        fresh = make_event()
        _db.session.flush()
        return {"event": event.id, "fresh": fresh.id, "ent": ent.id, "inst": inst.id,
                "request": request.id, "meeting": meeting.id,
                "users": {role: user.id for role, user in users.items()}}


scene_ids = shared_data(_build_scene)
# every test of the module in a savepoint of the one connection (tests/README.md)
pytestmark = pytest.mark.usefixtures("module_connection")


@pytest.fixture
def scene(db, scene_ids, monkeypatch):
    """The module's scene (see _build_scene) as this test's objects, the clock at BEFORE."""
    freeze(monkeypatch, BEFORE)
    get = db.session.get
    ids = scene_ids
    return {"event": get(Event, ids["event"]), "fresh": get(Event, ids["fresh"]),
            "ent": get(Registration, ids["ent"]), "inst": get(Registration, ids["inst"]),
            "request": get(MeetingRequest, ids["request"]),
            "meeting": get(Meeting, ids["meeting"]),
            "users": {role: get(User, uid) for role, uid in ids["users"].items()}}


def _client(app, scene, role):
    return app.test_client(user=scene["users"][role]) if role in scene["users"] else (
        app.test_client() if role == "anonymous" else app.test_client(user=user_for_role(role)))


def _url(app, scene, endpoint, role):
    event = scene["fresh"] if endpoint == "events.register" else scene["event"]
    own = scene["inst"] if role in ("bank_admin", "bank_manager") else scene["ent"]
    with app.test_request_context():
        return url_for(endpoint, event_id=event.id, registration_id=own.id,
                       request_id=scene["request"].id, meeting_id=scene["meeting"].id,
                       slot_id=event.slots[0].id, table_id=scene["meeting"].table_id,
                       fmt="svg")


def _assert(status, location, role, allowed):
    if role in allowed:
        assert status not in (403, 404, 500) and "/login" not in location, status
    elif role == "anonymous":
        assert status in (302, 303) and "/login" in location
    else:
        assert status == 403, status


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(GET_ALLOWED))
def test_get_access(app, db, scene, role, endpoint):
    client = _client(app, scene, role)
    db.session.commit()
    response = client.get(_url(app, scene, endpoint, role))
    if role in GET_ALLOWED[endpoint]:
        assert response.status_code == 200, (endpoint, role, response.status_code)
    _assert(response.status_code, response.headers.get("Location", ""), role,
            GET_ALLOWED[endpoint])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(POST_ALLOWED))
def test_post_access(app, db, scene, role, endpoint):
    client = _client(app, scene, role)
    db.session.commit()  # refusals roll back the view's work
    response = client.post(_url(app, scene, endpoint, role), data={"code": "X"})
    _assert(response.status_code, response.headers.get("Location", ""), role,
            POST_ALLOWED[endpoint])


def test_every_events_route_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("events.")}
    assert endpoints == set(GET_ALLOWED) | set(POST_ALLOWED)


# --- another participant's objects: 404 -----------------------------------------------------

@pytest.fixture
def rivals(db, scene):
    """A second enterprise and a second institution in the same event."""
    event = scene["event"]
    event.status = "published"  # late registrations, as if before the schedule
    other_ent, other_ent_user = enterprise_side(event)
    other_inst, other_inst_user, _, _ = institution_side(event)
    event.status = "scheduled"
    db.session.commit()
    return {"ent": other_ent, "ent_user": other_ent_user, "inst": other_inst,
            "inst_user": other_inst_user}


@pytest.mark.parametrize("path", ["agenda", "agenda.ics", "qr.svg", "qr.png"])
@pytest.mark.parametrize("who", ["ent_user", "inst_user"])
def test_another_participants_agenda_is_404(app, db, scene, rivals, path, who):
    client = app.test_client(user=rivals[who])
    for reg in (scene["ent"], scene["inst"]):
        url = f"/events/{scene['event'].id}/registrations/{reg.id}/{path}"
        assert client.get(url).status_code == 404


def test_another_participants_request_and_meeting_are_404(app, db, scene, rivals):
    event, request, meeting = scene["event"], scene["request"], scene["meeting"]
    for user in (rivals["ent_user"], rivals["inst_user"]):
        client = app.test_client(user=user)
        for verb in ("accept", "decline", "withdraw"):
            assert client.post(f"/events/{event.id}/requests/{request.id}/{verb}").status_code == 404
        assert client.get(f"/events/{event.id}/meetings/{meeting.id}/result").status_code == 404
        assert client.post(f"/events/{event.id}/registrations/{scene['ent'].id}/cancel"
                           ).status_code == 404
    assert scene["request"].status == "accepted"
    page = app.test_client(user=rivals["ent_user"]).get(f"/events/{event.id}/requests")
    assert scene["inst"].name not in page.get_data(as_text=True)


def test_another_districts_event_is_404(app, db, scene):
    client = app.test_client(user=organizer(district="万州区"))
    event = scene["event"]
    for path in ("", "/registrations", "/schedule", "/checkin", "/requests",
                 f"/registrations/{scene['ent'].id}/agenda"):
        assert client.get(f"/events/{event.id}{path}").status_code == 404
    assert client.post(f"/events/{event.id}/schedule").status_code == 404


def test_participants_do_not_see_draft_events(app, db, scene):
    draft = make_event(status="draft", title="筹备中的涪陵区对接会")
    db.session.commit()
    for role in ("enterprise", "bank_manager"):
        client = app.test_client(user=scene["users"][role])
        assert client.get(f"/events/{draft.id}").status_code == 404
        assert draft.title not in client.get("/events/").get_data(as_text=True)
        assert client.get(f"/events/{draft.id}/register").status_code == 404


def test_a_post_without_csrf_token_is_refused(app, db, scene):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client(user=scene["users"]["organizer"])
        response = client.post(f"/events/{scene['event'].id}/schedule")
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_another_institutions_meeting_cannot_be_assigned(app, db, scene, rivals):
    meeting = scene["meeting"]
    before = meeting.manager_id
    client = app.test_client(user=rivals["inst_user"])
    url = f"/events/{scene['event'].id}/meetings/{meeting.id}/assign"
    assert client.post(url, data={"manager_id": before}).status_code == 404
    db.session.refresh(meeting)
    assert meeting.manager_id == before
