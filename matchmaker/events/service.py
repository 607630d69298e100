"""银企对接会 before the day: the event, its slots and tables, invitations, registrations (capped,
with a waitlist), suggested partners and meeting requests. Flush, never commit.

Scheduling, check-in and results are in meetings.py; the organizer's figures in figures.py.

Time comes from `matchmaker.clock` (tests freeze `clock.now`).
"""
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock
from ..accounts.models import BANK_ROLES, User
from ..audit.service import record
from ..enterprises.models import Enterprise, Need
from ..enterprises.permissions import is_need_owner
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Institution, InstitutionDistrict, Product
from ..matching.models import Match
from ..matching.queries import matches_by_institution, served
from ..notifications.service import notify_all
from .models import (
    Event,
    EventInvitation,
    EventSlot,
    EventTable,
    Meeting,
    MeetingRequest,
    Registration,
    RegistrationManager,
    RegistrationProduct,
    UnavailableSlot,
)
from .permissions import (
    can_create_event,
    can_manage_event,
    is_request_receiver,
    is_request_sender,
    may_request_meeting,
    speaks_for_institution,
    speaks_for_registration,
)

log = logging.getLogger(__name__)

OPEN_NEED_STATUSES = ("published", "in_progress")
MAX_SLOTS = 48
MAX_TABLES = 500
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by hand at the door
MANAGERS = "只有负责该活动所在区县的组织方可以管理该对接会"


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(clock.CHINA) if moment else None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = clock.china_midnight(day)
    return start, start + timedelta(days=1)


def _path(endpoint: str, **values) -> str:
    return current_app.url_map.bind("").build(endpoint, values)


def _hm(moment: datetime) -> str:
    return local(moment).strftime("%H:%M")


def _span(start: datetime, end: datetime) -> str:
    return f"{_hm(start)}–{_hm(end)}"


# --- who hears about it ---------------------------------------------------------------------

def party_users(registration: Registration) -> list[User]:
    """The active users speaking for a registration's enterprise or institution."""
    if registration.kind == "enterprise":
        cond = (User.role == "enterprise", User.enterprise_id == registration.enterprise_id)
    else:
        cond = (User.role.in_(BANK_ROLES), User.institution_id == registration.institution_id)
    return list(db.session.scalars(select(User).where(User.active.is_(True), *cond)
                                   .order_by(User.id)))


# --- the event ------------------------------------------------------------------------------

EVENT_FIELDS = ("title", "day", "venue", "district", "theme_cluster", "theme_purpose",
                "description", "registration_deadline", "requests_deadline", "enterprise_cap",
                "institution_cap")


def _check_event_values(values: dict, today: date) -> None:
    day = values["day"]
    if day < today:
        raise ServiceError("活动日期不能早于今天", field="day")
    _, day_end = day_bounds(day)
    deadline = values["registration_deadline"]
    if deadline > day_end:
        raise ServiceError("报名截止时间不能晚于活动当天", field="registration_deadline")
    closing = values.get("requests_deadline")
    if closing is not None and not deadline <= closing <= day_end:
        raise ServiceError("洽谈请求截止时间须在报名截止之后、活动结束之前",
                           field="requests_deadline")
    for name in ("enterprise_cap", "institution_cap"):
        if values.get(name) is not None and values[name] < 1:
            raise ServiceError("名额上限至少为1（不限请留空）", field=name)


@guarded(can_create_event, message="只有组织方可以创建对接会")
def create_event(actor, **values) -> Event:
    """A draft event; a district organizer's events belong to that district."""
    values = {k: values.get(k) for k in EVENT_FIELDS}
    if actor.district:
        values["district"] = actor.district
    _check_event_values(values, clock.china_today())
    event = Event(status="draft", created_by_id=actor.id, **values)
    db.session.add(event)
    db.session.flush()
    record(actor, "event.created", event, title=event.title, day=event.day,
           district=event.district)
    log.info("event %s created by user %s", event.id, actor.id)
    return event


