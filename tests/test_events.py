"""银企对接会 through the app: setting an event up, inviting, registering (caps and the
waitlist), suggested partners and requests, the schedule and moving a meeting, the agenda
files, check-in and attendance, results becoming leads, and the organizer's figures."""
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matchmaker.errors import ServiceError
from matchmaker.events import figures, meetings, service
from matchmaker.events.models import (
    CheckIn,
    Event,
    EventInvitation,
    Meeting,
    MeetingRequest,
    MeetingResult,
    Registration,
)
from matchmaker.leads import push
from matchmaker.leads import scope as lead_scope
from matchmaker.leads.models import Claim, Consent, Lead
from matchmaker.matching import service as matching
from matchmaker.matching.models import MatchState
from matchmaker.notifications.models import Notification
from matchmaker.policy.models import Setting
from tests.factories import (
    EnterpriseFactory,
    InstitutionFactory,
    MatchFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
)
from tests.helpers import assert_audited
from tests.test_events_helpers import (
    BEFORE,
    CHINA,
    EVENT_DAY,
    ON_THE_DAY,
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


@pytest.fixture
def on_the_day(monkeypatch):
    freeze(monkeypatch, ON_THE_DAY)


def notes(user) -> list[str]:
    from matchmaker.extensions import db

    return [n.message for n in db.session.scalars(select(Notification)
                                                  .where(Notification.user_id == user.id))]


# --- setting the event up -------------------------------------------------------------------

def _event_form(**overrides):
    data = {"title": "两江新区专精特新银企对接会", "day": "2026-12-16", "venue": "两江新区金融中心",
            "district": "", "theme_cluster": "intelligent_equipment", "theme_purpose": "",
            "registration_deadline": "2026-12-10T18:00", "requests_deadline": "",
            "enterprise_cap": "40", "institution_cap": ""}
    data.update(overrides)
    return data


def test_an_organizer_creates_an_event(db, app, before):
    user = organizer(district="永川区")
    client = app.test_client(user=user)
    response = client.post("/events/new", data=_event_form())
    assert response.status_code == 302
    event = db.session.scalar(select(Event).order_by(Event.id.desc()))
    assert (event.status, event.district, event.enterprise_cap) == ("draft", "永川区", 40)
    assert event.registration_deadline == datetime(2026, 12, 10, 18, tzinfo=CHINA)
    assert_audited("event.created", event, district="永川区")


def test_a_deadline_after_the_event_day_is_refused(db, app, before):
    client = app.test_client(user=organizer())
    db.session.commit()  # refusals roll back the view's work
    response = client.post("/events/new", data=_event_form(registration_deadline="2026-12-17T09:00"))
    assert response.status_code == 400
    assert "报名截止时间不能晚于活动当天" in response.get_data(as_text=True)


def test_slots_are_added_in_a_row_with_breaks(db, app, before):
    event = make_event(slots=0, status="draft")
    client = app.test_client(user=organizer())
    response = client.post(f"/events/{event.id}/slots", data={
        "first_start": "2026-12-16T14:00", "length_minutes": "20", "count": "3",
        "gap_minutes": "10"})
    assert response.status_code == 302
    starts = [service.local(s.starts_at).strftime("%H:%M") for s in event.slots]
    assert starts == ["14:00", "14:30", "15:00"]
    assert_audited("event.slots_added", event, count=3)


def test_overlapping_slots_are_refused_with_the_times(db, app, before):
    event = make_event(slots=2, status="draft")  # 09:00–09:20, 09:25–09:45
    client = app.test_client(user=organizer())
    db.session.commit()
    response = client.post(f"/events/{event.id}/slots", data={
        "first_start": "2026-12-16T09:30", "length_minutes": "20", "count": "1"})
    assert response.status_code == 400
    assert "新时段 09:30–09:50 与已有时段 09:25–09:45 重叠" in response.get_data(as_text=True)
    assert len(event.slots) == 2


def test_a_slot_outside_the_event_day_is_refused(db, app, before):
    event = make_event(slots=0, status="draft")
    client = app.test_client(user=organizer())
    db.session.commit()
    for start, count in (("2026-12-17T09:00", 1), ("2026-12-16T23:30", 2)):
        response = client.post(f"/events/{event.id}/slots", data={
            "first_start": start, "length_minutes": "20", "count": str(count)})
        assert response.status_code == 400
        assert "不在活动当天（2026-12-16）" in response.get_data(as_text=True)


def test_publishing_needs_slots_and_tables(db, app, before):
    event = make_event(slots=0, tables=0, status="draft")
    client = app.test_client(user=organizer())
    db.session.commit()
    client.post(f"/events/{event.id}/publish")
    assert event.status == "draft"
    client.post(f"/events/{event.id}/tables", data={"count": "5"})
    client.post(f"/events/{event.id}/slots", data={
        "first_start": "2026-12-16T09:00", "length_minutes": "15", "count": "4"})
    assert client.post(f"/events/{event.id}/publish").status_code == 302
    assert event.status == "published" and len(event.tables) == 5
    assert_audited("event.published", event)


def test_inviting_from_matches_notifies_each_party_once(db, before):
    event = make_event(district="永川区")
    need = NeedFactory()  # 永川区
    bank_user = user_for_role("bank_manager")
    MatchFactory(need=need, product=ProductFactory(institution=bank_user.institution))
    firm_user = user_for_role("enterprise", enterprise=need.enterprise)
    elsewhere = NeedFactory(enterprise=EnterpriseFactory(district="万州区"))
    MatchFactory(need=elsewhere)
    epoch = matching.current_epoch()  # ranked, as matching writes each need's rows
    db.session.add_all(MatchState(need_id=n.id, basis=epoch, whole_basis=epoch)
                       for n in (need, elsewhere))
    report = service.invite(organizer("永川区"), event, "matches")
    assert (report.enterprises, report.institutions) == (1, 1)
    assert any("诚邀参加" in n for n in notes(firm_user))
    assert any("诚邀参加" in n for n in notes(bank_user))
    assert_audited("event.invited", event, source="matches", enterprises=1)
    again = service.invite(organizer("永川区"), event, "matches")
    assert (again.enterprises, again.skipped) == (0, 2)


def test_inviting_by_district_and_cluster(db, before):
    event = make_event(district="永川区", theme_cluster="intelligent_equipment")
    EnterpriseFactory(), EnterpriseFactory(cluster="biomedicine")
    lender = ProductFactory().institution_id
    by_cluster = service.invite(organizer("永川区"), event, "cluster")
    assert by_cluster.enterprises == 1
    by_district = service.invite(organizer("永川区"), event, "district")
    assert by_district.enterprises == 1  # the other one; the first is already invited
    invited = set(db.session.scalars(select(EventInvitation.institution_id).where(
        EventInvitation.event_id == event.id, EventInvitation.institution_id.isnot(None))))
    assert lender in invited


def test_inviting_from_a_whitelist(db, before):
    from matchmaker.whitelists.models import Push, Whitelist, WhitelistEntry

    event = make_event()
    need = NeedFactory()
    bank = InstitutionFactory()
    batch = Whitelist(title="2026年第4批", kind="needs", issuing_body="市经信委",
                      issued_on=date(2026, 11, 1), answer_deadline=date(2026, 12, 1))
    db.session.add(batch)
    db.session.flush()
    entry = WhitelistEntry(whitelist_id=batch.id, enterprise_id=need.enterprise_id,
                           need_id=need.id, amount_wan=Decimal(300), purpose="working_capital",
                           term_months=12, recommender="永川区经信委")
    db.session.add(entry)
    db.session.flush()
    db.session.add(Push(entry_id=entry.id, institution_id=bank.id))
    db.session.flush()
    report = service.invite(organizer(), event, "whitelist", batch.id)
    assert (report.enterprises, report.institutions) == (1, 1)
    with pytest.raises(ServiceError, match="请选择一份白名单"):
        service.invite(organizer(), event, "whitelist", None)


def test_inviting_before_publishing_is_refused(db, before):
    with pytest.raises(ServiceError, match="请先发布活动报名页"):
        service.invite(organizer(), make_event(status="draft"), "matches")


# --- registration ---------------------------------------------------------------------------

def test_an_enterprise_registers_with_its_need(db, app, before):
    event = make_event()
    need = NeedFactory()
    user = user_for_role("enterprise", enterprise=need.enterprise)
    client = app.test_client(user=user)
    page = client.get(f"/events/{event.id}/register")
    assert page.status_code == 200 and need.ref in page.get_data(as_text=True)
    # what a follow-up institution will receive is named item by item, nothing ticked for it
    assert "可接收本需求及企业名称、所在区县、行业代码、企业规模、联系人及电话" in page.text
    assert re.search(r'<input(?![^>]*checked)[^>]*name="consent"', page.text)
    response = client.post(f"/events/{event.id}/register", data={
        "need_id": need.id, "unavailable": [event.slots[0].id], "consent": "y"})
    assert response.status_code == 302
    reg = db.session.scalar(select(Registration).where(Registration.event_id == event.id))
    assert (reg.status, reg.need_id, reg.unavailable_slot_ids) == (
        "registered", need.id, {event.slots[0].id})
    assert len(reg.checkin_code) == 8 and reg.consent_at is not None
    assert_audited("event_registration.created", reg, status="registered")


def test_registration_needs_consent_and_an_open_need(db, app, before):
    event = make_event()
    need = NeedFactory()
    client = app.test_client(user=user_for_role("enterprise", enterprise=need.enterprise))
    response = client.post(f"/events/{event.id}/register", data={"need_id": need.id})
    assert response.status_code == 400
    assert "请确认同意向参会金融机构展示企业概况和本需求" in response.get_data(as_text=True)
    draft = NeedFactory(enterprise=need.enterprise, status="draft")
    with pytest.raises(ServiceError, match="请选择一条已发布的融资需求"):
        service.register_enterprise(user_for_role("enterprise", enterprise=need.enterprise),
                                    event, draft, consent=True)


def test_registration_after_the_deadline_is_refused(db, monkeypatch):
    event = make_event()
    freeze(monkeypatch, datetime(2026, 12, 11, 18, 1, tzinfo=CHINA))
    with pytest.raises(ServiceError, match="报名已于12月11日 18:00截止"):
        enterprise_side(event)


def test_every_slot_unavailable_is_refused(db, before):
    event = make_event(slots=2)
    with pytest.raises(ServiceError, match="请至少保留一个可以参加的时段"):
        enterprise_side(event, unavailable=[s.id for s in event.slots])


def test_a_second_registration_is_refused(db, before):
    event = make_event()
    reg, user = enterprise_side(event)
    with pytest.raises(ServiceError, match="无需重复报名"):
        service.register_enterprise(user, event, reg.need, consent=True)


def test_cap_waitlist_and_promotion_on_cancel(db, before):
    event = make_event(enterprise_cap=2)
    first, first_user = enterprise_side(event)
    second, _ = enterprise_side(event)
    third, third_user = enterprise_side(event)
    fourth, _ = enterprise_side(event)
    assert [r.status for r in (first, second, third, fourth)] == [
        "registered", "registered", "waitlisted", "waitlisted"]
    service.cancel_registration(first_user, first)
    assert (first.status, third.status, fourth.status) == ("cancelled", "registered",
                                                           "waitlisted")
    assert third.promoted_at is not None
    assert any("候补转为正式参会" in n for n in notes(third_user))
    assert_audited("event_registration.cancelled", first)
    assert_audited("event_registration.promoted", third)
    # cancelling a waitlisted one frees no place
    service.cancel_registration(third_user, third)
    assert fourth.status == "registered"


def test_an_institution_registers_managers_and_products(db, app, before):
    event = make_event()
    bank = InstitutionFactory()
    admin = user_for_role("bank_admin", institution=bank)
    mgr = user_for_role("bank_manager", institution=bank)
    product = ProductFactory(institution=bank)
    client = app.test_client(user=admin)
    assert client.get(f"/events/{event.id}/register").status_code == 200
    page = client.get(f"/events/{event.id}/register").text
    assert mgr.name in page and f"{admin.name}（" not in page   # admins assign, not meet
    response = client.post(f"/events/{event.id}/register", data={
        "manager_ids": [admin.id, mgr.id], "product_ids": [product.id]})
    assert response.status_code == 400
    response = client.post(f"/events/{event.id}/register", data={
        "manager_ids": [mgr.id], "product_ids": [product.id]})
    assert response.status_code == 302
    reg = db.session.scalar(select(Registration).where(Registration.institution_id == bank.id))
    assert reg.manager_ids == [mgr.id]
    assert reg.product_ids == [product.id]
    other = user_for_role("bank_manager")
    with pytest.raises(ServiceError, match="不是本机构的在职客户经理"):
        service.register_institution(admin, make_event(), bank, [other.id], [product.id])


# --- suggestions and requests ---------------------------------------------------------------

def test_suggested_partners_show_the_matchers_reasons(db, app, before):
    event = make_event()
    ent, ent_user, inst, inst_user, _ = matched_pair(event, score="88.0")
    other, _, _, _ = institution_side(event)
    page = app.test_client(user=ent_user).get(f"/events/{event.id}/partners")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "匹配度 88" in text and "用途相符：流动资金" in text
    assert text.index(inst.name) < text.index(other.name)  # the matched one first
    bank_page = app.test_client(user=inst_user).get(f"/events/{event.id}/partners")
    assert ent.name in bank_page.get_data(as_text=True)


def test_a_request_is_sent_and_accepted(db, app, before):
    event = make_event()
    _ent, ent_user, inst, inst_user, _ = matched_pair(event, score="75.5")
    response = app.test_client(user=ent_user).post(
        f"/events/{event.id}/requests", data={"to": inst.id, "message": "想了解设备更新贷款"})
    assert response.status_code == 302
    request = db.session.scalar(select(MeetingRequest))
    assert (request.origin, request.status, request.match_score, request.priority) == (
        "enterprise", "pending", Decimal("75.5"), 76)
    assert any("希望在" in n for n in notes(inst_user))
    app.test_client(user=inst_user).post(f"/events/{event.id}/requests/{request.id}/accept")
    assert request.status == "accepted"
    assert_audited("meeting_request.created", request)
    assert_audited("meeting_request.accepted", request)
    assert any("接受了您的洽谈请求" in n for n in notes(ent_user))


def test_the_sender_cannot_accept_its_own_request(db, app, before):
    event = make_event()
    ent, ent_user, inst, _, _ = matched_pair(event)
    request = service.request_meeting(ent_user, ent, inst)
    response = app.test_client(user=ent_user).post(
        f"/events/{event.id}/requests/{request.id}/accept", follow_redirects=True)
    assert "您不能回复该洽谈请求" in response.get_data(as_text=True)
    assert request.status == "pending"


def test_requests_after_the_deadline_are_refused(db, monkeypatch):
    event = make_event(requests_deadline=datetime(2026, 12, 14, 12, tzinfo=CHINA))
    freeze(monkeypatch, BEFORE)
    ent, ent_user, inst, _, _ = matched_pair(event)
    freeze(monkeypatch, datetime(2026, 12, 14, 12, 5, tzinfo=CHINA))
    with pytest.raises(ServiceError, match="洽谈请求已于12月14日 12:00截止"):
        service.request_meeting(ent_user, ent, inst)


def test_a_participant_who_is_not_registered(db, app, before):
    event = make_event(institution_cap=1)
    ent, ent_user = enterprise_side(event)
    inst, inst_user, _, _ = institution_side(event)
    waiting, waiting_user, _, _ = institution_side(event)
    assert waiting.status == "waitlisted"
    with pytest.raises(ServiceError, match="对方仍在候补名单中"):
        service.request_meeting(ent_user, ent, waiting)
    with pytest.raises(ServiceError, match="贵方仍在候补名单中"):
        service.request_meeting(waiting_user, waiting, ent)
    service.cancel_registration(inst_user, inst)
    with pytest.raises(ServiceError, match="对方未报名本次对接会"):
        service.request_meeting(ent_user, ent, inst)
    other_event = make_event()
    with pytest.raises(ServiceError, match="贵方未报名本次对接会"):
        service.request_meeting(ent_user, service.own_registration(ent_user, other_event), ent)
    db.session.commit()
    response = app.test_client(user=ent_user).post(f"/events/{event.id}/requests",
                                                   data={"to": 999999}, follow_redirects=True)
    assert "对方未报名本次对接会" in response.get_data(as_text=True)


def test_duplicate_and_declined_requests(db, before):
    event = make_event()
    ent, ent_user, inst, inst_user, _ = matched_pair(event)
    request = service.request_meeting(ent_user, ent, inst)
    with pytest.raises(ServiceError, match="双方已有洽谈请求"):
        service.request_meeting(inst_user, inst, ent)
    service.respond_request(inst_user, request, False)
    with pytest.raises(ServiceError, match="对方已婉拒"):
        service.request_meeting(ent_user, ent, inst)


def test_withdrawing_an_accepted_request_removes_its_meeting(db, before):
    event = make_event()
    ent, ent_user, inst, inst_user, _ = matched_pair(event)
    request = accepted(ent, ent_user, inst, inst_user)
    meetings.schedule_event(organizer(), event)
    assert request.meeting is not None
    service.withdraw_request(ent_user, request)
    assert request.status == "withdrawn"
    assert db.session.scalar(select(func.count(Meeting.id))) == 0
    assert_audited("event_meeting.cancelled")


def test_an_organizer_adds_a_must_meet_pair(db, app, before):
    event = make_event()
    ent, ent_user, inst, _inst_user, _ = matched_pair(event)
    response = app.test_client(user=organizer()).post(f"/events/{event.id}/must-meet", data={
        "enterprise_registration_id": ent.id, "institution_registration_id": inst.id})
    assert response.status_code == 302
    request = db.session.scalar(select(MeetingRequest))
    assert (request.origin, request.status, request.must_meet) == ("organizer", "accepted",
                                                                    True)
    assert any("组织方为您安排了" in n for n in notes(ent_user))
    assert_audited("meeting_request.must_meet", request)


# --- the schedule ---------------------------------------------------------------------------

def _busy_event(n_enterprises=6, n_institutions=3, managers=1, tables=2, slots=3):
    event = make_event(tables=tables, slots=slots)
    banks = [institution_side(event, managers=managers) for _ in range(n_institutions)]
    for n in range(n_enterprises):
        ent, ent_user = enterprise_side(event)
        for inst, inst_user, _, product in banks[: 1 + n % n_institutions]:
            MatchFactory(need=ent.need, product=product, score=Decimal(60 + 5 * n))
            accepted(ent, ent_user, inst, inst_user)
    return event, banks


def test_one_click_schedule_books_nobody_twice(db, app, before):
    event, _banks = _busy_event()
    client = app.test_client(user=organizer())
    response = client.post(f"/events/{event.id}/schedule", follow_redirects=True)
    assert "排程完成" in response.get_data(as_text=True)
    rows = db.session.scalars(select(Meeting).where(Meeting.event_id == event.id)).all()
    assert rows and event.status == "scheduled"
    for key in (lambda m: (m.slot_id, m.table_id), lambda m: (m.slot_id, m.manager_id),
                lambda m: (m.slot_id, m.enterprise_registration_id)):
        assert len({key(m) for m in rows}) == len(rows)
    assert len({m.enterprise_registration_id for m in rows}) == 6  # everyone meets someone
    assert_audited("event.scheduled", event, served=6)
    grid = client.get(f"/events/{event.id}/schedule")
    assert grid.status_code == 200 and "至少一场的企业 6/6 家" in grid.get_data(as_text=True)


def test_the_schedule_respects_unavailable_slots_and_managers(db, before):
    event = make_event(slots=3, tables=5)
    inst, inst_user, staff, product = institution_side(event, managers=2,
                                                       unavailable=[event.slots[0].id])
    firms = []
    for _ in range(5):
        ent, ent_user = enterprise_side(event, unavailable=[event.slots[2].id])
        MatchFactory(need=ent.need, product=product)
        accepted(ent, ent_user, inst, inst_user)
        firms.append(ent)
    report = meetings.schedule_event(organizer(), event)
    rows = db.session.scalars(select(Meeting)).all()
    assert {m.slot_id for m in rows} == {event.slots[1].id}  # the only slot both attend
    assert report.meetings == 2 and len(report.unplaced) == 3  # two managers, one slot
    assert {m.manager_id for m in rows} == {u.id for u in staff}


def test_scheduling_without_accepted_requests(db, before):
    event = make_event()
    matched_pair(event)
    with pytest.raises(ServiceError, match="还没有双方都已接受的洽谈请求"):
        meetings.schedule_event(organizer(), event)


def test_the_database_refuses_a_double_booked_table(db, before):
    event, _ = _busy_event()
    meetings.schedule_event(organizer(), event)
    one, two = db.session.scalars(select(Meeting).order_by(Meeting.id)).all()[:2]
    with pytest.raises(IntegrityError), db.session.begin_nested():
        two.slot_id, two.table_id = one.slot_id, one.table_id
        db.session.flush()


def test_moving_a_meeting_shows_conflicts(db, app, before):
    event = make_event(slots=3, tables=2)
    ent, ent_user, inst, inst_user, _ = matched_pair(event)
    ent2, ent2_user, inst2, inst2_user, _ = matched_pair(event)
    for pair in ((ent, ent_user, inst, inst_user), (ent2, ent2_user, inst2, inst2_user)):
        accepted(*pair)
    meetings.schedule_event(organizer(), event)
    first, second = db.session.scalars(select(Meeting).order_by(Meeting.id)).all()
    client = app.test_client(user=organizer())
    db.session.commit()
    url = f"/events/{event.id}/meetings/{first.id}/move"
    assert client.get(url).status_code == 200
    taken = client.post(url, data={"slot_id": second.slot_id, "table_id": second.table_id})
    assert taken.status_code == 400
    assert f"{second.table.label}在" in taken.get_data(as_text=True)
    # a slot the enterprise said it cannot attend: shown, moved only when confirmed
    free = next(s for s in event.slots if s.id not in (first.slot_id, second.slot_id))
    ent_of_first = first.enterprise_registration
    from matchmaker.events.models import UnavailableSlot

    db.session.add(UnavailableSlot(registration_id=ent_of_first.id, slot_id=free.id))
    db.session.commit()
    db.session.expire(ent_of_first, ["unavailable_rows"])
    soft = client.post(url, data={"slot_id": free.id, "table_id": first.table_id})
    assert soft.status_code == 400 and "不能参加" in soft.get_data(as_text=True)
    assert first.slot_id != free.id
    done = client.post(url, data={"slot_id": free.id, "table_id": first.table_id,
                                  "confirm": "y"})
    assert done.status_code == 302 and first.slot_id == free.id
    assert_audited("event_meeting.moved", first)


def test_table_print_and_agenda_files(db, app, before):
    event = make_event()
    ent, ent_user, inst, inst_user, _ = matched_pair(event)
    accepted(ent, ent_user, inst, inst_user)
    meetings.schedule_event(organizer(), event)
    meeting = db.session.scalar(select(Meeting))
    client = app.test_client(user=ent_user)
    page = client.get(f"/events/{event.id}/registrations/{ent.id}/agenda")
    assert page.status_code == 200 and inst.name in page.get_data(as_text=True)
    ics = client.get(f"/events/{event.id}/registrations/{ent.id}/agenda.ics")
    assert ics.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(ics.data)
    (vevent,) = [c for c in cal.walk("VEVENT")]
    assert str(vevent["summary"]) == f"洽谈：{inst.name}"
    assert vevent.decoded("dtstart") == meeting.slot.starts_at
    svg = client.get(f"/events/{event.id}/registrations/{ent.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = client.get(f"/events/{event.id}/registrations/{ent.id}/qr.png")
    assert png.data.startswith(b"\x89PNG")
    sheet = app.test_client(user=organizer()).get(
        f"/events/{event.id}/tables/{meeting.table_id}/print")
    assert sheet.status_code == 200 and ent.name in sheet.get_data(as_text=True)


# --- the day --------------------------------------------------------------------------------

def _scheduled_pair(monkeypatch, managers=1):
    freeze(monkeypatch, BEFORE)
    event = make_event()
    ent, ent_user, inst, inst_user, staff = matched_pair(event, managers=managers)
    accepted(ent, ent_user, inst, inst_user)
    meetings.schedule_event(organizer(), event)
    freeze(monkeypatch, ON_THE_DAY)
    return event, ent, ent_user, inst, inst_user, staff


def test_check_in_by_qr_and_by_typed_code(db, app, monkeypatch):
    event, ent, _, inst, _, _ = _scheduled_pair(monkeypatch)
    client = app.test_client(user=organizer())
    page = client.get(f"/events/{event.id}/checkin?code={ent.checkin_code}")
    assert page.status_code == 200 and ent.name in page.get_data(as_text=True)
    scanned = client.post(f"/events/{event.id}/checkin",
                          json={"code": ent.checkin_code, "method": "qr"})
    assert scanned.status_code == 200 and scanned.json["ok"] and not scanned.json["already"]
    again = client.post(f"/events/{event.id}/checkin", json={"code": ent.checkin_code})
    assert again.json["already"] and "已于" in again.json["message"]
    typed = client.post(f"/events/{event.id}/checkin", data={"code": inst.checkin_code.lower()})
    assert typed.status_code == 302
    assert db.session.scalar(select(func.count(CheckIn.id))) == 2
    assert ent.checkin.method == "qr" and inst.checkin.method == "code"
    assert_audited("event.checked_in", ent, method="qr")
    wrong = client.post(f"/events/{event.id}/checkin", json={"code": "ZZZZ2222"})
    assert wrong.status_code == 422 and "签到码无效" in wrong.json["message"]


def test_check_in_only_on_the_day_and_only_for_participants(db, app, monkeypatch):
    event, ent, ent_user, _, _, _ = _scheduled_pair(monkeypatch)
    freeze(monkeypatch, BEFORE)
    with pytest.raises(ServiceError, match="只能在活动当天"):
        meetings.check_in(organizer(), event, ent.checkin_code)
    service.cancel_registration(ent_user, ent)
    freeze(monkeypatch, ON_THE_DAY)
    with pytest.raises(ServiceError, match="已取消报名"):
        meetings.check_in(organizer(), event, ent.checkin_code)


def test_attendance_records_no_shows(db, app, monkeypatch):
    event, ent, _, inst, _, _ = _scheduled_pair(monkeypatch)
    meetings.check_in(organizer(), event, inst.checkin_code)
    response = app.test_client(user=organizer()).post(f"/events/{event.id}/attendance")
    assert response.status_code == 302
    meeting = db.session.scalar(select(Meeting))
    assert (ent.attendance, inst.attendance, meeting.status) == ("no_show", "present",
                                                                 "no_show")
    assert event.status == "finished"
    assert_audited("event_registration.no_show", ent)
    assert_audited("event.attendance_recorded", event, no_shows=1, missed=1)
    with pytest.raises(ServiceError, match="未举行"):
        meetings.record_result(inst.manager_rows[0].user, meeting, "institution", "no_fit")


# --- results, leads and figures -------------------------------------------------------------

def test_a_follow_up_opens_a_lead_for_the_institution(db, app, monkeypatch):
    event, ent, ent_user, inst, _, staff = _scheduled_pair(monkeypatch)
    meeting = db.session.scalar(select(Meeting))
    response = app.test_client(user=ent_user).post(
        f"/events/{event.id}/meetings/{meeting.id}/result",
        data={"outcome": "follow_up", "note": "下周提交财务报表"})
    assert response.status_code == 302
    result = db.session.scalar(select(MeetingResult))
    lead = db.session.get(Lead, result.lead_id)
    assert (lead.source, lead.status, lead.need_id, lead.institution_id) == (
        "event", "open", ent.need_id, inst.institution_id)
    assert meeting.status == "held"
    assert_audited("meeting_result.recorded", result, outcome="follow_up")
    assert_audited("lead.opened", lead, source="event")
    # the firm's own consent at registration: the fields its form named, nothing more
    consent = db.session.scalar(select(Consent).where(Consent.need_id == ent.need_id))
    assert (consent.via, consent.scope, consent.basis, consent.granted_by_id) == (
        "event", list(lead_scope.REQUIRED), None, ent_user.id)
    assert_audited("consent.granted", consent, via="event", scope=list(lead_scope.REQUIRED))
    bank_page = app.test_client(user=staff[0]).get(f"/leads/{lead.id}")
    assert bank_page.status_code == 200
    assert ent.enterprise.name in bank_page.text and ent.enterprise.uscc not in bank_page.text


def test_a_follow_up_opens_no_lead_for_a_firm_awaiting_its_check(db, app, monkeypatch):
    event, ent, ent_user, _inst, _, _ = _scheduled_pair(monkeypatch)
    ent.enterprise.verification = "pending"  # registered itself; no organizer has checked it
    db.session.commit()
    meeting = db.session.scalar(select(Meeting))
    response = app.test_client(user=ent_user).post(
        f"/events/{event.id}/meetings/{meeting.id}/result", data={"outcome": "follow_up"})
    assert response.status_code == 302
    assert db.session.scalar(select(MeetingResult)).lead_id is None
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    assert db.session.scalar(select(func.count(Consent.id))) == 0


def test_a_follow_up_keeps_the_wider_consent_the_firm_gave_itself(db, app, monkeypatch):
    event, ent, ent_user, inst, _, _ = _scheduled_pair(monkeypatch)
    need = ent.need
    push.push_need(ent_user, need, [inst.institution_id], ["uscc", "revenue"])
    meeting = db.session.scalar(select(Meeting))
    response = app.test_client(user=ent_user).post(
        f"/events/{event.id}/meetings/{meeting.id}/result", data={"outcome": "follow_up"})
    assert response.status_code == 302
    live = db.session.scalars(select(Consent).where(Consent.need_id == need.id,
                                                    Consent.revoked_at.is_(None))).all()
    assert [(c.via, c.scope[-2:]) for c in live] == [("push", ["uscc", "revenue"])]


def test_a_managers_intention_claims_the_lead_with_the_leads_deadlines(db, app, monkeypatch):
    event, _ent, _, _inst, _, staff = _scheduled_pair(monkeypatch)
    meeting = db.session.scalar(select(Meeting))
    manager = staff[0]
    response = app.test_client(user=manager).post(
        f"/events/{event.id}/meetings/{meeting.id}/result",
        data={"outcome": "intention", "amount_wan": "500"})
    assert response.status_code == 302
    result = db.session.scalar(select(MeetingResult))
    assert result.amount_wan == Decimal(500) and result.side == "institution"
    claim = db.session.scalar(select(Claim).where(Claim.lead_id == result.lead_id))
    assert claim.manager_id == manager.id
    # claimed Wed 16 Dec: first contact within 2 working days, a decision within 10
    assert (claim.contact_due, claim.decision_due) == (date(2026, 12, 18), date(2026, 12, 30))


def test_an_intention_needs_an_amount(db, app, monkeypatch):
    event, _ent, ent_user, _, _, _ = _scheduled_pair(monkeypatch)
    meeting = db.session.scalar(select(Meeting))
    response = app.test_client(user=ent_user).post(
        f"/events/{event.id}/meetings/{meeting.id}/result", data={"outcome": "intention"})
    assert response.status_code == 400
    assert "签订意向请填写意向金额" in response.get_data(as_text=True)


def test_results_wait_for_the_day(db, monkeypatch):
    _event, _ent, ent_user, _, _, _ = _scheduled_pair(monkeypatch)
    freeze(monkeypatch, BEFORE)
    with pytest.raises(ServiceError, match="洽谈尚未举行"):
        meetings.record_result(ent_user, db.session.scalar(select(Meeting)), "enterprise",
                               "follow_up")


def test_six_months_on_the_organizer_sees_intentions_become_loans(db, app, monkeypatch):
    from matchmaker.leads import claims, outcomes

    event, _ent, _, _inst, _, staff = _scheduled_pair(monkeypatch)
    meeting = db.session.scalar(select(Meeting))
    result = meetings.record_result(staff[0], meeting, "institution", "intention",
                                    Decimal(500))
    lead = db.session.get(Lead, result.lead_id)
    claims.add_followup(staff[0], lead, "call", "首次电话")
    freeze(monkeypatch, datetime(2027, 1, 6, 10, tzinfo=CHINA))
    outcomes.approve_lead(staff[0], lead, product=meeting.request.product,
                       amount_wan=Decimal(450), rate=Decimal("3.6"), term_months=12,
                       guarantee_mode="credit", approved_on=EVENT_DAY + timedelta(days=20))
    freeze(monkeypatch, datetime(2027, 6, 20, 10, tzinfo=CHINA))
    numbers = figures.event_figures(event)
    assert (numbers.intentions, numbers.intention_wan) == (1, Decimal(500))
    outcome = numbers.outcomes
    assert outcome.final and outcome.cutoff == date(2027, 6, 16)
    assert (outcome.intention_leads, outcome.approved, outcome.approved_wan) == (
        1, 1, Decimal(450))
    page = app.test_client(user=organizer()).get(f"/events/{event.id}")
    assert "1 笔 · 450 万元" in page.get_data(as_text=True)


def test_the_years_enterprises_served_against_the_target(db, app, monkeypatch):
    event, _ent, ent_user, _, _, _ = _scheduled_pair(monkeypatch)
    meetings.record_result(ent_user, db.session.scalar(select(Meeting)), "enterprise",
                           "no_fit")
    db.session.get(Setting, "enterprises_served_target").value = 40
    target = figures.year_target(2026)
    assert (target.served, target.target, target.percent) == (1, 40, 2)
    page = app.test_client(user=organizer()).get(f"/events/{event.id}")
    assert "1</span> / 40 家次" in page.get_data(as_text=True)


def test_no_personal_data_in_the_logs(db, app, monkeypatch, caplog):
    caplog.set_level("INFO")
    event, ent, _ent_user, _inst, _, _ = _scheduled_pair(monkeypatch)
    meetings.check_in(organizer(), event, ent.checkin_code)
    assert ent.enterprise.name not in caplog.text and ent.enterprise.uscc not in caplog.text
