"""The banks' answers to pushed entries (read from their leads), disbursements, and the
answer deadline: overdue pushes on the 督办 list, the sweep, supervision. Flush, never commit."""
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import exists, func, not_, or_, select

from .. import clock, vocab
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Institution
from ..leads import service as leads
from ..leads.models import Claim, Lead
from ..leads.supervision import stamp_supervision
from ..notifications.service import notify_all
from .models import Push, Whitelist, WhitelistEntry
from .permissions import (
    can_record_disbursement,
    can_supervise_push,
)
from .service import (
    TEXT_MAX,
    link,
)

log = logging.getLogger(__name__)

# --- the banks' answers -------------------------------------------------------------------------

STAGE_LABELS = {"proposed": "拟推送", "pending": "待反馈", "lapsed": "超时未联系",
                "contacted": "已对接", "granted": "已授信", "disbursed": "已放款",
                "not_suitable": "不符合条件", "withdrawn": "终止对接", "ended": "需求已结束"}
STAGE_STYLES = {"proposed": "light", "pending": "warning", "lapsed": "danger",
                "contacted": "info", "granted": "primary", "disbursed": "success",
                "not_suitable": "secondary", "withdrawn": "secondary", "ended": "secondary"}
UNANSWERED = ("proposed", "pending", "lapsed")
CONTACTED = ("contacted", "granted", "disbursed", "not_suitable", "withdrawn")


@dataclass
class Answer:
    stage: str
    granted_wan: Decimal | None = None
    disbursed_wan: Decimal | None = None
    rate: Decimal | None = None
    term_months: int | None = None
    reason: str | None = None  # decline reason code
    note: str | None = None

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]

    @property
    def style(self) -> str:
        return STAGE_STYLES[self.stage]

    @property
    def answered(self) -> bool:
        return self.stage not in UNANSWERED

    @property
    def contacted(self) -> bool:
        return self.stage in CONTACTED

    @property
    def granted(self) -> bool:
        return self.stage in ("granted", "disbursed")

    @property
    def reason_label(self) -> str | None:
        return vocab.label("decline_reasons", self.reason) if self.reason else None


def answer_of(push: Push) -> Answer:
    """The bank's answer for one pushed entry, read from its lead (the one outcome model):
    contacted = a claim's first contact; granted = the lead's approval (amount, rate, term);
    disbursed = the bank's disbursement record here, or the enterprise's confirmation on the
    lead; not suitable = the lead's decline with its reason code."""
    lead = push.lead
    if push.status != "sent" or lead is None:
        return Answer("proposed")
    if push.disbursed_amount_wan is not None:
        return Answer("disbursed", lead.approved_amount_wan, push.disbursed_amount_wan,
                      push.disbursed_rate, push.disbursed_term_months)
    if lead.status == "funded":
        return Answer("disbursed", lead.approved_amount_wan, lead.approved_amount_wan,
                      lead.approved_rate, lead.approved_term_months)
    if lead.outcome == "approved":
        return Answer("granted", lead.approved_amount_wan, None, lead.approved_rate,
                      lead.approved_term_months)
    if lead.outcome == "declined":
        return Answer("not_suitable", reason=lead.decline_reason, note=lead.outcome_note)
    if lead.outcome == "withdrawn":
        return Answer("withdrawn", note=lead.outcome_note)
    if any(c.contacted_at is not None for c in lead.claims):
        return Answer("contacted")
    if lead.status == "closed":
        return Answer("ended")
    if lead.status == "lapsed":
        return Answer("lapsed")
    return Answer("pending")


def answered_clause():
    """SQL twin of Answer.answered for a query joined to Lead (answer_of says the same)."""
    contacted = exists().where(Claim.lead_id == Push.lead_id, Claim.contacted_at.is_not(None))
    return or_(Push.disbursed_amount_wan.is_not(None), Lead.outcome.is_not(None),
               Lead.status.in_(("funded", "closed")), contacted)


