"""Leads: consent, pushing, claiming, follow-up, outcomes, the sweep. Flush, never commit.

Public API other domains use:
- open_lead(need, institution, *, source, actor, product=None) -> Lead
      idempotent per need × institution; whitelists/ and events/ call it with source
      'whitelist' / 'event';
- sync_consent_from_flag(need) -> list[Lead]
      the exchange flag consent_to_share = consent to every institution whose product
      matches; matching.service calls it after each refresh of a need (bulk forms for
      refresh_product / match --all: sync_flag_consents_for_product(product),
      sync_all_flag_consents());
- lead_response_record(today=None) -> dict[institution_id, float]
      share of claims contacted within the deadline over the last 180 days (the matcher's
      responsiveness input); an institution with no decided claim is absent.

Need statuses move through enterprises.service.change_status (its table says who may):
published -> in_progress on the first claim (actor: the bank); in_progress -> published
(actor: the system) when the last claim ends without a loan; in_progress -> funded when the
enterprise confirms the money arrived.
"""
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock, vocab
from ..accounts.models import User
from ..audit.service import record
from ..enterprises.models import Need
from ..enterprises.service import change_status
from ..errors import ServiceError
from ..extensions import db
from ..institutions.models import Institution, Product
from ..matching.models import Match
from ..matching.service import matches_for_need
from ..notifications.service import notify, notify_all
from ..policy import workdays
from ..policy.service import setting
from . import scope as scopes
from .models import (
    CLAIM_LIVE,
    CONTACT_KINDS,
    FOLLOWUP_KINDS,
    LEAD_ACTIVE,
    LEAD_SOURCES,
    Claim,
    Consent,
    Lead,
    LeadFollowUp,
)
from .permissions import (
    PUSHABLE_NEED_STATUSES,
    RATEABLE_STATUSES,
    claim_refusal,
)

log = logging.getLogger(__name__)

DEFAULT_PUSH_COUNT = 3  # the push page pre-selects the best-matched few institutions
RECORD_DAYS = 180  # window of lead_response_record
RENEWAL_NEAR_DAYS = 30  # a renewal due within this many days heads the inbox
ENDED_NEED_STATUSES = ("funded", "closed", "withdrawn", "expired")


def _path(endpoint: str, **values) -> str:
    """A path for a notification link, inside or outside a request (the CLI sweep)."""
    return current_app.url_map.bind("").build(endpoint, values)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# --- who hears about it ---------------------------------------------------------------------

def _users(*conditions) -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), *conditions)
                                   .order_by(User.id)))


def enterprise_users(need: Need) -> list[User]:
    return _users(User.role == "enterprise", User.enterprise_id == need.enterprise_id)


def institution_users(institution_id: int, role: str) -> list[User]:
    return _users(User.role == role, User.institution_id == institution_id)


# --- matches and push candidates ------------------------------------------------------------

def need_matches(need: Need) -> list[Match]:
    """The need's stored matches on published products, best first (the matcher's order)."""
    return [m for m in matches_for_need(need) if m.product.status == "published"]


@dataclass
class Candidate:
    """An institution the enterprise may push a need to, with its matched products."""

    institution: Institution
    matches: list = field(default_factory=list)
    default: bool = False
    consent: Consent | None = None
    lead: Lead | None = None

    @property
    def best_score(self) -> Decimal:
        return self.matches[0].score if self.matches else Decimal(0)


def push_candidates(need: Need) -> list[Candidate]:
    """Institutions with a matched product, best match first; the first few are pre-ticked
    (the ones already holding a live consent are shown as such)."""
    by_institution: dict[int, Candidate] = {}
    for match in need_matches(need):
        inst = match.product.institution
        by_institution.setdefault(inst.id, Candidate(inst)).matches.append(match)
    candidates = list(by_institution.values())
    consents = {c.institution_id: c for c in live_consents(need)}
    leads = {lead.institution_id: lead for lead in need_leads(need)}
    for n, cand in enumerate(candidates):
        cand.default = n < DEFAULT_PUSH_COUNT
        cand.consent = consents.get(cand.institution.id)
        cand.lead = leads.get(cand.institution.id)
    return candidates


