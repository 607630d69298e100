"""Leads: one per need × institution, the shared core of the leads domain. Flush, never commit.

The domain, module by module (each imports only the ones above it in this list):
- consent.py      the consent rows (who may see which need and which profile fields);
- service.py      leads: opening, reopening, closing; who hears about it; the on-time record;
- push.py         the enterprise's push, revocation, the consent_to_share flag;
- claims.py       接单, deadlines, releasing, follow-ups;
- outcomes.py     the bank's answer, funding, rating;
- supervision.py  the sweep (lapses, 督办) and the organizers' supervision;
- subscribers.py  reactions to other domains' signals (matches refreshed, need ended).

Public API other domains use:
- open_lead(need, institution, *, source, actor, product=None) -> Lead
      idempotent per need × institution; whitelists/ and events/ call it with source
      'whitelist' / 'event', after granting the consent (consent.grant_consent);
- lead_response_record(today=None) -> dict[institution_id, float]
      share of claims contacted within the deadline over the last 180 days, pushed leads
      nobody claimed in time counting as misses (the matcher's responsiveness input,
      answered through signals.match_inputs).

Need statuses move through enterprises.service.change_status (its table says who may):
published -> in_progress on the first claim (actor: the bank); in_progress -> published
(actor: the system) when the last claim ends without a loan; in_progress -> funded when the
enterprise confirms the money arrived.
"""
import logging
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock, vocab
from ..accounts.models import User
from ..audit.service import record
from ..enterprises.models import Need
from ..enterprises.service import change_status
from ..enterprises.verification import UNVERIFIED
from ..errors import ServiceError
from ..extensions import db
from ..institutions.models import Institution, Product
from ..matching.models import Match
from ..matching.queries import matches_by_institution, reasons_for
from ..notifications.service import notify, notify_all
from ..policy import workdays
from ..policy.service import setting
from .consent import live_consent
from .models import (
    LEAD_ACTIVE,
    LEAD_SOURCES,
    Claim,
    Lead,
)
from .permissions import (
    PUSHABLE_NEED_STATUSES,
)

log = logging.getLogger(__name__)
RECORD_DAYS = 180  # window of lead_response_record


def link(endpoint: str, **values) -> str:
    """A path for a notification link, inside or outside a request (the CLI sweep)."""
    return current_app.url_map.bind("").build(endpoint, values)


# --- who hears about it ---------------------------------------------------------------------

def active_users(*conditions) -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), *conditions)
                                   .order_by(User.id)))


def enterprise_users(need: Need) -> list[User]:
    return active_users(User.role == "enterprise", User.enterprise_id == need.enterprise_id)


def institution_users(institution_id: int, role: str) -> list[User]:
    return active_users(User.role == role, User.institution_id == institution_id)


# --- matches and push candidates ------------------------------------------------------------

def need_matches(need: Need) -> list[Match]:
    """The need's stored matches on published products, institutions in the order of their
    best match, each institution's best first (matching.queries.matches_by_institution)."""
    return [m for rows in matches_by_institution(need).values() for m in rows]


def _snapshot(need: Need, institution_id: int) -> list[dict]:
    """What the bank is shown as "matched products": frozen when the lead opens."""
    matches = matches_by_institution(need, [institution_id]).get(institution_id, [])
    reasons = reasons_for(need, matches)
    return [{"product_id": m.product_id, "product_version": m.product_version,
             "score": float(m.score), "reasons": reasons.get(m.product_id, []),
             "estimated_rate": float(m.estimated_rate) if m.estimated_rate is not None else None}
            for m in matches]


def need_leads(need: Need) -> list[Lead]:
    return list(db.session.scalars(select(Lead).where(Lead.need_id == need.id)
                                   .options(selectinload(Lead.claims)).order_by(Lead.id)))


def need_has_leads(need: Need) -> bool:
    """Whether any institution holds a lead on the need (one query, not the leads loaded)."""
    return db.session.scalar(select(Lead.id).where(Lead.need_id == need.id).limit(1)) is not None


# --- leads -----------------------------------------------------------------------------------

def unclaimed_working_days() -> int:
    return int(setting("unclaimed_working_days", 2))


def claim_due_from(moment) -> date:
    """The service clock runs from the push: the last China date on which a lead pushed at
    `moment` may still be claimed before it goes on the 督办 list."""
    return workdays.add_working_days(clock.china_date(moment), unclaimed_working_days())


def open_lead(need: Need, institution: Institution, *, source: str, actor,
              product: Product | None = None, reopen_lapsed: bool = True) -> Lead:
    """The need offered to the institution: one lead per need × institution (a second call
    returns the same lead; a lapsed or closed one is reopened, a lapsed one only when
    reopen_lapsed). A live consent is required whatever the source: push_need and
    sync_consent_from_flag grant it, the whitelist push and the event meeting grant theirs
    (the required fields only, never more than the firm chose) before calling this."""
    if source not in LEAD_SOURCES:
        raise ValueError(f"unknown lead source {source!r}")
    if need.status not in PUSHABLE_NEED_STATUSES:
        raise ServiceError(f"需求当前状态为“{need.status_label}”，不能推送给金融机构")
    if not need.enterprise.verified:
        raise ServiceError(UNVERIFIED)
    if product is not None and product.institution_id != institution.id:
        raise ValueError("the product belongs to another institution")
    if live_consent(need.id, institution.id) is None:
        raise ServiceError("企业尚未授权该机构查看本需求")
    lead = db.session.scalar(select(Lead).where(Lead.need_id == need.id,
                                                Lead.institution_id == institution.id))
    if lead is None:
        return _insert_lead(need, institution, source, actor, product)
    if lead.status == "closed" or (lead.status == "lapsed" and reopen_lapsed):
        _reopen(actor, lead, product)
    return lead


