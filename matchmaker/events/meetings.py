"""银企对接会 on and after the day: the schedule (scheduler.py turns the accepted requests into
meetings), moving a meeting by hand, check-in, attendance, and each side's result — a
follow-up or a signed intention becomes a lead. Flush, never commit."""
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from .. import clock
from ..accounts.models import User
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..leads import claims, consent
from ..leads import scope as lead_scope
from ..leads import service as leads
from ..leads.permissions import PUSHABLE_NEED_STATUSES, claim_refusal
from ..notifications.service import notify_all
from . import scheduler
from . import service as events
from .models import (
    CheckIn,
    Event,
    EventSlot,
    EventTable,
    Meeting,
    MeetingRequest,
    MeetingResult,
    Registration,
)
from .permissions import (
    can_assign_meeting,
    can_manage_event,
    can_manage_meeting,
    is_meeting_party,
    meeting_side,
)

log = logging.getLogger(__name__)

SCHEDULE_SECONDS = 1.5  # the scheduler's time limit (issue 9: < 2 s for 300 participants)


# --- the schedule ---------------------------------------------------------------------------

@dataclass
class Plan:
    """What the scheduler is given, and how its ids map back."""

    problem: scheduler.Problem
    requests: dict[int, MeetingRequest]
    managers: dict[int, list[int]]  # institution registration id -> manager user ids


def build_plan(event: Event) -> Plan:
    """Accepted requests between registered participants; an institution's capacity in a
    slot is its managers, none in the slots it said it cannot attend."""
    regs = {r.id: r for r in db.session.scalars(events.registrations(event, None, "registered"))}
    requests = {r.id: r for r in db.session.scalars(select(MeetingRequest).where(
        MeetingRequest.event_id == event.id, MeetingRequest.status == "accepted"))
        if r.enterprise_registration_id in regs and r.institution_registration_id in regs}
    slot_ids = [s.id for s in event.slots]
    managers, capacity, available = {}, {}, {}
    for reg in regs.values():
        free = [s for s in slot_ids if s not in reg.unavailable_slot_ids]
        if reg.kind == "institution":
            managers[reg.id] = sorted(reg.manager_ids)
            capacity[reg.id] = {s: len(managers[reg.id]) for s in free}
        else:
            available[reg.id] = frozenset(free)
    problem = scheduler.Problem(
        slots=tuple(slot_ids), tables=tuple(t.id for t in event.tables),
        requests=tuple(scheduler.Request(r.id, r.enterprise_registration_id,
                                         r.institution_registration_id, r.priority, r.must_meet)
                       for r in requests.values()),
        capacity=capacity, available=available)
    return Plan(problem, requests, managers)


@dataclass
class ScheduleReport:
    meetings: int
    served: int
    enterprises: int
    must_meets: int
    must_total: int
    unplaced: list[MeetingRequest] = field(default_factory=list)


def _check_reschedulable(event: Event) -> None:
    if event.status not in ("published", "scheduled"):
        raise ServiceError("活动尚未发布或已结束，不能排程")
    started = db.session.scalar(select(Meeting.id).where(
        Meeting.event_id == event.id, Meeting.status != "scheduled").limit(1))
    if started is not None or clock.china_today() > event.day:
        raise ServiceError("活动已开始，不能重新排程；请手动调整个别洽谈")