@guarded(can_manage_event, "event", message=MANAGERS)
def update_event(actor, event: Event, **values) -> Event:
    if event.status == "finished":
        raise ServiceError("活动已结束，不能修改")
    values = {k: values.get(k) for k in EVENT_FIELDS}
    if actor.district:
        values["district"] = actor.district
    _check_event_values(values, min(clock.china_today(), event.day))
    moved_by = values["day"] - event.day
    if moved_by and _has_started(event):
        raise ServiceError("洽谈已开始，不能再改活动日期", field="day")
    changed = {k: v for k, v in values.items() if getattr(event, k) != v}
    for name, value in changed.items():
        setattr(event, name, value)
    # the slots (and the meetings in them) move with the day: same hours, new date
    for slot in event.slots if moved_by else ():
        slot.starts_at, slot.ends_at = slot.starts_at + moved_by, slot.ends_at + moved_by
    db.session.flush()
    if changed:
        record(actor, "event.updated", event, fields=sorted(changed),
               **({"moved_days": moved_by.days, "slots_moved": len(event.slots)}
                  if moved_by else {}))
    if moved_by and event.status != "draft":
        _announce_new_day(event)
    return event


def _has_started(event: Event) -> bool:
    return db.session.scalar(select(Meeting.id).where(
        Meeting.event_id == event.id, Meeting.status != "scheduled").limit(1)) is not None


def _announce_new_day(event: Event) -> None:
    for reg in db.session.scalars(registrations(event, None, None)):
        if reg.status == "cancelled":
            continue
        notify_all(party_users(reg), "event.moved",
                   f"“{event.title}”改期至{event.day:%m月%d日}，洽谈时间不变，请查看日程",
                   _path("events.show", event_id=event.id))


def _editable_plan(event: Event) -> None:
    if event.status not in ("draft", "published"):
        raise ServiceError("已排程的活动不能再改时段和桌位，如需调整请手动调整洽谈")


@guarded(can_manage_event, "event", message=MANAGERS)
def add_slots(actor, event: Event, first_start: datetime, length_minutes: int, count: int,
              gap_minutes: int = 0) -> list[EventSlot]:
    """`count` consecutive slots of `length_minutes` from `first_start` (China time), with
    `gap_minutes` between them; all on the event day, none overlapping another slot."""
    _editable_plan(event)
    if not 5 <= length_minutes <= 240:
        raise ServiceError("每轮时长应在5至240分钟之间", field="length_minutes")
    if count < 1 or len(event.slots) + count > MAX_SLOTS:
        raise ServiceError(f"每场活动最多{MAX_SLOTS}个时段", field="count")
    if gap_minutes < 0:
        raise ServiceError("间隔不能为负数", field="gap_minutes")
    spans = [(first_start + timedelta(minutes=n * (length_minutes + gap_minutes)),)
             for n in range(count)]
    spans = [(s, s + timedelta(minutes=length_minutes)) for (s,) in spans]
    day_start, day_end = day_bounds(event.day)
    for start, end in spans:
        if start < day_start or end > day_end:
            raise ServiceError(f"时段 {local(start):%m-%d %H:%M}–{_hm(end)} 不在活动当天"
                               f"（{event.day:%Y-%m-%d}）", field="first_start")
    for old in event.slots:
        for start, end in spans:
            if start < old.ends_at and old.starts_at < end:
                raise ServiceError(f"新时段 {_span(start, end)} 与已有时段 "
                                   f"{_span(old.starts_at, old.ends_at)} 重叠",
                                   field="first_start")
    slots = [EventSlot(event_id=event.id, starts_at=s, ends_at=e) for s, e in spans]
    db.session.add_all(slots)
    db.session.flush()
    db.session.expire(event, ["slots"])
    record(actor, "event.slots_added", event, count=count, first=local(spans[0][0]),
           length_minutes=length_minutes)
    return slots


@guarded(can_manage_event, "event", message=MANAGERS)
def remove_slot(actor, event: Event, slot: EventSlot) -> None:
    _editable_plan(event)
    if slot.event_id != event.id:
        raise ValueError("slot of another event")
    span = _span(slot.starts_at, slot.ends_at)
    db.session.delete(slot)
    db.session.flush()
    db.session.expire(event, ["slots"])
    record(actor, "event.slot_removed", event, slot=span)


