"""Shared builders for the events tests (this module holds no tests).

Events are written directly (a published event with slots and tables); registrations and
requests go through the services, so audit rows, codes and notifications are the real ones.
The platform clock is frozen with `freeze`.
"""
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from matchmaker import clock
from matchmaker.events import service
from matchmaker.events.models import Event, EventSlot, EventTable
from matchmaker.extensions import db
from tests.factories import (
    InstitutionFactory,
    MatchFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
)

CHINA = ZoneInfo("Asia/Shanghai")
EVENT_DAY = date(2026, 12, 16)  # a Wednesday
BEFORE = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA)  # registration open
ON_THE_DAY = datetime(2026, 12, 16, 8, 30, tzinfo=CHINA)


def freeze(monkeypatch, moment: datetime) -> None:
    """Stop the platform clock at `moment`."""
    monkeypatch.setattr(clock, "now", lambda: moment)


def organizer(district=None, **fields):
    return user_for_role("organizer", district=district, **fields)


def make_event(*, district=None, slots=4, tables=3, status="published", day=EVENT_DAY,
               length=20, **fields) -> Event:
    values = {"title": "永川区智能装备专场银企对接会", "venue": "永川区会展中心二楼",
              "registration_deadline": datetime.combine(day - timedelta(days=5), time(18),
                                                        CHINA)}
    values.update(fields)
    event = Event(day=day, district=district, status=status, **values)
    db.session.add(event)
    db.session.flush()
    start = datetime.combine(day, time(9), CHINA)
    for n in range(slots):
        begin = start + timedelta(minutes=n * (length + 5))
        db.session.add(EventSlot(event_id=event.id, starts_at=begin,
                                 ends_at=begin + timedelta(minutes=length)))
    for n in range(1, tables + 1):
        db.session.add(EventTable(event_id=event.id, number=n))
    db.session.flush()
    db.session.expire(event, ["slots", "tables"])
    return event


def enterprise_side(event, need=None, unavailable=(), **need_fields):
    """(registration, the enterprise's user) — registered through the service."""
    need = need or NeedFactory(**need_fields)
    user = user_for_role("enterprise", enterprise=need.enterprise)
    reg = service.register_enterprise(user, event, need, unavailable, consent=True)
    return reg, user


def institution_side(event, managers=1, institution=None, unavailable=(), role="bank_admin"):
    """(registration, the registering user, [manager users], product)."""
    institution = institution or InstitutionFactory()
    product = ProductFactory(institution=institution)
    staff = [user_for_role("bank_manager", institution=institution) for _ in range(managers)]
    admin = user_for_role(role, institution=institution)
    reg = service.register_institution(admin, event, institution, [u.id for u in staff],
                                       [product.id], unavailable)
    return reg, admin, staff, product


def matched_pair(event, score="80.0", managers=1):
    """An enterprise and an institution registered, the need matched to the product."""
    ent, ent_user = enterprise_side(event)
    inst, inst_user, staff, product = institution_side(event, managers=managers)
    MatchFactory(need=ent.need, product=product, score=Decimal(score))
    return ent, ent_user, inst, inst_user, staff


def accepted(ent, ent_user, inst, inst_user):
    request = service.request_meeting(ent_user, ent, inst, "想了解流动资金贷")
    service.respond_request(inst_user, request, True)
    return request