@guarded(can_manage_event, "event", message=events.MANAGERS)
def schedule_event(actor, event: Event) -> ScheduleReport:
    """One click: every accepted request gets a slot and a table where possible (must-meets
    first, then as many enterprises as possible, then the best-matched pairs). Replaces the
    previous schedule, manual moves included."""
    _check_reschedulable(event)
    plan = build_plan(event)
    if not plan.requests:
        raise ServiceError("还没有双方都已接受的洽谈请求，无法排程")
    db.session.execute(delete(Meeting).where(Meeting.event_id == event.id))
    db.session.flush()
    result = scheduler.schedule(plan.problem, time_limit=SCHEDULE_SECONDS)
    _write_meetings(event, plan, result)
    event.status, event.scheduled_at = "scheduled", clock.now()
    db.session.flush()
    report = ScheduleReport(
        meetings=len(result.placements), served=result.served,
        enterprises=len({r.enterprise for r in plan.problem.requests}),
        must_meets=result.must_meets,
        must_total=sum(r.must_meet for r in plan.problem.requests),
        unplaced=[plan.requests[i] for i in result.unplaced])
    record(actor, "event.scheduled", event, meetings=report.meetings, served=report.served,
           enterprises=report.enterprises, unplaced=len(report.unplaced),
           must_meets=report.must_meets, priority=result.priority)
    _announce_schedule(event)
    log.info("event %s scheduled: %s meetings, %s/%s enterprises served, %.2fs", event.id,
             report.meetings, report.served, report.enterprises, result.elapsed)
    return report


def _write_meetings(event: Event, plan: Plan, result: scheduler.Schedule) -> None:
    """Meeting rows, each with one of the managers the institution registered, free in that
    slot: the one with the fewest meetings so far (the lowest id took them all before, and
    that was often the admin). The bank admin can reassign (assign_meeting)."""
    busy: dict[tuple[int, int], list[int]] = {}
    load: dict[int, int] = {}
    placements = sorted(result.placements,
                        key=lambda p: (plan.problem.slots.index(p.slot), p.request_id))
    for p in placements:
        request = plan.requests[p.request_id]
        inst = request.institution_registration_id
        taken = busy.setdefault((inst, p.slot), [])
        manager = min((m for m in plan.managers[inst] if m not in taken),
                      key=lambda m: (load.get(m, 0), m))
        taken.append(manager)
        load[manager] = load.get(manager, 0) + 1
        db.session.add(Meeting(event_id=event.id, request_id=request.id, slot_id=p.slot,
                               table_id=p.table, manager_id=manager,
                               enterprise_registration_id=request.enterprise_registration_id,
                               institution_registration_id=inst, created_at=clock.now()))
    db.session.flush()


def _announce_schedule(event: Event) -> None:
    for reg in db.session.scalars(events.registrations(event, None, "registered")):
        notify_all(events.party_users(reg), "event.scheduled",
                   f"“{event.title}”洽谈日程已排定，请查看您的日程与签到二维码",
                   events._path("events.agenda", event_id=event.id, registration_id=reg.id))


def event_meetings(event: Event) -> list[Meeting]:
    return list(db.session.scalars(
        select(Meeting).where(Meeting.event_id == event.id)
        .options(selectinload(Meeting.enterprise_registration)
                 .selectinload(Registration.enterprise),
                 selectinload(Meeting.institution_registration)
                 .selectinload(Registration.institution), selectinload(Meeting.manager),
                 selectinload(Meeting.results))))


def agenda(registration: Registration) -> list[Meeting]:
    """The registration's meetings in time order."""
    column = (Meeting.enterprise_registration_id if registration.kind == "enterprise"
              else Meeting.institution_registration_id)
    meetings = db.session.scalars(select(Meeting).where(column == registration.id)
                                  .options(selectinload(Meeting.results))).all()
    return sorted(meetings, key=lambda m: (m.slot.starts_at, m.table.number))


def table_schedule(event: Event, table: EventTable) -> list[tuple[EventSlot, Meeting | None]]:
    by_slot = {m.slot_id: m for m in db.session.scalars(
        select(Meeting).where(Meeting.table_id == table.id))}
    return [(slot, by_slot.get(slot.id)) for slot in event.slots]


# --- moving a meeting by hand ---------------------------------------------------------------

@dataclass
class Conflict:
    message: str
    hard: bool  # a double booking: refused; a soft one (declared unavailable): confirmable