def _insert_lead(need, institution, source, actor, product) -> Lead:
    moment = clock.now()
    lead = Lead(need_id=need.id, institution_id=institution.id, source=source, status="open",
                product_id=product.id if product else None,
                matched=_snapshot(need, institution.id), opened_by_id=actor.id if actor else None,
                created_at=moment, claim_due=claim_due_from(moment))
    try:
        with db.session.begin_nested():  # two pushes at once: the unique constraint decides
            db.session.add(lead)
            db.session.flush()
    except IntegrityError:  # the other push won: its lead is this lead
        return db.session.scalar(select(Lead).where(Lead.need_id == need.id,
                                                    Lead.institution_id == institution.id))
    record(actor, "lead.opened", lead, need_id=need.id, institution_id=institution.id,
           source=source, product_id=lead.product_id)
    _announce_lead(lead)
    log.info("lead %s opened (need %s, institution %s, %s)", lead.id, need.id,
             institution.id, source)
    return lead


def _reopen(actor, lead: Lead, product: Product | None) -> None:
    before = lead.status
    lead.status = "open"
    lead.matched = _snapshot(lead.need, lead.institution_id)
    lead.claim_due = claim_due_from(clock.now())  # a new push starts a new clock
    lead.unclaimed_at = None
    lead.supervised_at = lead.supervised_by_id = lead.supervision_note = None
    if product is not None:
        lead.product_id = product.id
    _clear_outcome(lead)
    db.session.flush()
    record(actor, "lead.reopened", lead, **{"from": before})
    _announce_lead(lead)


def _clear_outcome(lead: Lead) -> None:
    for name in ("outcome", "outcome_product_id", "approved_amount_wan", "approved_rate",
                 "approved_term_months", "approved_guarantee_mode", "approved_on",
                 "decline_reason", "outcome_note", "decided_at", "decided_by_id"):
        setattr(lead, name, None)


def _announce_lead(lead: Lead) -> None:
    need = lead.need
    notify_all(institution_users(lead.institution_id, "bank_manager"), "lead.opened",
               f"新线索 #{lead.id}：{vocab.label('purposes', need.purpose)}"
               f"（{need.enterprise.district}）", link("leads.show", lead_id=lead.id))


def announce_leads(per_institution: dict[int, int]) -> None:
    """Leads opened in bulk: one notice per manager of each institution, not one per lead."""
    for institution_id, count in per_institution.items():
        if count:
            notify_all(institution_users(institution_id, "bank_manager"), "lead.opened",
                       f"新线索 {count} 条：企业授权推送的匹配需求", link("leads.index"))


def end_live_claim(actor, lead: Lead, status: str, reason: str, message: str) -> Claim | None:
    claim = lead.live_claim
    if claim is None:
        return None
    claim.status = status
    claim.ended_at = clock.now()
    notify(claim.manager, f"lead.{status}", f"线索 #{lead.id}：{message}",
           link("leads.index"))
    log.info("claim %s on lead %s ended: %s", claim.id, lead.id, reason)
    return claim


def _need_still_worked(need: Need) -> bool:
    return db.session.scalar(select(func.count(Lead.id)).where(
        Lead.need_id == need.id, Lead.status.in_(("claimed", "contacted", "approved")))) > 0


def return_need_to_pool(need: Need) -> None:
    """No institution works the need any more and nobody lent: it is on the market again."""
    if need.status == "in_progress" and not _need_still_worked(need):
        change_status(None, need, "published", "对接机构均已结束对接，需求重新开放")


def close_leads_of_ended_need(need: Need) -> list[Lead]:
    """A need withdrawn, closed or expired: its banks stop working on it at once (the sweep
    would otherwise close the leads only at its next run)."""
    closed = [lead for lead in need_leads(need) if lead.status in LEAD_ACTIVE]
    for lead in closed:
        close_lead(lead, f"需求{need.status_label}")
    return closed


def close_lead(lead: Lead, message: str) -> None:
    end_live_claim(None, lead, "closed", "need_ended", message)
    lead.status = "closed"
    db.session.flush()
    record(None, "lead.closed", lead, need_status=lead.need.status)


# --- the institution's record (the matcher's responsiveness input) ---------------------------

def lead_response_record(today: date | None = None) -> dict[int, float]:
    """institution_id -> share of its claims of the last 180 days whose first contact came
    within the deadline. Counted: claims contacted (on time or late), claims that lapsed or
    were answered with no contact logged (misses), and
    pushed leads nobody claimed by their claim deadline (misses); claims still inside their
    deadline, released or revoked before contact are not yet (or not) the institution's
    doing. Institutions with nothing counted are absent."""
    today = today or clock.china_today()
    since = clock.now() - timedelta(days=RECORD_DAYS)
    rows = db.session.execute(
        select(Claim.institution_id, Claim.contacted_at, Claim.contact_due, Claim.status)
        .where(Claim.claimed_at >= since,
               (Claim.contacted_at.is_not(None)) | (Claim.status == "lapsed")
               | (Claim.decided_at.is_not(None))))
    counted: dict[int, list[int]] = {}
    for institution_id, contacted_at, due, _status in rows:
        on_time = contacted_at is not None and clock.china_date(contacted_at) <= due
        tally = counted.setdefault(institution_id, [0, 0])
        tally[0] += on_time
        tally[1] += 1
    for (institution_id,) in db.session.execute(select(Lead.institution_id).where(
            Lead.unclaimed_at.is_not(None), Lead.unclaimed_at >= since)):
        counted.setdefault(institution_id, [0, 0])[1] += 1
    return {inst: hits / total for inst, (hits, total) in counted.items() if total}