@guarded(can_record_disbursement, "push", message="只有已授信的线索可以登记放款")
def record_disbursement(actor, push: Push, *, amount_wan: Decimal, rate: Decimal,
                        term_months: int, disbursed_on: date) -> Push:
    """放款 after the lead's approval: amount within the approved credit, a rate of 0–24%,
    the date between the approval and today."""
    lead = push.lead
    if amount_wan is None or amount_wan <= 0:
        raise ServiceError("放款金额必须大于0", field="amount_wan")
    if lead.approved_amount_wan is not None and amount_wan > lead.approved_amount_wan:
        raise ServiceError(f"放款金额不能超过授信金额{lead.approved_amount_wan.normalize():f}万元",
                           field="amount_wan")
    if rate is None or not Decimal(0) <= rate <= Decimal(24):
        raise ServiceError("年利率应在0到24%之间", field="rate")
    if term_months is None or not 1 <= term_months <= 360:
        raise ServiceError("期限应在1到360个月之间", field="term_months")
    if disbursed_on is None or disbursed_on > clock.china_today():
        raise ServiceError("放款日期不能晚于今天", field="disbursed_on")
    if lead.approved_on is not None and disbursed_on < lead.approved_on:
        raise ServiceError("放款日期不能早于批准日期", field="disbursed_on")
    before = push.disbursed_amount_wan
    push.disbursed_amount_wan, push.disbursed_rate = amount_wan, rate
    push.disbursed_term_months, push.disbursed_on = term_months, disbursed_on
    push.disbursed_by_id = actor.id
    db.session.flush()
    record(actor, "push.disbursed", push, whitelist_id=push.entry.whitelist_id,
           lead_id=lead.id, amount_wan=amount_wan, rate=rate, term_months=term_months,
           disbursed_on=disbursed_on, corrected=before is not None)
    return push


# --- the deadline: 督办 ---------------------------------------------------------------------------

def overdue_pushes(today: date | None = None):
    """Sent pushes of a pushed batch with no answer after its deadline (inclusive)."""
    today = today or clock.china_today()
    return (select(Push).join(Push.entry).join(WhitelistEntry.whitelist)
            .join(Lead, Lead.id == Push.lead_id)
            .where(Push.status == "sent", Whitelist.status == "pushed",
                   Whitelist.answer_deadline < today, not_(answered_clause())))


def supervised_pushes(user, today: date | None = None):
    """The organizer's 督办 list: overdue pushes of the batches the organizer sees."""
    from .permissions import visible_whitelists

    ids = visible_whitelists(user).with_only_columns(Whitelist.id)
    return overdue_pushes(today).where(Whitelist.id.in_(ids))


def overdue_by_institution(user, today: date | None = None) -> list[tuple]:
    """(institution, overdue entries, earliest deadline) for the 督办 summary."""
    query = supervised_pushes(user, today).with_only_columns(
        Push.institution_id, func.count(Push.id), func.min(Whitelist.answer_deadline)) \
        .group_by(Push.institution_id)
    rows = db.session.execute(query).all()
    institutions = {i.id: i for i in db.session.scalars(
        select(Institution).where(Institution.id.in_([r[0] for r in rows] or [0])))}
    return sorted(((institutions[i], n, d) for i, n, d in rows),
                  key=lambda r: (-r[1], r[0].name))


@dataclass
class SweepReport:
    escalated: list = field(default_factory=list)

    def summary(self) -> str:
        return f"escalated {len(self.escalated)} whitelist push(es)"


def sweep(today: date | None = None) -> SweepReport:
    """Run by cron (`matchmaker whitelists sweep`), idempotent: pushes without an answer
    after their batch's deadline go on the 督办 list and the institution's admins are told
    once per batch."""
    today = today or clock.china_today()
    report = SweepReport()
    moment = clock.now()
    grouped: dict[tuple[int, int], list[Push]] = {}
    for push in db.session.scalars(overdue_pushes(today).where(Push.escalated_at.is_(None))
                                   .order_by(Push.id)).all():
        push.escalated_at = moment
        record(None, "push.escalated", push, whitelist_id=push.entry.whitelist_id,
               lead_id=push.lead_id, deadline=push.entry.whitelist.answer_deadline)
        grouped.setdefault((push.entry.whitelist_id, push.institution_id), []).append(push)
        report.escalated.append(push)
    db.session.flush()
    for (whitelist_id, institution_id), pushes in grouped.items():
        whitelist = db.session.get(Whitelist, whitelist_id)
        notify_all(leads.institution_users(institution_id, "bank_admin"), "whitelist.escalated",
                   f"白名单《{whitelist.title}》有{len(pushes)}户企业超过反馈截止日期"
                   f"（{whitelist.answer_deadline:%m月%d日}）仍未反馈，已列入主管部门督办清单",
                   link("whitelists.bank_index", whitelist_id=whitelist_id), email=True)
    log.info("whitelists sweep %s: %s", today, report.summary())
    return report


@guarded(can_supervise_push, "push", message="只有能查看该批白名单的组织方可以督办")
def supervise_push(actor, push: Push, note: str) -> Push:
    """An organizer records that the overdue answer was followed up (督办)."""
    stamp_supervision(push, actor, note, limit=TEXT_MAX)
    record(actor, "push.supervised", push, whitelist_id=push.entry.whitelist_id)
    notify_all(leads.institution_users(push.institution_id, "bank_admin"), "whitelist.supervised",
               f"主管部门已就白名单《{push.entry.whitelist.title}》的未反馈条目进行督办",
               link("whitelists.bank_index", whitelist_id=push.entry.whitelist_id))
    return push