class MoveRefused(ServiceError):
    def __init__(self, conflicts: list[Conflict]):
        super().__init__("；".join(c.message for c in conflicts))
        self.conflicts = conflicts


def _free_manager(meeting: Meeting, slot: EventSlot) -> int | None:
    reg = meeting.institution_registration
    busy = set(db.session.scalars(select(Meeting.manager_id).where(
        Meeting.slot_id == slot.id, Meeting.institution_registration_id == reg.id,
        Meeting.id != meeting.id)))
    return next((m for m in sorted(reg.manager_ids) if m not in busy), None)


def move_conflicts(meeting: Meeting, slot: EventSlot, table: EventTable) -> list[Conflict]:
    """What moving the meeting to (slot, table) would break."""
    found = []
    ent, inst = meeting.enterprise_registration, meeting.institution_registration
    when = f"{events.local(slot.starts_at):%H:%M}"
    others = {m.id: m for m in db.session.scalars(select(Meeting).where(
        Meeting.slot_id == slot.id, Meeting.id != meeting.id))}
    on_table = next((m for m in others.values() if m.table_id == table.id), None)
    if on_table is not None:
        found.append(Conflict(f"{table.label}在{when}已有洽谈（{on_table.enterprise_registration.name}"
                              f" × {on_table.institution_registration.name}）", True))
    if any(m.enterprise_registration_id == ent.id for m in others.values()):
        found.append(Conflict(f"{ent.name}在{when}已有另一场洽谈", True))
    if _free_manager(meeting, slot) is None:
        found.append(Conflict(f"{inst.name}在{when}的参会客户经理都已有洽谈", True))
    for reg in (ent, inst):
        if slot.id in reg.unavailable_slot_ids:
            found.append(Conflict(f"{reg.name}报名时表示{when}这一轮不能参加", False))
    return found


@guarded(can_manage_meeting, "meeting", message=events.MANAGERS)
def move_meeting(actor, meeting: Meeting, slot: EventSlot, table: EventTable,
                 confirm: bool = False) -> Meeting:
    """Move a scheduled meeting. A double booking is refused; a slot a participant said they
    cannot attend needs the organizer's confirmation."""
    if meeting.status != "scheduled":
        raise ServiceError("该洽谈已举行，不能调整")
    if slot.event_id != meeting.event_id or table.event_id != meeting.event_id:
        raise ValueError("slot or table of another event")
    if (slot.id, table.id) == (meeting.slot_id, meeting.table_id):
        raise ServiceError("洽谈已在该时段和桌位")
    conflicts = move_conflicts(meeting, slot, table)
    if any(c.hard for c in conflicts) or (conflicts and not confirm):
        raise MoveRefused(conflicts)
    before = (meeting.slot_id, meeting.table_id)
    meeting.manager_id = _free_manager(meeting, slot)
    meeting.slot_id, meeting.table_id = slot.id, table.id
    meeting.moved_at, meeting.moved_by_id = clock.now(), actor.id
    db.session.flush()
    db.session.expire(meeting, ["slot", "table"])
    record(actor, "event_meeting.moved", meeting, event_id=meeting.event_id,
           **{"from": list(before), "to": [slot.id, table.id]},
           overridden=[c.message for c in conflicts])
    for reg in (meeting.enterprise_registration, meeting.institution_registration):
        notify_all(events.party_users(reg), "event_meeting.moved",
                   f"您的一场洽谈已调整到{events.local(slot.starts_at):%H:%M}，{table.label}",
                   events._path("events.agenda", event_id=meeting.event_id,
                                registration_id=reg.id))
    return meeting


def assignable_managers(meeting: Meeting) -> list[User]:
    """The managers its institution registered who are free in the meeting's slot."""
    reg = meeting.institution_registration
    busy = set(db.session.scalars(select(Meeting.manager_id).where(
        Meeting.slot_id == meeting.slot_id, Meeting.institution_registration_id == reg.id,
        Meeting.id != meeting.id)))
    return [row.user for row in sorted(reg.manager_rows, key=lambda r: r.user.name)
            if row.user_id not in busy and row.user.active]


