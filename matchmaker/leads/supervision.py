"""The service clock (cron: `matchmaker leads sweep`): pushed leads nobody claimed in time and
overdue decisions on the organizers' 督办 list, lapsed claims, leads of ended needs; and the
organizers' supervision of them. Flush, never commit."""
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, or_, select

from .. import clock
from ..audit.service import record
from ..enterprises.models import Need
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..notifications.service import notify, notify_all
from .models import (
    LEAD_ACTIVE,
    Claim,
    Lead,
)
from .permissions import (
    PUSHABLE_NEED_STATUSES,
    can_supervise_claim,
    can_supervise_lead,
    live_consent_clause,
)
from .service import (
    claim_due_from,
    close_lead,
    enterprise_users,
    institution_users,
    link,
    return_need_to_pool,
    unclaimed_working_days,
)

log = logging.getLogger(__name__)

ENDED_NEED_STATUSES = ("funded", "closed", "withdrawn", "expired")


# --- the sweep (cron) -------------------------------------------------------------------------

@dataclass
class SweepReport:
    lapsed: list = field(default_factory=list)
    escalated: list = field(default_factory=list)
    closed: list = field(default_factory=list)
    unclaimed: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"unclaimed {len(self.unclaimed)} lead(s), lapsed {len(self.lapsed)} claim(s), "
                f"escalated {len(self.escalated)}, closed {len(self.closed)} lead(s)")


def sweep(today: date | None = None) -> SweepReport:
    """Run by cron (`matchmaker leads sweep`), idempotent:
    0. a pushed lead nobody claimed by its claim_due (unclaimed_working_days after the push)
       goes on the organizers' 督办 list, counts against its institution, its admins are
       told and the enterprise is offered its next-best institutions (once per push);
    1. a claim with no contact after its contact deadline lapses: the lead leaves the
       institution (counted against its record) and the need's slot frees up;
    2. a contacted claim past its decision deadline goes on the organizers' 督办 list and
       its institution's admins are told (once);
    3. leads of needs that ended elsewhere (withdrawn, closed, expired, funded) close."""
    today = today or clock.china_today()
    report = SweepReport()
    for lead in _unclaimed(today):
        escalate_unclaimed(lead)
        report.unclaimed.append(lead)
    for claim in _claims(Claim.status == "claimed", Claim.contact_due < today):
        _lapse(claim)
        report.lapsed.append(claim)
    for claim in _claims(Claim.status == "contacted", Claim.decision_due < today,
                         Claim.escalated_at.is_(None)):
        _escalate(claim)
        report.escalated.append(claim)
    ended = db.session.scalars(select(Lead).join(Lead.need).where(
        Lead.status.in_(LEAD_ACTIVE), Need.status.in_(ENDED_NEED_STATUSES)).order_by(Lead.id))
    for lead in ended.all():
        close_lead(lead, f"需求{lead.need.status_label}")
        report.closed.append(lead)
    log.info("leads sweep %s: %s", today, report.summary())
    return report


def _unclaimed(today: date) -> list[Lead]:
    """Open leads past their claim deadline, still offered (live consent, need on the
    market) and not yet escalated; a lead claimed and then released is not (a release is
    not held against the institution). Leads older than the claim_due column get it here."""
    old = clock.now() - timedelta(days=unclaimed_working_days())
    leads = db.session.scalars(
        select(Lead).join(Lead.need)
        .where(Lead.status == "open", Lead.unclaimed_at.is_(None),
               Need.status.in_(PUSHABLE_NEED_STATUSES), live_consent_clause(),
               or_(Lead.claim_due < today,
                   and_(Lead.claim_due.is_(None), Lead.created_at < old)))
        .order_by(Lead.id)).all()
    overdue = []
    for lead in leads:
        last = lead.last_claim
        if last is not None and last.status in ("released", "revoked"):
            continue  # claimed in time, then given back: not held against the institution
        if lead.claim_due is None:
            lead.claim_due = claim_due_from(lead.created_at)
        if lead.claim_due < today:
            overdue.append(lead)
    return overdue