@guarded(can_manage_event, "event", message=MANAGERS)
def set_tables(actor, event: Event, count: int) -> list[EventTable]:
    """Tables numbered 1..count."""
    _editable_plan(event)
    if not 1 <= count <= MAX_TABLES:
        raise ServiceError(f"桌数应在1至{MAX_TABLES}之间", field="count")
    have = {t.number: t for t in event.tables}
    for number in range(1, count + 1):
        if number not in have:
            db.session.add(EventTable(event_id=event.id, number=number))
    for number, table in have.items():
        if number > count:
            db.session.delete(table)
    db.session.flush()
    db.session.expire(event, ["tables"])
    record(actor, "event.tables_set", event, count=count)
    return event.tables


@guarded(can_manage_event, "event", message=MANAGERS)
def publish_event(actor, event: Event) -> Event:
    """Opens the registration page."""
    if event.status != "draft":
        raise ServiceError("活动已发布")
    if not event.slots:
        raise ServiceError("请先设置洽谈时段")
    if not event.tables:
        raise ServiceError("请先设置洽谈桌数")
    if event.registration_deadline <= clock.now():
        raise ServiceError("报名截止时间已过，请先修改截止时间")
    event.status = "published"
    event.published_at = clock.now()
    db.session.flush()
    record(actor, "event.published", event)
    return event


# --- invitations ----------------------------------------------------------------------------

@dataclass
class InviteReport:
    enterprises: int = 0
    institutions: int = 0
    skipped: int = 0


@guarded(can_manage_event, "event", message=MANAGERS)
def invite(actor, event: Event, source: str, whitelist_id: int | None = None) -> InviteReport:
    """Invite enterprises and institutions: from the matches (the event's theme and
    district), from a whitelist batch, or everyone in the event's district / theme cluster.
    Each party is invited (and notified) once per event."""
    if event.status not in ("published", "scheduled"):
        raise ServiceError("请先发布活动报名页，再邀请参会方")
    finders = {"matches": _from_matches, "district": _from_district,
               "cluster": _from_cluster, "whitelist": _from_whitelist}
    if source not in finders:
        raise ServiceError("请选择邀请范围", field="source")
    enterprise_ids, institution_ids = finders[source](actor, event, whitelist_id)
    report = InviteReport()
    link = _path("events.show", event_id=event.id)
    for kind, ids in (("enterprise", enterprise_ids), ("institution", institution_ids)):
        for party_id in sorted(ids):
            if _invited_or_registered(event, kind, party_id):
                report.skipped += 1
                continue
            _add_invitation(actor, event, kind, party_id, source, link)
            if kind == "enterprise":
                report.enterprises += 1
            else:
                report.institutions += 1
    db.session.flush()
    record(actor, "event.invited", event, source=source, enterprises=report.enterprises,
           institutions=report.institutions, whitelist_id=whitelist_id)
    return report


def _add_invitation(actor, event, kind, party_id, source, link) -> None:
    column = "enterprise_id" if kind == "enterprise" else "institution_id"
    db.session.add(EventInvitation(event_id=event.id, source=source, invited_by_id=actor.id,
                                   invited_at=clock.now(), **{column: party_id}))
    if kind == "enterprise":
        users = select(User).where(User.role == "enterprise", User.enterprise_id == party_id)
    else:
        users = select(User).where(User.role.in_(BANK_ROLES), User.institution_id == party_id)
    notify_all(db.session.scalars(users.where(User.active.is_(True))),
               "event.invited", f"诚邀参加{event.day:%m月%d日}银企对接会：{event.title}", link)


def _invited_or_registered(event: Event, kind: str, party_id: int) -> bool:
    if kind == "enterprise":
        inv = EventInvitation.enterprise_id == party_id
        reg = Registration.enterprise_id == party_id
    else:
        inv = EventInvitation.institution_id == party_id
        reg = Registration.institution_id == party_id
    return (db.session.scalar(select(EventInvitation.id).where(
        EventInvitation.event_id == event.id, inv)) is not None
        or db.session.scalar(select(Registration.id).where(
            Registration.event_id == event.id, reg, Registration.status != "cancelled"))
        is not None)


def _enterprise_scope(actor, event: Event):
    """Enterprises the organizer may invite: the organizer's district, and the event's."""
    conds = []
    for district in {actor.district, event.district} - {None}:
        conds.append(Enterprise.district == district)
    return conds