def _snapshot(need: Need, institution_id: int) -> list[dict]:
    """What the bank is shown as "matched products": frozen when the lead opens."""
    # one query for this institution's matches: an import opens thousands of leads
    matches = db.session.scalars(
        select(Match).join(Product, Product.id == Match.product_id)
        .where(Match.need_id == need.id, Product.institution_id == institution_id,
               Product.status == "published")
        .order_by(Match.score.desc(), Match.estimated_rate, Product.ref)).all()
    return [{"product_id": m.product_id, "product_version": m.product_version,
             "score": float(m.score), "reasons": list(m.reasons or []),
             "estimated_rate": float(m.estimated_rate) if m.estimated_rate is not None else None}
            for m in matches]


# --- consent --------------------------------------------------------------------------------

def live_consents(need: Need) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(
        Consent.need_id == need.id, Consent.revoked_at.is_(None)).order_by(Consent.id)))


def live_consent(need_id: int, institution_id: int) -> Consent | None:
    return db.session.scalar(select(Consent).where(
        Consent.need_id == need_id, Consent.institution_id == institution_id,
        Consent.revoked_at.is_(None)))


def need_consents(need: Need) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.need_id == need.id)
                                   .order_by(Consent.granted_at.desc(), Consent.id.desc())))


def need_leads(need: Need) -> list[Lead]:
    return list(db.session.scalars(select(Lead).where(Lead.need_id == need.id)
                                   .options(selectinload(Lead.claims)).order_by(Lead.id)))


def grant_consent(actor, need: Need, institution: Institution, scope, via: str) -> Consent:
    """The enterprise's consent for this institution with this scope. A live consent with the
    same scope is kept; a different scope closes it (superseded) and opens a new row."""
    codes = scopes.normalize(scope)
    current = live_consent(need.id, institution.id)
    if current is not None and list(current.scope) == codes:
        return current
    if current is not None:
        _close_consent(actor, current, "superseded")
        db.session.flush()  # the partial unique index admits one live row at a time
    consent = Consent(need_id=need.id, institution_id=institution.id, scope=codes, via=via,
                      granted_at=clock.now(), granted_by_id=actor.id if actor else None)
    db.session.add(consent)
    db.session.flush()
    record(actor, "consent.granted", consent, need_id=need.id, institution_id=institution.id,
           scope=codes, via=via)
    return consent


def _close_consent(actor, consent: Consent, reason: str) -> None:
    consent.revoked_at = clock.now()
    consent.revoked_by_id = actor.id if actor else None
    consent.revoke_reason = reason
    record(actor, "consent.revoked", consent, need_id=consent.need_id,
           institution_id=consent.institution_id, reason=reason)


def push_need(actor, need: Need, institution_ids, scope) -> list[Lead]:
    """The enterprise sends a published need to the institutions it ticked, each receiving
    the need and exactly the profile fields in `scope` (one consent per institution)."""
    if need.status not in PUSHABLE_NEED_STATUSES:
        raise ServiceError(f"需求当前状态为“{need.status_label}”，不能推送")
    ids = list(dict.fromkeys(int(i) for i in institution_ids or ()))
    if not ids:
        raise ServiceError("请至少选择一家金融机构", field="institutions")
    candidates = {c.institution.id: c for c in push_candidates(need)}
    unknown = [i for i in ids if i not in candidates]
    if unknown:
        raise ServiceError("只能推送给与本需求匹配的金融机构", field="institutions")
    leads = []
    for institution_id in ids:
        cand = candidates[institution_id]
        grant_consent(actor, need, cand.institution, scope, "push")
        leads.append(open_lead(need, cand.institution, source="consent", actor=actor,
                               product=cand.matches[0].product))
    log.info("need %s pushed to institutions %s by user %s", need.id, ids, actor.id)
    return leads


def revoke_consent(actor, consent: Consent, reason: str = "withdrawn") -> Consent:
    """The enterprise withdraws its consent for one institution: the institution loses the
    lead at once (404), a live claim ends (the slot frees up), nothing new reaches it."""
    if consent.revoked_at is not None:
        raise ServiceError("该授权已撤回")
    _close_consent(actor, consent, reason)
    lead = db.session.scalar(select(Lead).where(Lead.need_id == consent.need_id,
                                                Lead.institution_id == consent.institution_id))
    if lead is not None:
        _end_live_claim(actor, lead, "revoked", "consent_revoked",
                        "企业已撤回对贵机构的授权，线索已关闭")
        if lead.status in ("claimed", "contacted"):
            lead.status = "open"  # hidden while unconsented; a fresh consent shows it again
        db.session.flush()
        _return_need_to_pool(lead.need)
    return consent


