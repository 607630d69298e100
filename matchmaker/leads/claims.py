"""Claiming (接单) and working a lead: at most one live claim per lead and K per need, the
claim's deadlines in working days, releasing, follow-ups and the first contact. Flush, never
commit."""
import logging

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..audit.service import record
from ..enterprises.models import Need
from ..enterprises.service import change_status
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..notifications.service import notify, notify_all
from ..policy import workdays
from ..policy.service import setting
from .models import (
    CLAIM_LIVE,
    CONTACT_KINDS,
    FOLLOWUP_KINDS,
    Claim,
    Lead,
    LeadFollowUp,
)
from .permissions import (
    can_assign_lead,
    can_release_lead,
    can_work_lead,
    claim_refusal,
    may_claim_lead,
)
from .service import (
    enterprise_users,
    link,
    return_need_to_pool,
)

log = logging.getLogger(__name__)

def _dialect() -> str:
    return db.session.get_bind().dialect.name


# --- claiming --------------------------------------------------------------------------------

def claim_limit() -> int:
    return int(setting("claim_limit_per_need", 3))


def _lock_need(need_id: int) -> None:
    """Serialize claims on one need. PostgreSQL: the row lock makes a concurrent claimer wait
    and then count the winner's committed claim. SQLite: an UPDATE takes the database's write
    lock; a concurrent writer then gets "database is locked" and the view retries it."""
    if _dialect() == "postgresql":
        db.session.execute(select(Need.id).where(Need.id == need_id).with_for_update())
    else:
        db.session.execute(text("UPDATE needs SET status = status WHERE id = :id"),
                           {"id": need_id})


def _live_claims_on_need(need_id: int) -> int:
    return db.session.scalar(select(func.count(Claim.id)).where(
        Claim.need_id == need_id, Claim.status.in_(CLAIM_LIVE)))


@guarded(may_claim_lead, "lead", message="您不能认领该线索")
def claim_lead(actor, lead: Lead) -> Claim:
    """接单: the manager takes the lead for the institution. At most one live claim per lead
    (partial unique index) and K per need (counted under the need's lock)."""
    refusal = claim_refusal(actor, lead)
    if refusal:
        raise ServiceError(refusal)
    claim = _take(lead, actor)
    record(actor, "lead.claimed", lead, claim_id=claim.id, contact_due=claim.contact_due,
           decision_due=claim.decision_due)
    _claimed(actor, lead, claim)
    log.info("lead %s claimed by user %s (claim %s)", lead.id, actor.id, claim.id)
    return claim


def _take(lead: Lead, manager) -> Claim:
    """The claim itself, for `manager`, under the need's lock (claim_lead, assign_lead)."""
    _lock_need(lead.need_id)
    db.session.refresh(lead, ["status"])  # re-read under the lock: a rival may have won
    if db.session.scalar(select(Claim.id).where(Claim.lead_id == lead.id,
                                                Claim.status.in_(CLAIM_LIVE))) is not None:
        raise ServiceError("本机构已有客户经理认领该线索")
    if lead.status != "open":
        raise ServiceError(f"该线索当前状态为“{lead.status_label}”，不能认领")
    limit = claim_limit()
    if _live_claims_on_need(lead.need_id) >= limit:
        raise ServiceError(f"该需求已有{limit}家机构接单，暂不能认领")
    claim = _new_claim(manager, lead)
    try:
        # the partial unique index settles a race between two managers of one institution;
        # the savepoint keeps the caller's transaction usable when it fires
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except IntegrityError:
        raise ServiceError("本机构已有客户经理认领该线索") from None
    db.session.expire(lead, ["claims"])  # the new claim joins lead.claims on next access
    lead.status = "claimed"
    db.session.flush()
    return claim


def _claimed(actor, lead: Lead, claim: Claim) -> None:
    if lead.need.status == "published":
        change_status(actor, lead.need, "in_progress")
    notify_all(enterprise_users(lead.need), "lead.claimed",
               f"{lead.institution.name}已接单您的需求 {lead.need.ref}，"
               f"将于{claim.contact_due:%m月%d日}前与您联系",
               link("leads.progress", lead_id=lead.id), email=True)


# --- the institution's admin: 派单, 改派, a manager who left --------------------------------

def _team_member(lead: Lead, manager) -> None:
    if (manager is None or manager.role != "bank_manager"
            or manager.institution_id != lead.institution_id):
        raise ServiceError("请选择本机构的客户经理", field="manager_id")
    if not manager.active:
        raise ServiceError(f"{manager.name}的账号已停用，不能接收线索", field="manager_id")