def _from_matches(actor, event, _whitelist_id):
    """The enterprises with an open need that a published product matches, and those
    products' institutions (matching.queries.served: never a product's old terms)."""
    conditions = [Need.status.in_(OPEN_NEED_STATUSES), *_enterprise_scope(actor, event)]
    if event.theme_purpose:
        conditions.append(Need.purpose == event.theme_purpose)
    if event.theme_cluster:
        conditions.append(Enterprise.cluster == event.theme_cluster)
    return served(*conditions)


def _lenders(event: Event) -> set[int]:
    """Institutions with a published product, serving the event's district if it has one."""
    query = select(Product.institution_id).where(Product.status == "published")
    if event.district:
        serves = select(InstitutionDistrict.institution_id).where(
            InstitutionDistrict.value == event.district)
        anywhere = select(InstitutionDistrict.institution_id)
        query = query.where(or_(Product.institution_id.in_(serves),
                                Product.institution_id.not_in(anywhere)))
    return set(db.session.scalars(query.distinct()))


def _from_district(actor, event, _whitelist_id):
    district = event.district or actor.district
    if not district:
        raise ServiceError("市级活动没有区县，请按匹配结果或产业集群邀请", field="source")
    enterprises = set(db.session.scalars(select(Enterprise.id)
                                         .where(Enterprise.district == district)))
    return enterprises, _lenders(event)


def _from_cluster(actor, event, _whitelist_id):
    if not event.theme_cluster:
        raise ServiceError("活动未设置产业集群主题，请先在活动信息中选择", field="source")
    enterprises = set(db.session.scalars(select(Enterprise.id).where(
        Enterprise.cluster == event.theme_cluster, *_enterprise_scope(actor, event))))
    return enterprises, _lenders(event)


def _from_whitelist(actor, event, whitelist_id):
    """The batch's enterprises, and the institutions it was pushed to."""
    from ..whitelists.models import Push, Whitelist, WhitelistEntry
    from ..whitelists.permissions import visible_whitelists

    whitelist = (db.session.scalar(visible_whitelists(actor).where(Whitelist.id == whitelist_id))
                 if whitelist_id else None)
    if whitelist is None:
        raise ServiceError("请选择一份白名单", field="whitelist_id")
    enterprises = set(db.session.scalars(select(WhitelistEntry.enterprise_id)
                                         .where(WhitelistEntry.whitelist_id == whitelist.id)))
    institutions = set(db.session.scalars(
        select(Push.institution_id).join(WhitelistEntry, WhitelistEntry.id == Push.entry_id)
        .where(WhitelistEntry.whitelist_id == whitelist.id)))
    return enterprises, institutions


def whitelist_choices(actor) -> list[tuple[int, str]]:
    """The whitelist batches the organizer may invite from, newest first."""
    from ..whitelists.models import Whitelist
    from ..whitelists.permissions import visible_whitelists

    rows = db.session.scalars(visible_whitelists(actor).order_by(Whitelist.issued_on.desc(),
                                                                 Whitelist.id.desc()))
    return [(w.id, f"{w.title}（{w.status_label}）") for w in rows]


def invitation_counts(event: Event) -> dict[str, int]:
    rows = db.session.execute(
        select(EventInvitation.enterprise_id.is_(None), func.count())
        .where(EventInvitation.event_id == event.id)
        .group_by(EventInvitation.enterprise_id.is_(None))).all()
    counts = {"enterprise": 0, "institution": 0}
    for is_institution, n in rows:
        counts["institution" if is_institution else "enterprise"] = n
    return counts


# --- registration ---------------------------------------------------------------------------

def _check_registration_open(event: Event) -> None:
    if event.status != "published":
        raise ServiceError("本次对接会当前不接受报名" if event.status != "draft"
                           else "本次对接会尚未开放报名")
    if clock.now() > event.registration_deadline:
        raise ServiceError(f"报名已于{local(event.registration_deadline):%m月%d日 %H:%M}截止")