def sync_consent_from_flag(need: Need) -> list[Lead]:
    """consent_to_share = consent to every institution whose product matches (exchange
    format). True: each matched institution gets a live consent (scope: every profile field)
    and a lead, except one whose consent the enterprise revoked. False: the consents given
    through the flag are revoked; those the enterprise gave by pushing stay. Institutions
    that stop matching keep what they were given. A lead that lapsed is not handed back by
    this automatic path. matching.service calls this after every refresh of the need."""
    if not need.consent_to_share:
        for consent in live_consents(need):
            if consent.via == "flag":
                revoke_consent(None, consent, "flag_off")
        return []
    if need.status not in PUSHABLE_NEED_STATUSES:
        return []
    opened = []
    # an institution the enterprise itself withdrew consent from stays out: the blanket flag
    # never overrides a consent revoked for that one recipient (only a new push does)
    seen = set(db.session.scalars(select(Consent.institution_id).where(
        Consent.need_id == need.id, Consent.revoke_reason == "withdrawn")))
    seen -= {c.institution_id for c in live_consents(need)}
    for match in need_matches(need):
        institution = match.product.institution
        if institution.id in seen:
            continue
        seen.add(institution.id)
        if live_consent(need.id, institution.id) is None:
            grant_consent(None, need, institution, scopes.FULL, "flag")
        opened.append(open_lead(need, institution, source="consent", actor=None,
                                product=match.product, reopen_lapsed=False))
    return opened


def sync_flag_consents_for_product(product: Product) -> list[Lead]:
    """The bulk form of sync_consent_from_flag for refresh_product: the flagged needs on the
    market that now match this product, and hold neither a live consent for its institution
    nor one the enterprise revoked, get both consent and lead. One query when nothing is
    missing (a product edit re-matches up to every need on the platform)."""
    if product.status != "published":
        return []
    institution = product.institution
    consent_for = select(Consent.id).where(Consent.need_id == Need.id,
                                           Consent.institution_id == institution.id)
    needs = db.session.scalars(
        select(Need).join(Match, Match.need_id == Need.id)
        .where(Match.product_id == product.id, Need.consent_to_share.is_(True),
               Need.status.in_(PUSHABLE_NEED_STATUSES),
               ~consent_for.where(Consent.revoked_at.is_(None)).exists(),
               ~consent_for.where(Consent.revoke_reason == "withdrawn").exists())
        .order_by(Need.id)).all()
    opened = []
    for need in needs:
        grant_consent(None, need, institution, scopes.FULL, "flag")
        opened.append(open_lead(need, institution, source="consent", actor=None,
                                product=product, reopen_lapsed=False))
    return opened


def sync_all_flag_consents() -> int:
    """The whole-platform form (after `matchmaker match --all`): two queries find what is
    missing or no longer consented; returns the number of consents granted or revoked."""
    stale = db.session.scalars(
        select(Consent).join(Need, Need.id == Consent.need_id)
        .where(Consent.via == "flag", Consent.revoked_at.is_(None),
               Need.consent_to_share.is_(False)).order_by(Consent.id)).all()
    for consent in stale:
        revoke_consent(None, consent, "flag_off")
    consent_for = select(Consent.id).where(Consent.need_id == Need.id,
                                           Consent.institution_id == Product.institution_id)
    pairs = db.session.execute(
        select(Need, Product).join(Match, Match.need_id == Need.id)
        .join(Product, Product.id == Match.product_id)
        .where(Need.consent_to_share.is_(True), Need.status.in_(PUSHABLE_NEED_STATUSES),
               Product.status == "published",
               ~consent_for.where(Consent.revoked_at.is_(None)).exists(),
               ~consent_for.where(Consent.revoke_reason == "withdrawn").exists())
        .order_by(Need.id, Match.score.desc(), Product.id)).all()
    granted = set()
    for need, product in pairs:
        if (need.id, product.institution_id) in granted:
            continue  # the institution's best product for the need came first
        granted.add((need.id, product.institution_id))
        grant_consent(None, need, product.institution, scopes.FULL, "flag")
        open_lead(need, product.institution, source="consent", actor=None, product=product,
                  reopen_lapsed=False)
    return len(stale) + len(granted)