@guarded(can_assign_lead, "lead", message="只有本机构管理员可以派单")
def assign_lead(actor, lead: Lead, manager) -> Claim:
    """派单 (an open lead: a claim for the manager, with the usual deadlines and the K limit)
    or 改派 (a claimed lead: the live claim moves to the manager with its deadlines and its
    contact, so the enterprise's promised dates do not move). Audited, both managers told."""
    _team_member(lead, manager)
    claim = lead.live_claim
    if claim is None:
        refusal = claim_refusal(manager, lead)
        if refusal:
            raise ServiceError(refusal, field="manager_id")
        claim = _take(lead, manager)
        record(actor, "lead.assigned", lead, claim_id=claim.id, manager_id=manager.id,
               contact_due=claim.contact_due, decision_due=claim.decision_due)
        _claimed(actor, lead, claim)
    else:
        previous = claim.manager
        if previous.id == manager.id:
            raise ServiceError(f"该线索已由{manager.name}负责", field="manager_id")
        claim.manager_id = manager.id
        db.session.flush()
        db.session.refresh(claim, ["manager"])
        record(actor, "lead.reassigned", lead, claim_id=claim.id, from_manager_id=previous.id,
               manager_id=manager.id)
        if previous.active:
            notify(previous, "lead.reassigned", f"线索 #{lead.id} 已由机构管理员改派给{manager.name}",
                   link("leads.index"))
    notify(manager, "lead.assigned", f"机构管理员向您派发了线索 #{lead.id}（需求 {lead.need.ref}），"
           f"请于{claim.contact_due:%m月%d日}前联系企业", link("leads.show", lead_id=lead.id))
    return claim


def hand_back_claims(manager, *, by) -> list[Lead]:
    """A manager left (deactivated by `by`): each live claim ends as released and its lead is
    open to the institution's other managers again. Run by the `user_deactivated` subscriber
    inside the deactivation's transaction; `by` was checked there."""
    live = db.session.scalars(select(Claim).where(Claim.manager_id == manager.id,
                                                  Claim.status.in_(CLAIM_LIVE))
                              .order_by(Claim.id)).all()
    leads = []
    for claim in live:
        lead = claim.lead
        claim.status = "released"
        claim.ended_at = clock.now()
        lead.status = "open"
        db.session.flush()
        record(by, "lead.handed_back", lead, claim_id=claim.id, manager_id=manager.id)
        return_need_to_pool(lead.need)
        leads.append(lead)
    if leads:
        log.info("user %s deactivated: %s claims handed back", manager.id, len(leads))
    return leads


def _new_claim(actor, lead: Lead) -> Claim:
    moment = clock.now()
    day = clock.china_date(moment)
    return Claim(lead_id=lead.id, need_id=lead.need_id, institution_id=lead.institution_id,
                 manager_id=actor.id, status="claimed", claimed_at=moment,
                 contact_due=workdays.add_working_days(
                     day, int(setting("first_contact_working_days", 2))),
                 decision_due=workdays.add_working_days(
                     day, int(setting("decision_working_days", 10))))


@guarded(can_release_lead, "lead", message="只有认领人或本机构管理员可以收回该线索")
def release_claim(actor, lead: Lead, reason: str | None = None) -> Claim:
    """The holder (or the institution's admin) gives the claim back before its deadline: the
    lead is open to the institution's managers again; not counted against the record."""
    claim = lead.live_claim
    if claim is None:
        raise ServiceError("该线索当前没有认领")
    claim.status = "released"
    claim.ended_at = clock.now()
    lead.status = "open"
    db.session.flush()
    record(actor, "lead.released", lead, claim_id=claim.id, reason=(reason or "").strip() or None)
    if claim.manager_id != actor.id:
        notify(claim.manager, "lead.released", f"线索 #{lead.id} 已由机构管理员收回",
               link("leads.index"))
    return_need_to_pool(lead.need)
    return claim


# --- follow-up -------------------------------------------------------------------------------

@guarded(can_work_lead, "lead", message="只有认领该线索的客户经理可以记录跟进")
def add_followup(actor, lead: Lead, kind: str, note: str | None = None) -> LeadFollowUp:
    """Log a call, visit, documents request or internal note. The first contact of the claim
    meets the first-contact deadline (on time or late, it is recorded)."""
    claim = lead.live_claim
    if claim is None or claim.manager_id != actor.id:
        raise ServiceError("只有认领该线索的客户经理可以记录跟进")
    if kind not in FOLLOWUP_KINDS:
        raise ServiceError("请选择跟进方式", field="kind")
    note = (note or "").strip() or None
    if kind == "note" and not note:
        raise ServiceError("请填写备注内容", field="note")
    entry = LeadFollowUp(lead_id=lead.id, claim_id=claim.id, author_id=actor.id, kind=kind,
                         note=note, created_at=clock.now())
    db.session.add(entry)
    db.session.flush()
    record(actor, "lead.followed_up", lead, followup_id=entry.id, kind=kind)
    if kind in CONTACT_KINDS:
        record_first_contact(actor, lead, claim, entry.created_at)
        if kind == "documents_requested":
            notify_all(enterprise_users(lead.need), "lead.documents_requested",
                       f"{lead.institution.name}请您准备贷款资料（需求 {lead.need.ref}）",
                       link("leads.progress", lead_id=lead.id), email=True)
    return entry


def record_first_contact(actor, lead: Lead, claim: Claim, moment) -> None:
    if claim.contacted_at is not None:
        return
    claim.contacted_at = moment
    claim.status = "contacted"
    lead.status = "contacted"
    on_time = clock.china_date(moment) <= claim.contact_due
    db.session.flush()
    record(actor, "lead.contacted", lead, claim_id=claim.id, on_time=on_time,
           contact_due=claim.contact_due)