def _lock_event(event: Event) -> None:
    """Serialize registrations of one event, so that two at once never exceed the cap
    (PostgreSQL: row lock; SQLite: the write lock taken by this no-op update)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    else:
        db.session.execute(Event.__table__.update().where(Event.id == event.id)
                           .values(status=Event.status))


def registered_count(event: Event, kind: str) -> int:
    return db.session.scalar(select(func.count(Registration.id)).where(
        Registration.event_id == event.id, Registration.kind == kind,
        Registration.status == "registered"))


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def _unavailable_rows(event: Event, slot_ids) -> list[UnavailableSlot]:
    ids = {int(i) for i in slot_ids or ()}
    own = {s.id for s in event.slots}
    if not ids <= own:
        raise ServiceError("所选时段不属于本次对接会", field="unavailable")
    if own and ids >= own:
        raise ServiceError("请至少保留一个可以参加的时段", field="unavailable")
    return [UnavailableSlot(slot_id=i) for i in sorted(ids)]


def _insert_registration(actor, event: Event, registration: Registration) -> Registration:
    _lock_event(event)
    cap = event.enterprise_cap if registration.kind == "enterprise" else event.institution_cap
    full = cap is not None and registered_count(event, registration.kind) >= cap
    registration.status = "waitlisted" if full else "registered"
    registration.registered_by_id = actor.id
    registration.created_at = clock.now()
    for _attempt in range(5):
        registration.checkin_code = _new_code()
        try:
            with db.session.begin_nested():  # a taken code, or a double click, undoes this only
                db.session.add(registration)
                db.session.flush()
            break
        except IntegrityError:
            if _live_registration(event, registration) is not None:
                raise ServiceError("已报名本次对接会，无需重复报名") from None
    record(actor, "event_registration.created", registration, event_id=event.id,
           kind=registration.kind, status=registration.status)
    log.info("registration %s (%s) for event %s: %s", registration.id, registration.kind,
             event.id, registration.status)
    return registration


def _live_registration(event: Event, registration: Registration) -> Registration | None:
    column = (Registration.enterprise_id == registration.enterprise_id
              if registration.kind == "enterprise"
              else Registration.institution_id == registration.institution_id)
    return db.session.scalar(select(Registration).where(
        Registration.event_id == event.id, column, Registration.status != "cancelled"))


@guarded(is_need_owner, "need", message="只能以本企业的融资需求报名")
def register_enterprise(actor, event: Event, need: Need, unavailable=(),
                        consent: bool = False) -> Registration:
    """The actor's enterprise registers with one of its open needs; when the event is full
    the registration is waitlisted."""
    _check_registration_open(event)
    if need.status not in OPEN_NEED_STATUSES:
        raise ServiceError("请选择一条已发布的融资需求", field="need_id")
    if not consent:
        raise ServiceError("请确认同意向参会金融机构展示企业概况和本需求", field="consent")
    registration = Registration(event_id=event.id, kind="enterprise",
                                enterprise_id=need.enterprise_id, need_id=need.id,
                                consent_at=clock.now())
    if _live_registration(event, registration) is not None:
        raise ServiceError("贵企业已报名本次对接会，无需重复报名")
    registration.unavailable_rows = _unavailable_rows(event, unavailable)
    return _insert_registration(actor, event, registration)


def institution_managers(institution_id: int) -> list[User]:
    """The 客户经理 an institution can bring: they hold the meetings; its admin assigns them
    (meetings.assign_meeting) and does not sit at a table."""
    return list(db.session.scalars(select(User).where(
        User.institution_id == institution_id, User.role == "bank_manager",
        User.active.is_(True)).order_by(User.name)))


def institution_products(institution_id: int) -> list[Product]:
    return list(db.session.scalars(select(Product).where(
        Product.institution_id == institution_id, Product.status == "published")
        .order_by(Product.name)))


@guarded(speaks_for_institution, "institution", message="只有该机构的用户可以为其报名")
def register_institution(actor, event: Event, institution: Institution, manager_ids=(),
                         product_ids=(), unavailable=()) -> Registration:
    """The actor's institution registers with the managers it brings (each holds one
    meeting per slot) and the products it presents."""
    _check_registration_open(event)
    managers = {u.id for u in institution_managers(institution.id)}
    chosen = {int(i) for i in manager_ids or ()}
    if not chosen:
        raise ServiceError("请至少选择一名参会的客户经理", field="manager_ids")
    if not chosen <= managers:
        raise ServiceError("所选人员不是本机构的在职客户经理", field="manager_ids")
    products = {p.id for p in institution_products(institution.id)}
    picked = {int(i) for i in product_ids or ()}
    if not picked:
        raise ServiceError("请至少选择一个参会产品", field="product_ids")
    if not picked <= products:
        raise ServiceError("只能选择本机构已发布的产品", field="product_ids")
    registration = Registration(event_id=event.id, kind="institution",
                                institution_id=institution.id)
    if _live_registration(event, registration) is not None:
        raise ServiceError("贵机构已报名本次对接会，无需重复报名")
    registration.manager_rows = [RegistrationManager(user_id=i) for i in sorted(chosen)]
    registration.product_rows = [RegistrationProduct(product_id=i) for i in sorted(picked)]
    registration.unavailable_rows = _unavailable_rows(event, unavailable)
    return _insert_registration(actor, event, registration)


@guarded(speaks_for_registration, "registration",
         message="只有报名方本身或负责该活动的组织方可以取消报名")
def cancel_registration(actor, registration: Registration) -> Registration:
    """Cancels the registration, withdraws its requests (their meetings are removed) and, if
    it held a place, moves the oldest waitlisted registration of its kind up."""
    event = registration.event
    if registration.status == "cancelled":
        raise ServiceError("该报名已取消")
    if event.status == "finished" or clock.china_today() >= event.day:
        raise ServiceError("活动当天及之后不能取消报名，未到场将记为缺席")
    held_place = registration.status == "registered"
    registration.status = "cancelled"
    registration.cancelled_at = clock.now()
    registration.cancelled_by_id = actor.id
    for request in _live_requests_of(registration):
        _withdraw(actor, request, reason="registration_cancelled")
    db.session.flush()
    record(actor, "event_registration.cancelled", registration, event_id=event.id)
    if held_place:
        promote_waitlisted(event, registration.kind)
    return registration


def promote_waitlisted(event: Event, kind: str) -> Registration | None:
    """The oldest waitlisted registration of the kind takes a free place, if there is one."""
    cap = event.enterprise_cap if kind == "enterprise" else event.institution_cap
    if cap is not None and registered_count(event, kind) >= cap:
        return None
    waiting = db.session.scalar(select(Registration).where(
        Registration.event_id == event.id, Registration.kind == kind,
        Registration.status == "waitlisted").order_by(Registration.created_at,
                                                       Registration.id).limit(1))
    if waiting is None:
        return None
    waiting.status = "registered"
    waiting.promoted_at = clock.now()
    db.session.flush()
    record(None, "event_registration.promoted", waiting, event_id=event.id)
    notify_all(party_users(waiting), "event.promoted",
               f"您已从候补转为正式参会：{event.title}（{event.day:%m月%d日}）",
               _path("events.show", event_id=event.id), email=True)
    log.info("registration %s promoted from the waitlist of event %s", waiting.id, event.id)
    return waiting


def own_registration(user, event: Event) -> Registration | None:
    from .permissions import own_party_clause

    return db.session.scalar(select(Registration).where(
        Registration.event_id == event.id, own_party_clause(user),
        Registration.status != "cancelled"))


def registrations(event: Event, kind: str | None = None, status: str | None = None):
    query = (select(Registration).where(Registration.event_id == event.id)
             .options(selectinload(Registration.enterprise), selectinload(Registration.need),
                      selectinload(Registration.institution),
                      selectinload(Registration.checkin)))
    if kind:
        query = query.where(Registration.kind == kind)
    if status:
        query = query.where(Registration.status == status)
    return query.order_by(Registration.kind, Registration.status, Registration.created_at,
                          Registration.id)


# --- suggested partners and meeting requests ------------------------------------------------

@dataclass
class Suggestion:
    partner: Registration
    score: Decimal | None = None
    reasons: list = field(default_factory=list)
    product: Product | None = None
    request: MeetingRequest | None = None


def _registered(event: Event, kind: str) -> list[Registration]:
    return list(db.session.scalars(registrations(event, kind, "registered")))


def best_match(need_id: int, institution_registration: Registration) -> Match | None:
    """The need's best stored match among the products the institution brings, in the
    matcher's order that leads and whitelists use too; None when none of them matches."""
    institution_id = institution_registration.institution_id
    matches = matches_by_institution(need_id, [institution_id]).get(institution_id, [])
    brought = set(institution_registration.product_ids or ())
    # only what the bank brings to the event: another of its products is no talking point
    return next((m for m in matches if m.product_id in brought), None)