# --- leads -----------------------------------------------------------------------------------

def open_lead(need: Need, institution: Institution, *, source: str, actor,
              product: Product | None = None, reopen_lapsed: bool = True) -> Lead:
    """The need offered to the institution: one lead per need × institution (a second call
    returns the same lead; a lapsed or closed one is reopened, a lapsed one only when
    reopen_lapsed). A live consent is required: source 'consent' must already have one
    (push_need / sync_consent_from_flag grant it); 'whitelist' and 'event' record one with
    the full scope, the programme's application form being where the enterprise agreed."""
    if source not in LEAD_SOURCES:
        raise ValueError(f"unknown lead source {source!r}")
    if need.status not in PUSHABLE_NEED_STATUSES:
        raise ServiceError(f"需求当前状态为“{need.status_label}”，不能推送给金融机构")
    if product is not None and product.institution_id != institution.id:
        raise ValueError("the product belongs to another institution")
    if live_consent(need.id, institution.id) is None:
        if source == "consent":
            raise ServiceError("企业尚未授权该机构查看本需求")
        grant_consent(actor, need, institution, scopes.FULL, source)
    lead = db.session.scalar(select(Lead).where(Lead.need_id == need.id,
                                                Lead.institution_id == institution.id))
    if lead is None:
        return _insert_lead(need, institution, source, actor, product)
    if lead.status == "closed" or (lead.status == "lapsed" and reopen_lapsed):
        _reopen(actor, lead, product)
    return lead


def _insert_lead(need, institution, source, actor, product) -> Lead:
    lead = Lead(need_id=need.id, institution_id=institution.id, source=source, status="open",
                product_id=product.id if product else None,
                matched=_snapshot(need, institution.id), opened_by_id=actor.id if actor else None,
                created_at=clock.now())
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
               f"（{need.enterprise.district}）", _path("leads.show", lead_id=lead.id))


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


def claim_lead(actor, lead: Lead) -> Claim:
    """接单: the manager takes the lead for the institution. At most one live claim per lead
    (partial unique index) and K per need (counted under the need's lock)."""
    refusal = claim_refusal(actor, lead)
    if refusal:
        raise ServiceError(refusal)
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
    claim = _new_claim(actor, lead)
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
    record(actor, "lead.claimed", lead, claim_id=claim.id, contact_due=claim.contact_due,
           decision_due=claim.decision_due)
    if lead.need.status == "published":
        change_status(actor, lead.need, "in_progress")
    notify_all(enterprise_users(lead.need), "lead.claimed",
               f"{lead.institution.name}已接单您的需求 {lead.need.ref}，"
               f"将于{claim.contact_due:%m月%d日}前与您联系",
               _path("leads.progress", lead_id=lead.id), email=True)
    log.info("lead %s claimed by user %s (claim %s)", lead.id, actor.id, claim.id)
    return claim


def _new_claim(actor, lead: Lead) -> Claim:
    moment = clock.now()
    day = clock.china_date(moment)
    return Claim(lead_id=lead.id, need_id=lead.need_id, institution_id=lead.institution_id,
                 manager_id=actor.id, status="claimed", claimed_at=moment,
                 contact_due=workdays.add_working_days(
                     day, int(setting("first_contact_working_days", 2))),
                 decision_due=workdays.add_working_days(
                     day, int(setting("decision_working_days", 10))))


def _end_live_claim(actor, lead: Lead, status: str, reason: str, message: str) -> Claim | None:
    claim = lead.live_claim
    if claim is None:
        return None
    claim.status = status
    claim.ended_at = clock.now()
    notify(claim.manager, f"lead.{status}", f"线索 #{lead.id}：{message}",
           _path("leads.index"))
    log.info("claim %s on lead %s ended: %s", claim.id, lead.id, reason)
    return claim


def _need_still_worked(need: Need) -> bool:
    return db.session.scalar(select(func.count(Lead.id)).where(
        Lead.need_id == need.id, Lead.status.in_(("claimed", "contacted", "approved")))) > 0