def escalate_unclaimed(lead: Lead) -> None:
    """The lead goes on the 督办 list as unclaimed (the sweep; the demo seed for one lead)."""
    lead.unclaimed_at = clock.now()
    db.session.flush()
    record(None, "lead.unclaimed", lead, claim_due=lead.claim_due)
    notify_all(institution_users(lead.institution_id, "bank_admin"), "lead.unclaimed",
               f"线索 #{lead.id} 推送后无人认领（认领时限{lead.claim_due:%m月%d日}），已列入主管部门"
               f"督办清单，计入本机构响应记录", link("leads.show", lead_id=lead.id), email=True)
    notify_all(enterprise_users(lead.need), "lead.unclaimed",
               f"{lead.institution.name}未在{lead.claim_due:%m月%d日}前接单您的需求 {lead.need.ref}，"
               f"已报主管部门督办；您也可以一键推送给其他匹配机构",
               link("enterprises.need", need_id=lead.need_id), email=True)


def _claims(*conditions) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(*conditions).order_by(Claim.id)))


def _lapse(claim: Claim) -> None:
    lead = claim.lead
    claim.status = "lapsed"
    claim.ended_at = clock.now()
    lead.status = "lapsed"
    db.session.flush()
    record(None, "lead.lapsed", lead, claim_id=claim.id, manager_id=claim.manager_id,
           contact_due=claim.contact_due)
    message = (f"线索 #{lead.id} 未在{claim.contact_due:%m月%d日}前联系企业，已超时收回，"
               f"计入本机构响应记录")
    notify(claim.manager, "lead.lapsed", message, link("leads.index"), email=True)
    notify_all(institution_users(claim.institution_id, "bank_admin"), "lead.lapsed", message,
               link("leads.pipeline"), email=True)
    return_need_to_pool(lead.need)


def _escalate(claim: Claim) -> None:
    lead = claim.lead
    claim.escalated_at = clock.now()
    db.session.flush()
    record(None, "lead.escalated", lead, claim_id=claim.id, decision_due=claim.decision_due)
    notify_all(institution_users(claim.institution_id, "bank_admin"), "lead.escalated",
               f"线索 #{lead.id} 超过审批时限（{claim.decision_due:%m月%d日}）仍未答复，"
               f"已列入主管部门督办清单", link("leads.show", lead_id=lead.id), email=True)


def stamp_supervision(subject, actor, note: str, limit: int | None = None) -> None:
    """Who followed up (督办) an overdue claim, lead or push, when, and what was done: the note
    is required. The subject carries `supervised_at`, `supervised_by_id`, `supervision_note`."""
    note = (note or "").strip()
    if not note:
        raise ServiceError("请填写督办情况", field="note")
    subject.supervised_at = clock.now()
    subject.supervised_by_id = actor.id
    subject.supervision_note = note[:limit] if limit else note
    db.session.flush()


@guarded(can_supervise_claim, "claim", message="只有辖区内的组织方可以督办超时未答复的线索")
def supervise_claim(actor, claim: Claim, note: str) -> Claim:
    """An organizer records that the overdue decision was followed up (督办)."""
    stamp_supervision(claim, actor, note)
    record(actor, "lead.supervised", claim.lead, claim_id=claim.id)
    notify_all(institution_users(claim.institution_id, "bank_admin"), "lead.supervised",
               f"主管部门已就线索 #{claim.lead_id} 的审批超时进行督办",
               link("leads.show", lead_id=claim.lead_id))
    return claim


@guarded(can_supervise_lead, "lead", message="只有辖区内的组织方可以督办超时无人认领的线索")
def supervise_lead(actor, lead: Lead, note: str) -> Lead:
    """An organizer records that the unclaimed lead was followed up with the institution."""
    stamp_supervision(lead, actor, note)
    record(actor, "lead.supervised", lead, unclaimed=True)
    notify_all(institution_users(lead.institution_id, "bank_admin"), "lead.supervised",
               f"主管部门已就线索 #{lead.id} 推送后无人认领进行督办",
               link("leads.show", lead_id=lead.id))
    return lead