@guarded(can_assign_meeting, "meeting", message="只有该机构的管理员可以指派洽谈的客户经理")
def assign_meeting(actor, meeting: Meeting, manager_id: int) -> Meeting:
    """The bank admin gives a meeting to one of the managers the institution registered,
    free in that slot; the manager is told."""
    if meeting.status != "scheduled":
        raise ServiceError("该洽谈已举行，不能改派", field="manager_id")
    if manager_id == meeting.manager_id:
        raise ServiceError("该洽谈已由这位客户经理负责", field="manager_id")
    if manager_id not in {u.id for u in assignable_managers(meeting)}:
        raise ServiceError("只能指派本机构报名参会、且该时段没有其他洽谈的客户经理",
                           field="manager_id")
    before = meeting.manager_id
    meeting.manager_id = manager_id
    db.session.flush()
    db.session.expire(meeting, ["manager"])
    record(actor, "event_meeting.assigned", meeting, event_id=meeting.event_id,
           **{"from": before, "to": manager_id})
    notify_all([meeting.manager], "event_meeting.assigned",
               f"您负责一场洽谈：{events.local(meeting.slot.starts_at):%H:%M}，"
               f"{meeting.table.label}，{meeting.enterprise_registration.name}",
               events._path("events.agenda", event_id=meeting.event_id,
                            registration_id=meeting.institution_registration_id))
    return meeting


# --- the day --------------------------------------------------------------------------------

def _check_event_day(event: Event) -> None:
    if clock.china_today() != event.day:
        raise ServiceError(f"只能在活动当天（{event.day:%Y年%m月%d日}）签到")


def find_by_code(event: Event, code: str) -> Registration | None:
    code = (code or "").strip().upper()
    if not code:
        return None
    return db.session.scalar(select(Registration).where(Registration.event_id == event.id,
                                                        Registration.checkin_code == code))


@guarded(can_manage_event, "event", message=events.MANAGERS)
def check_in(actor, event: Event, code: str, method: str = "code") -> tuple[Registration, bool]:
    """Staff check a participant in by the QR code or the typed code; (registration, True)
    when they had already checked in (not an error: a second scan at the door)."""
    _check_event_day(event)
    reg = find_by_code(event, code)
    if reg is None:
        raise ServiceError("签到码无效，或不属于本次对接会")
    if reg.status == "cancelled":
        raise ServiceError(f"{reg.name}已取消报名")
    if reg.status == "waitlisted":
        raise ServiceError(f"{reg.name}在候补名单中，未获得参会名额")
    if reg.checkin is not None:
        return reg, True
    db.session.add(CheckIn(registration_id=reg.id, checked_in_at=clock.now(),
                           checked_in_by_id=actor.id, method=method))
    reg.attendance = "present"
    db.session.flush()
    db.session.expire(reg, ["checkin"])
    record(actor, "event.checked_in", reg, event_id=event.id, method=method)
    return reg, False


@guarded(can_manage_event, "event", message=events.MANAGERS)
def record_attendance(actor, event: Event) -> dict[str, int]:
    """At the end of the day: registered participants not checked in are no-shows; a meeting
    with both sides present was held, otherwise it is a no-show. The event is finished."""
    if clock.china_today() < event.day:
        raise ServiceError("活动尚未举行，不能登记到场情况")
    if event.status != "scheduled":
        raise ServiceError("只有已排程的活动才能登记到场情况" if event.status != "finished"
                           else "到场情况已登记")
    regs = list(db.session.scalars(events.registrations(event, None, "registered")))
    for reg in regs:
        if reg.checkin is None:
            reg.attendance = "no_show"
            record(actor, "event_registration.no_show", reg, event_id=event.id)
    counts = {"no_shows": sum(r.attendance == "no_show" for r in regs), "held": 0,
              "missed": 0}
    for meeting in event_meetings(event):
        if meeting.status == "scheduled":
            both = (meeting.enterprise_registration.attendance == "present"
                    and meeting.institution_registration.attendance == "present")
            meeting.status = "held" if both else "no_show"
        counts["held" if meeting.status == "held" else "missed"] += 1
    event.status = "finished"
    db.session.flush()
    record(actor, "event.attendance_recorded", event, **counts)
    return counts