def _return_need_to_pool(need: Need) -> None:
    """No institution works the need any more and nobody lent: it is on the market again."""
    if need.status == "in_progress" and not _need_still_worked(need):
        change_status(None, need, "published", "对接机构均已结束对接，需求重新开放")


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
               _path("leads.index"))
    _return_need_to_pool(lead.need)
    return claim


# --- follow-up -------------------------------------------------------------------------------

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
        _first_contact(actor, lead, claim, entry.created_at)
        if kind == "documents_requested":
            notify_all(enterprise_users(lead.need), "lead.documents_requested",
                       f"{lead.institution.name}请您准备贷款资料（需求 {lead.need.ref}）",
                       _path("leads.progress", lead_id=lead.id), email=True)
    return entry


def _first_contact(actor, lead: Lead, claim: Claim, moment) -> None:
    if claim.contacted_at is not None:
        return
    claim.contacted_at = moment
    claim.status = "contacted"
    lead.status = "contacted"
    on_time = clock.china_date(moment) <= claim.contact_due
    db.session.flush()
    record(actor, "lead.contacted", lead, claim_id=claim.id, on_time=on_time,
           contact_due=claim.contact_due)


# --- outcomes ---------------------------------------------------------------------------------

def _decision_claim(actor, lead: Lead) -> Claim:
    claim = lead.live_claim
    if claim is None or claim.manager_id != actor.id:
        raise ServiceError("只有认领该线索的客户经理可以登记审批结果")
    return claim


def _decide(actor, lead: Lead, claim: Claim, outcome: str) -> None:
    moment = clock.now()
    if claim.contacted_at is None:  # a decision is a contact: it was made before any lapse
        _first_contact(actor, lead, claim, moment)
    claim.status = outcome
    claim.decided_at = moment
    lead.status = outcome
    lead.outcome = outcome
    lead.decided_at = moment
    lead.decided_by_id = actor.id


def approve_lead(actor, lead: Lead, *, product: Product, amount_wan: Decimal, rate: Decimal,
                 term_months: int, guarantee_mode: str, approved_on: date,
                 note: str | None = None) -> Lead:
    """批准: the terms as approved; an amount above the product's maximum or a negative rate
    is refused (the form checks the shape, this checks the product)."""
    claim = _decision_claim(actor, lead)
    _check_approval(lead, claim, product, amount_wan, rate, term_months, guarantee_mode,
                    approved_on)
    _decide(actor, lead, claim, "approved")
    lead.outcome_product_id = product.id
    lead.approved_amount_wan = amount_wan
    lead.approved_rate = rate
    lead.approved_term_months = term_months
    lead.approved_guarantee_mode = guarantee_mode
    lead.approved_on = approved_on
    lead.outcome_note = (note or "").strip() or None
    db.session.flush()
    record(actor, "lead.approved", lead, claim_id=claim.id, product_id=product.id,
           amount_wan=amount_wan, rate=rate, term_months=term_months,
           guarantee_mode=guarantee_mode, approved_on=approved_on,
           on_time=clock.china_date(claim.decided_at) <= claim.decision_due)
    notify_all(enterprise_users(lead.need), "lead.approved",
               f"{lead.institution.name}已批准您的融资需求 {lead.need.ref}，请在放款到账后确认",
               _path("leads.progress", lead_id=lead.id), email=True)
    return lead


def _check_approval(lead, claim, product, amount_wan, rate, term_months, guarantee_mode,
                    approved_on) -> None:
    if product is None or product.institution_id != lead.institution_id:
        raise ServiceError("请选择本机构的产品", field="product_id")
    if amount_wan is None or amount_wan <= 0:
        raise ServiceError("批准金额必须大于0", field="amount_wan")
    if amount_wan > product.amount_max_wan:
        raise ServiceError(f"批准金额不能超过产品“{product.name}”的最高额度"
                           f"{product.amount_max_wan.normalize():f}万元", field="amount_wan")
    if rate is None or rate < 0:
        raise ServiceError("年利率不能为负数", field="rate")
    if term_months is None or term_months <= 0:
        raise ServiceError("期限必须大于0个月", field="term_months")
    if guarantee_mode not in vocab.codes("guarantee_modes"):
        raise ServiceError("请选择担保方式", field="guarantee_mode")
    if approved_on is None or approved_on > clock.china_today():
        raise ServiceError("批准日期不能晚于今天", field="approved_on")
    if approved_on < clock.china_date(claim.claimed_at):
        raise ServiceError("批准日期不能早于接单日期", field="approved_on")


