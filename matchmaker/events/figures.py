"""The organizer's figures: one event's registrations, meetings, intentions and what became of
them, and the year's enterprises served against the target (渝经信规范〔2024〕7号: 全年服务
企业1000家次, the setting `enterprises_served_target`). Read only."""
import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..leads.models import Lead
from ..policy.service import setting
from .models import CheckIn, Event, Meeting, MeetingResult, Registration

FOLLOW_MONTHS = 6  # the organizer looks at the intentions again six months after the event


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class Outcomes:
    """What became of the event's follow-ups and intentions, up to `cutoff`."""

    cutoff: date
    final: bool  # six months have passed
    leads: int = 0
    by_status: dict = field(default_factory=dict)
    intention_leads: int = 0
    approved: int = 0  # intentions whose lead was approved by the cutoff
    approved_wan: Decimal = Decimal(0)
    funded: int = 0  # ... and the enterprise confirmed the money arrived
    funded_wan: Decimal = Decimal(0)


@dataclass
class EventFigures:
    registrations: dict
    checked_in: int
    meetings: dict
    served: int  # enterprises with a meeting held
    follow_ups: int
    intentions: int
    intention_wan: Decimal
    outcomes: Outcomes


def event_figures(event: Event) -> EventFigures:
    regs = db.session.execute(
        select(Registration.kind, Registration.status, func.count())
        .where(Registration.event_id == event.id)
        .group_by(Registration.kind, Registration.status)).all()
    registrations = {}
    for kind, status, n in regs:
        registrations.setdefault(kind, {})[status] = n
    meetings = dict(db.session.execute(
        select(Meeting.status, func.count()).where(Meeting.event_id == event.id)
        .group_by(Meeting.status)).all())
    results = _results_by_meeting(event)
    intentions = {m: rs for m, rs in results.items() if "intention" in rs}
    return EventFigures(
        registrations=registrations,
        checked_in=db.session.scalar(select(func.count(CheckIn.id)).join(CheckIn.registration)
                                     .where(Registration.event_id == event.id)),
        meetings=meetings, served=_served(event.id),
        follow_ups=sum(1 for rs in results.values()
                       if "follow_up" in rs and "intention" not in rs),
        intentions=len(intentions),
        intention_wan=sum((_intention_amount(rs) for rs in intentions.values()), Decimal(0)),
        outcomes=_outcomes(event, results))


def _results_by_meeting(event: Event) -> dict[int, dict[str, MeetingResult]]:
    """meeting id -> {outcome: result}, the institution's account first when both differ."""
    rows = db.session.scalars(select(MeetingResult).join(MeetingResult.meeting)
                              .where(Meeting.event_id == event.id)
                              .order_by(MeetingResult.side.desc(), MeetingResult.id))
    out: dict[int, dict[str, MeetingResult]] = {}
    for result in rows:
        out.setdefault(result.meeting_id, {}).setdefault(result.outcome, result)
    return out


def _intention_amount(results: dict[str, MeetingResult]) -> Decimal:
    return results["intention"].amount_wan or Decimal(0)


def _outcomes(event: Event, results: dict) -> Outcomes:
    cutoff = add_months(event.day, FOLLOW_MONTHS)
    report = Outcomes(cutoff=cutoff, final=clock.china_today() >= cutoff)
    lead_ids = {r.lead_id for rs in results.values() for r in rs.values() if r.lead_id}
    intention_ids = {r.lead_id for rs in results.values() if "intention" in rs
                     for r in rs.values() if r.lead_id}
    if not lead_ids:
        return report
    until = datetime.combine(cutoff, time.max, clock.CHINA)
    for lead in db.session.scalars(select(Lead).where(Lead.id.in_(lead_ids))):
        report.leads += 1
        report.by_status[lead.status_label] = report.by_status.get(lead.status_label, 0) + 1
        if lead.id not in intention_ids:
            continue
        report.intention_leads += 1
        if lead.outcome == "approved" and lead.decided_at and lead.decided_at <= until:
            report.approved += 1
            report.approved_wan += lead.approved_amount_wan or 0
            if lead.funded_at and lead.funded_at <= until:
                report.funded += 1
                report.funded_wan += lead.approved_amount_wan or 0
    return report


def _served(event_id: int | None = None, year: int | None = None) -> int:
    """Enterprise-visits (家次): distinct event × enterprise with a meeting held."""
    pairs = (select(Meeting.event_id, Registration.enterprise_id)
             .join(Registration, Registration.id == Meeting.enterprise_registration_id)
             .join(Event, Event.id == Meeting.event_id)
             .where(Meeting.status == "held"))
    if event_id is not None:
        pairs = pairs.where(Meeting.event_id == event_id)
    if year is not None:
        pairs = pairs.where(Event.day >= date(year, 1, 1), Event.day <= date(year, 12, 31))
    return db.session.scalar(select(func.count()).select_from(pairs.distinct().subquery()))


@dataclass
class YearTarget:
    year: int
    served: int
    target: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.served / self.target)) if self.target else 100


def year_target(year: int | None = None) -> YearTarget:
    """The city's enterprises served at events this year (China date), against the target."""
    year = year or clock.china_today().year
    return YearTarget(year, _served(year=year), int(setting("enterprises_served_target", 1000)))
