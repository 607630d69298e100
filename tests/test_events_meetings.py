"""Issue 17 finding 9: meetings go to the managers who registered (spread over them, the bank
admin reassigns when there are several); agendas show only the products the bank brought;
"未能安排的请求" only after a scheduling ran; an event's date moves with its slots."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from matchmaker.errors import ServiceError
from matchmaker.events import meetings, service
from matchmaker.events.models import Meeting
from matchmaker.notifications.models import Notification
from tests.factories import MatchFactory, ProductFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_events_helpers import (
    BEFORE,
    EVENT_DAY,
    accepted,
    enterprise_side,
    freeze,
    institution_side,
    make_event,
    matched_pair,
    organizer,
)


@pytest.fixture
def before(monkeypatch):
    freeze(monkeypatch, BEFORE)


def _second_enterprise(event, inst, inst_user, product):
    ent, ent_user = enterprise_side(event)
    MatchFactory(need=ent.need, product=product)
    accepted(ent, ent_user, inst, inst_user)
    return ent


def test_meetings_are_spread_over_the_registered_managers_never_the_admin(db, before):
    event = make_event()
    ent, ent_user, inst, admin, staff = matched_pair(event, managers=2)
    accepted(ent, ent_user, inst, admin)
    _second_enterprise(event, inst, admin, inst.product_rows[0].product)
    meetings.schedule_event(organizer(), event)
    holders = sorted(m.manager_id for m in meetings.event_meetings(event))
    assert holders == sorted(u.id for u in staff)
    assert admin.id not in holders


def test_the_bank_admin_assigns_a_meeting_to_another_registered_manager(db, app, before):
    event = make_event()
    ent, ent_user, inst, admin, staff = matched_pair(event, managers=2)
    accepted(ent, ent_user, inst, admin)
    meetings.schedule_event(organizer(), event)
    meeting = db.session.scalar(select(Meeting))
    other = next(u for u in staff if u.id != meeting.manager_id)
    db.session.commit()
    agenda = f"/events/{event.id}/registrations/{inst.id}/agenda"
    page = app.test_client(user=admin).get(agenda).text
    assert f'data-testid="assign-{meeting.id}"' in page and other.name in page
    # a manager sees the agenda but cannot assign
    assert 'data-testid="assign-' not in app.test_client(user=staff[0]).get(agenda).text
    url = f"/events/{event.id}/meetings/{meeting.id}/assign"
    assert app.test_client(user=staff[0]).post(url, data={"manager_id": other.id}
                                               ).status_code == 403
    response = app.test_client(user=admin).post(url, data={"manager_id": other.id})
    assert response.status_code == 302
    db.session.refresh(meeting)
    assert meeting.manager_id == other.id
    assert_audited("event_meeting.assigned", meeting, to=other.id)
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == other.id, Notification.kind == "event_meeting.assigned"))
    # the admin (not registered) cannot take it; nor can a manager of another institution
    for refused in (admin.id, user_for_role("bank_manager").id):
        with pytest.raises(ServiceError, match="只能指派本机构报名参会"):
            meetings.assign_meeting(admin, meeting, refused)


def test_agenda_and_suggestions_name_only_products_the_bank_brought(db, app, before):
    event = make_event()
    ent, ent_user, inst, admin, _staff = matched_pair(event, score="70.0")
    brought = inst.product_rows[0].product
    # a better match on a product the bank did not bring to the event
    left_home = ProductFactory(institution=inst.institution, name="未带来的产品")
    MatchFactory(need=ent.need, product=left_home, score=90)
    assert service.best_match(ent.need_id, inst).product_id == brought.id
    request = accepted(ent, ent_user, inst, admin)
    assert request.product_id == brought.id
    meetings.schedule_event(organizer(), event)
    db.session.commit()
    page = app.test_client(user=ent_user).get(
        f"/events/{event.id}/registrations/{ent.id}/agenda").text
    assert brought.name in page and "未带来的产品" not in page


def test_no_brought_product_matches_no_product_is_named(db, before):
    event = make_event()
    ent, ent_user = enterprise_side(event)
    inst, _admin, _staff, _brought = institution_side(event)
    # the need matches only a product the bank left at home (before: it was suggested)
    MatchFactory(need=ent.need, product=ProductFactory(institution=inst.institution))
    assert service.best_match(ent.need_id, inst) is None
    request = service.request_meeting(ent_user, ent, inst, "想了解流动资金贷")
    assert request.product_id is None


def test_unplaced_requests_are_shown_only_after_a_scheduling(db, app, before):
    event = make_event(slots=1, tables=1)
    ent, ent_user, inst, admin, _staff = matched_pair(event)
    accepted(ent, ent_user, inst, admin)
    _second_enterprise(event, inst, admin, inst.product_rows[0].product)
    org = organizer()
    db.session.commit()
    client = app.test_client(user=org)
    assert "未能安排的请求" not in client.get(f"/events/{event.id}/schedule").text
    meetings.schedule_event(org, event)    # one slot, one table: one of two is left out
    db.session.commit()
    assert "未能安排的请求（1）" in client.get(f"/events/{event.id}/schedule").text


def test_the_date_moves_with_its_slots_and_meetings(db, before):
    event = make_event()
    ent, ent_user, inst, admin, staff = matched_pair(event)
    accepted(ent, ent_user, inst, admin)
    org = organizer()
    meetings.schedule_event(org, event)
    meeting = db.session.scalar(select(Meeting))
    starts = [s.starts_at for s in event.slots]
    values = {"title": event.title, "day": EVENT_DAY + timedelta(days=2), "venue": event.venue,
              "district": None, "theme_cluster": None, "theme_purpose": None,
              "description": None, "registration_deadline": event.registration_deadline,
              "requests_deadline": None, "enterprise_cap": None, "institution_cap": None}
    service.update_event(org, event, **values)
    assert event.day == date(2026, 12, 18)
    assert [s.starts_at for s in event.slots] == [t + timedelta(days=2) for t in starts]
    db.session.refresh(meeting)
    assert meeting.slot.starts_at == starts[0] + timedelta(days=2)
    assert_audited("event.updated", event, moved_days=2)
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == staff[0].id, Notification.kind == "event.moved"))
    # once a meeting has been held the day stays
    meeting.status = "held"
    with pytest.raises(ServiceError, match="洽谈已开始"):
        service.update_event(org, event, **dict(values, day=EVENT_DAY + timedelta(days=3)))