def decline_lead(actor, lead: Lead, reason: str, text_: str | None = None) -> Lead:
    """未获批 with a reason code from the vocabulary (text required for "other"): the
    enterprise sees why."""
    claim = _decision_claim(actor, lead)
    if reason not in vocab.codes("decline_reasons"):
        raise ServiceError("请选择未获批原因", field="reason")
    text_ = (text_ or "").strip() or None
    if reason == "other" and not text_:
        raise ServiceError("原因为“其他”时须填写具体说明", field="text")
    _decide(actor, lead, claim, "declined")
    lead.decline_reason = reason
    lead.outcome_note = text_
    db.session.flush()
    record(actor, "lead.declined", lead, claim_id=claim.id, reason=reason,
           on_time=clock.china_date(claim.decided_at) <= claim.decision_due)
    notify_all(enterprise_users(lead.need), "lead.declined",
               f"{lead.institution.name}未能批准您的需求 {lead.need.ref}："
               f"{vocab.label('decline_reasons', reason)}",
               _path("leads.progress", lead_id=lead.id), email=True)
    _return_need_to_pool(lead.need)
    return lead


def withdraw_lead(actor, lead: Lead, note: str) -> Lead:
    """终止对接 (the enterprise no longer needs it, or talks ended): the reason is shown to
    the enterprise."""
    claim = _decision_claim(actor, lead)
    note = (note or "").strip()
    if not note:
        raise ServiceError("请填写终止对接的原因", field="note")
    _decide(actor, lead, claim, "withdrawn")
    lead.outcome_note = note
    db.session.flush()
    record(actor, "lead.withdrawn", lead, claim_id=claim.id)
    notify_all(enterprise_users(lead.need), "lead.withdrawn",
               f"{lead.institution.name}已终止与您的对接（需求 {lead.need.ref}）",
               _path("leads.progress", lead_id=lead.id))
    _return_need_to_pool(lead.need)
    return lead


def _check_rating(rating) -> int:
    if rating is None or not 1 <= int(rating) <= 5:
        raise ServiceError("请为服务打分（1–5星）", field="rating")
    return int(rating)


def confirm_funding(actor, lead: Lead, rating: int, comment: str | None = None) -> Lead:
    """The enterprise confirms the money arrived and rates the service: the lead and the need
    are funded; the other institutions' work on the need ends."""
    if lead.status != "approved":
        raise ServiceError("只有已批准的线索可以确认放款")
    rating = _check_rating(rating)
    change_status(actor, lead.need, "funded")
    lead.status = "funded"
    lead.funded_at = clock.now()
    _rate(lead, rating, comment)
    db.session.flush()
    record(actor, "lead.funded", lead, claim_id=lead.last_claim.id if lead.last_claim else None)
    record(actor, "lead.rated", lead, rating=rating)
    manager = lead.last_claim.manager if lead.last_claim else None
    notify(manager, "lead.funded", f"企业已确认线索 #{lead.id} 放款到账，评价{rating}星",
           _path("leads.show", lead_id=lead.id))
    _close_other_leads(lead)
    return lead


def _rate(lead: Lead, rating: int, comment: str | None) -> None:
    lead.rating = rating
    lead.rating_comment = (comment or "").strip() or None
    lead.rated_at = clock.now()


def rate_lead(actor, lead: Lead, rating: int, comment: str | None = None) -> Lead:
    """A rating for a lead that ended without a loan (or was funded but not yet rated)."""
    if lead.status not in RATEABLE_STATUSES:
        raise ServiceError("对接结束后才能评价")
    if lead.rating is not None:
        raise ServiceError("您已评价过该机构的服务")
    _rate(lead, _check_rating(rating), comment)
    db.session.flush()
    record(actor, "lead.rated", lead, rating=lead.rating)
    return lead


def _close_other_leads(funded: Lead) -> None:
    for lead in need_leads(funded.need):
        # another institution's approval stays on record (outcome kept) but is closed
        if lead.id != funded.id and lead.status in LEAD_ACTIVE + ("approved",):
            _close_lead(lead, "需求已在其他机构获得融资")