def suggestions(registration: Registration) -> tuple[list[Suggestion], list[Suggestion]]:
    """(matched partners best first, the other registered partners): the matcher's pairings
    of the registered needs with the registered products, with its reasons."""
    event = registration.event
    other_kind = "institution" if registration.kind == "enterprise" else "enterprise"
    partners = _registered(event, other_kind)
    existing = {(r.enterprise_registration_id, r.institution_registration_id): r
                for r in _requests_of(registration)}
    matched, rest = [], []
    for partner in partners:
        ent, inst = ((registration, partner) if registration.kind == "enterprise"
                     else (partner, registration))
        match = best_match(ent.need_id, inst)
        item = Suggestion(partner, request=existing.get((ent.id, inst.id)))
        if match is not None:
            item.score, item.reasons, item.product = match.score, list(match.reasons), match.product
            matched.append(item)
        else:
            rest.append(item)
    matched.sort(key=lambda s: (-s.score, s.partner.id))
    rest.sort(key=lambda s: s.partner.id)
    return matched, rest


def _requests_of(registration: Registration) -> list[MeetingRequest]:
    column = (MeetingRequest.enterprise_registration_id if registration.kind == "enterprise"
              else MeetingRequest.institution_registration_id)
    return list(db.session.scalars(select(MeetingRequest).where(column == registration.id)
                                   .order_by(MeetingRequest.created_at.desc())))