# --- results --------------------------------------------------------------------------------

@guarded(is_meeting_party, "meeting", message="只有参加该场洽谈的双方可以登记结果")
def record_result(actor, meeting: Meeting, side: str, outcome: str,
                  amount_wan: Decimal | None = None, note: str | None = None) -> MeetingResult:
    """One side's result. Follow-up or a signed intention opens a lead for the institution
    (source 'event', the Leads deadlines apply); a manager recording it also takes the lead
    (接单), which starts the 2/10 working-day clock at once."""
    if side != meeting_side(actor, meeting):
        raise ServiceError("只能登记贵方的洽谈结果")
    if clock.china_today() < meeting.event.day:
        raise ServiceError("洽谈尚未举行，不能登记结果")
    if meeting.status == "no_show":
        raise ServiceError("该场洽谈未举行（有一方未到场），不能登记结果")
    if outcome == "intention" and (amount_wan is None or amount_wan <= 0):
        raise ServiceError("签订意向请填写意向金额（万元）", field="amount_wan")
    if outcome != "intention":
        amount_wan = None
    result = meeting.result_of(side)
    action = "meeting_result.updated" if result is not None else "meeting_result.recorded"
    if result is None:
        result = MeetingResult(meeting_id=meeting.id, side=side)
        db.session.add(result)
    result.outcome, result.amount_wan = outcome, amount_wan
    result.note = (note or "").strip() or None
    result.recorded_by_id, result.recorded_at = actor.id, clock.now()
    meeting.status = "held"  # a result says it took place
    db.session.flush()
    if outcome in ("follow_up", "intention"):
        result.lead_id = _lead_for(actor, meeting)
    db.session.flush()
    db.session.expire(meeting, ["results"])
    record(actor, action, result, event_id=meeting.event_id, meeting_id=meeting.id,
           side=side, outcome=outcome, lead_id=result.lead_id)
    return result


def _lead_for(actor, meeting: Meeting) -> int | None:
    """The need × institution lead (one per pair), or None when the need is no longer open
    (funded, withdrawn …: there is nothing to follow), or its firm awaits its check."""
    ent, inst = meeting.enterprise_registration, meeting.institution_registration
    need = ent.need
    if need.status not in PUSHABLE_NEED_STATUSES or not need.enterprise.verified:
        return None  # (a self-registered firm nobody has checked yet: no lead, enterprises.verification)
    if consent.live_consent(need.id, inst.institution_id) is None:
        # the enterprise itself agreed at registration (consent_at) that an institution it
        # follows up with receives this need and the fields the form named (REQUIRED): its
        # own consent, in its name; a consent it gave already (a wider push) is kept as is
        registrant = db.session.get(User, ent.registered_by_id) if ent.registered_by_id else None
        consent.grant_consent(registrant, need, inst.institution, lead_scope.REQUIRED, "event")
    lead = leads.open_lead(need, inst.institution, source="event", actor=actor,
                           product=meeting.request.product)
    if actor.role == "bank_manager" and claim_refusal(actor, lead) is None:
        try:
            with db.session.begin_nested():
                claims.claim_lead(actor, lead)
        except ServiceError as err:  # K institutions hold it already: it stays in the pool
            log.info("lead %s not claimed from event meeting %s: %s", lead.id, meeting.id,
                     type(err).__name__)
    return lead.id