def close_leads_of_ended_need(need: Need) -> list[Lead]:
    """A need withdrawn, closed or expired: its banks stop working on it at once (the sweep
    would otherwise close the leads only at its next run)."""
    closed = [lead for lead in need_leads(need) if lead.status in LEAD_ACTIVE]
    for lead in closed:
        _close_lead(lead, f"需求已{need.status_label}")
    return closed


def _close_lead(lead: Lead, message: str) -> None:
    _end_live_claim(None, lead, "closed", "need_ended", message)
    lead.status = "closed"
    db.session.flush()
    record(None, "lead.closed", lead, need_status=lead.need.status)


# --- the sweep (cron) -------------------------------------------------------------------------

@dataclass
class SweepReport:
    lapsed: list = field(default_factory=list)
    escalated: list = field(default_factory=list)
    closed: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"lapsed {len(self.lapsed)} claim(s), escalated {len(self.escalated)}, "
                f"closed {len(self.closed)} lead(s)")


def sweep(today: date | None = None) -> SweepReport:
    """Run by cron (`matchmaker leads sweep`), idempotent:
    1. a claim with no contact after its contact deadline lapses: the lead leaves the
       institution (counted against its record) and the need's slot frees up;
    2. a contacted claim past its decision deadline goes on the organizers' 督办 list and
       its institution's admins are told (once);
    3. leads of needs that ended elsewhere (withdrawn, closed, expired, funded) close."""
    today = today or clock.china_today()
    report = SweepReport()
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
        _close_lead(lead, f"需求已{lead.need.status_label}")
        report.closed.append(lead)
    log.info("leads sweep %s: %s", today, report.summary())
    return report


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
    notify(claim.manager, "lead.lapsed", message, _path("leads.index"), email=True)
    notify_all(institution_users(claim.institution_id, "bank_admin"), "lead.lapsed", message,
               _path("leads.pipeline"), email=True)
    _return_need_to_pool(lead.need)


def _escalate(claim: Claim) -> None:
    lead = claim.lead
    claim.escalated_at = clock.now()
    db.session.flush()
    record(None, "lead.escalated", lead, claim_id=claim.id, decision_due=claim.decision_due)
    notify_all(institution_users(claim.institution_id, "bank_admin"), "lead.escalated",
               f"线索 #{lead.id} 超过审批时限（{claim.decision_due:%m月%d日}）仍未答复，"
               f"已列入主管部门督办清单", _path("leads.show", lead_id=lead.id), email=True)


def supervise_claim(actor, claim: Claim, note: str) -> Claim:
    """An organizer records that the overdue decision was followed up (督办)."""
    note = (note or "").strip()
    if not note:
        raise ServiceError("请填写督办情况", field="note")
    claim.supervised_at = clock.now()
    claim.supervised_by_id = actor.id
    claim.supervision_note = note
    db.session.flush()
    record(actor, "lead.supervised", claim.lead, claim_id=claim.id)
    notify_all(institution_users(claim.institution_id, "bank_admin"), "lead.supervised",
               f"主管部门已就线索 #{claim.lead_id} 的审批超时进行督办",
               _path("leads.show", lead_id=claim.lead_id))
    return claim


# --- the institution's record (the matcher's responsiveness input) ---------------------------

def lead_response_record(today: date | None = None) -> dict[int, float]:
    """institution_id -> share of its claims of the last 180 days whose first contact came
    within the deadline. Counted: claims contacted (on time or late) and claims that lapsed;
    claims still inside their deadline, released or revoked before contact are not yet (or
    not) the institution's doing. Institutions with nothing counted are absent."""
    today = today or clock.china_today()
    since = clock.now() - timedelta(days=RECORD_DAYS)
    rows = db.session.execute(
        select(Claim.institution_id, Claim.contacted_at, Claim.contact_due, Claim.status)
        .where(Claim.claimed_at >= since,
               (Claim.contacted_at.is_not(None)) | (Claim.status == "lapsed")))
    counted: dict[int, list[int]] = {}
    for institution_id, contacted_at, due, _status in rows:
        on_time = contacted_at is not None and clock.china_date(contacted_at) <= due
        tally = counted.setdefault(institution_id, [0, 0])
        tally[0] += on_time
        tally[1] += 1
    return {inst: hits / total for inst, (hits, total) in counted.items() if total}