def _live_requests_of(registration: Registration) -> list[MeetingRequest]:
    return [r for r in _requests_of(registration) if r.status in ("pending", "accepted")]


def requests_for(registration: Registration) -> list[MeetingRequest]:
    return _requests_of(registration)


def _check_requests_open(event: Event) -> None:
    if event.status not in ("published", "scheduled"):
        raise ServiceError("本次对接会当前不接受洽谈请求")
    if clock.now() > event.requests_close_at:
        raise ServiceError(f"洽谈请求已于{local(event.requests_close_at):%m月%d日 %H:%M}截止")


def _check_participant(registration: Registration | None, whose: str) -> None:
    if registration is None or registration.status == "cancelled":
        raise ServiceError(f"{whose}未报名本次对接会")
    if registration.status == "waitlisted":
        raise ServiceError(f"{whose}仍在候补名单中，转为正式参会后才能安排洽谈")


@guarded(may_request_meeting, "sender", message="只能以贵方自己的报名发出洽谈请求")
def request_meeting(actor, sender: Registration | None, receiver: Registration | None,
                    message: str | None = None) -> MeetingRequest:
    """A meeting request from the actor's side to a registered participant of the other side;
    the other side accepts or declines it."""
    _check_participant(sender, "贵方")
    event = sender.event
    _check_requests_open(event)
    if receiver is not None and (receiver.event_id != event.id or receiver.kind == sender.kind):
        receiver = None
    _check_participant(receiver, "对方")
    ent, inst = (sender, receiver) if sender.kind == "enterprise" else (receiver, sender)
    request = db.session.scalar(select(MeetingRequest).where(
        MeetingRequest.enterprise_registration_id == ent.id,
        MeetingRequest.institution_registration_id == inst.id))
    if request is not None and request.status in ("pending", "accepted"):
        raise ServiceError("双方已有洽谈请求，请在“我的洽谈请求”中查看")
    if request is not None and request.status == "declined":
        raise ServiceError("对方已婉拒与贵方洽谈")
    match = best_match(ent.need_id, inst)
    if request is None:
        request = MeetingRequest(event_id=event.id, enterprise_registration_id=ent.id,
                                 institution_registration_id=inst.id)
        db.session.add(request)
    request.origin, request.status, request.must_meet = sender.kind, "pending", False
    request.product_id = match.product_id if match else None
    request.match_score = match.score if match else None
    request.message = (message or "").strip()[:255] or None
    request.created_by_id, request.created_at = actor.id, clock.now()
    request.responded_at = request.responded_by_id = None
    db.session.flush()
    record(actor, "meeting_request.created", request, event_id=event.id, origin=sender.kind,
           score=request.match_score)
    notify_all(party_users(receiver), "meeting_request.created",
               f"{sender.name}希望在“{event.title}”上与您洽谈",
               _path("events.requests", event_id=event.id))
    return request


@guarded(is_request_receiver, "request", message="只有收到该洽谈请求的一方可以回复")
def respond_request(actor, request: MeetingRequest, accept: bool) -> MeetingRequest:
    if request.status != "pending":
        raise ServiceError(f"该请求当前状态为“{request.status_label}”，不能再回复")
    event = request.event
    if event.status == "finished" or clock.china_today() > event.day:
        raise ServiceError("活动已结束")
    request.status = "accepted" if accept else "declined"
    request.responded_at, request.responded_by_id = clock.now(), actor.id
    db.session.flush()
    record(actor, "meeting_request.accepted" if accept else "meeting_request.declined",
           request, event_id=event.id)
    sender = (request.enterprise_registration if request.origin == "enterprise"
              else request.institution_registration)
    receiver = (request.institution_registration if request.origin == "enterprise"
                else request.enterprise_registration)
    notify_all(party_users(sender), "meeting_request.answered",
               f"{receiver.name}{'接受' if accept else '婉拒'}了您的洽谈请求（{event.title}）",
               _path("events.requests", event_id=event.id))
    return request


@guarded(is_request_sender, "request", message="只有发出该洽谈请求的一方可以撤回")
def withdraw_request(actor, request: MeetingRequest) -> MeetingRequest:
    if request.status not in ("pending", "accepted"):
        raise ServiceError(f"该请求当前状态为“{request.status_label}”，不能撤回")
    if request.meeting is not None and request.meeting.status != "scheduled":
        raise ServiceError("该洽谈已经举行，不能撤回")
    _withdraw(actor, request, reason="withdrawn")
    return request


def _withdraw(actor, request: MeetingRequest, reason: str) -> None:
    meeting = request.meeting
    if meeting is not None and meeting.status == "scheduled":
        record(actor, "event_meeting.cancelled", meeting, event_id=request.event_id,
               request_id=request.id, reason=reason)
        db.session.delete(meeting)
    request.status = "withdrawn"
    db.session.flush()
    record(actor, "meeting_request.withdrawn", request, event_id=request.event_id,
           reason=reason)


@guarded(can_manage_event, "event", message=MANAGERS)
def add_must_meet(actor, event: Event, enterprise_registration: Registration | None,
                  institution_registration: Registration | None) -> MeetingRequest:
    """An organizer's 必须洽谈 pair: accepted at once, scheduled before everything else."""
    for reg, whose in ((enterprise_registration, "该企业"), (institution_registration, "该机构")):
        if reg is not None and reg.event_id != event.id:
            reg = None
        _check_participant(reg, whose)
    if enterprise_registration.kind != "enterprise" or institution_registration.kind != "institution":
        raise ServiceError("请分别选择一家企业和一家金融机构")
    if event.status not in ("published", "scheduled"):
        raise ServiceError("本次对接会当前不能添加必洽配对")
    request = db.session.scalar(select(MeetingRequest).where(
        MeetingRequest.enterprise_registration_id == enterprise_registration.id,
        MeetingRequest.institution_registration_id == institution_registration.id))
    if request is None:
        match = best_match(enterprise_registration.need_id, institution_registration)
        request = MeetingRequest(event_id=event.id, origin="organizer",
                                 enterprise_registration_id=enterprise_registration.id,
                                 institution_registration_id=institution_registration.id,
                                 product_id=match.product_id if match else None,
                                 match_score=match.score if match else None,
                                 created_by_id=actor.id, created_at=clock.now())
        db.session.add(request)
    elif request.must_meet:
        raise ServiceError("该配对已是必洽配对")
    request.must_meet, request.status = True, "accepted"
    request.responded_at, request.responded_by_id = clock.now(), actor.id
    db.session.flush()
    record(actor, "meeting_request.must_meet", request, event_id=event.id)
    for reg in (enterprise_registration, institution_registration):
        other = (institution_registration if reg is enterprise_registration
                 else enterprise_registration)
        notify_all(party_users(reg), "meeting_request.must_meet",
                   f"组织方为您安排了与{other.name}的洽谈（{event.title}）",
                   _path("events.requests", event_id=event.id))
    return request
