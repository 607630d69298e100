"""Pushing a need to institutions: the candidates, the enterprise's push with its consents,
revocation, and the exchange flag consent_to_share (consent to every matched institution),
kept in step with the matches by leads/subscribers.py. Flush, never commit."""
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select

from .. import clock
from ..audit.service import record, record_rows
from ..enterprises.models import Enterprise, Need
from ..enterprises.permissions import is_need_owner
from ..enterprises.verification import UNVERIFIED
from ..errors import ServiceError
from ..extensions import BULK, db, insert_rows, refresh_statistics
from ..guards import guarded
from ..institutions.models import Institution, Product
from ..matching import service as matching
from . import scope as scopes
from .consent import close_consent, grant_consent, live_consents
from .models import (
    Consent,
    Lead,
)
from .permissions import (
    PUSHABLE_NEED_STATUSES,
    owns_consent,
)
from .service import (
    announce_leads,
    claim_due_from,
    end_live_claim,
    need_leads,
    need_matches,
    open_lead,
    return_need_to_pool,
)

log = logging.getLogger(__name__)

DEFAULT_PUSH_COUNT = 3  # the push page pre-selects the best-matched few institutions


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
    """Institutions with a matched product, best match first (the ones already holding a live
    consent are shown as such). `default` marks the best few; the push page ticks nothing."""
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


@guarded(is_need_owner, "need", message="只有需求所属企业可以推送需求")
def push_need(actor, need: Need, institution_ids, scope) -> list[Lead]:
    """The enterprise sends a published need to the institutions it ticked, each receiving
    the need and exactly the profile fields in `scope` (one consent per institution)."""
    if need.status not in PUSHABLE_NEED_STATUSES:
        raise ServiceError(f"需求当前状态为“{need.status_label}”，不能推送")
    if not need.enterprise.verified:
        raise ServiceError(UNVERIFIED)
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


@guarded(owns_consent, "consent", system=True, message="只有需求所属企业可以撤回授权")
def revoke_consent(actor, consent: Consent, reason: str = "withdrawn") -> Consent:
    """The enterprise withdraws its consent for one institution: the institution loses the
    lead at once (404), a live claim ends (the slot frees up), nothing new reaches it."""
    if consent.revoked_at is not None:
        raise ServiceError("该授权已撤回")
    close_consent(actor, consent, reason)
    lead = db.session.scalar(select(Lead).where(Lead.need_id == consent.need_id,
                                                Lead.institution_id == consent.institution_id))
    if lead is not None:
        end_live_claim(actor, lead, "revoked", "consent_revoked",
                        "企业已撤回对贵机构的授权，线索已关闭")
        if lead.status in ("claimed", "contacted"):
            lead.status = "open"  # hidden while unconsented; a fresh consent shows it again
        db.session.flush()
        return_need_to_pool(lead.need)
    return consent


@guarded(is_need_owner, "need", message="只有需求所属企业可以撤回授权")
def withdraw_flag_consent(actor, need: Need) -> list[Consent]:
    """The enterprise withdraws the consent to share with every matched institution (as a
    rule one recorded on its behalf: a spreadsheet's 同意=是, an import's flag): the flag goes
    off, each consent it granted is revoked as withdrawn (so the flag never grants it again)
    and the institutions lose the leads at once. Consents the enterprise gave by pushing stay."""
    if not need.consent_to_share:
        raise ServiceError("本需求没有向匹配机构提供信息的授权，无需撤回")
    record(actor, "need.consent_withdrawn", need, basis=need.consent_basis,
           recorded_by_id=need.consent_recorded_by_id)
    need.consent_to_share = False
    need.consent_basis = need.consent_recorded_by_id = need.consent_recorded_at = None
    revoked = [c for c in live_consents(need) if c.via == "flag"]
    for consent in revoked:
        revoke_consent(actor, consent, "withdrawn")
    db.session.flush()
    log.info("need %s: flag consent withdrawn by user %s (%d consents)", need.id, actor.id,
             len(revoked))
    return revoked


def end_consents_of_ended_need(need: Need) -> list[Consent]:
    """Consent ends with the need: withdrawn, closed or expired, every live consent closes
    (reason need_ended); funded, all but the lending institution's (the loan is its own basis
    for holding the firm's data)."""
    # while the enterprise confirms, the lending lead is still "approved" (confirm_funding
    # calls this again once it is funded, so the other approvals' consents end too)
    keep = ("funded",) if any(lead.status == "funded" for lead in need_leads(need)) \
        else ("approved",)
    lender = {lead.institution_id for lead in need_leads(need)
              if need.status == "funded" and lead.status in keep}
    ended = [c for c in live_consents(need) if c.institution_id not in lender]
    for consent in ended:
        close_consent(None, consent, "need_ended")
    db.session.flush()
    return ended


def sync_consent_from_flag(need: Need) -> list[Lead]:
    """consent_to_share = consent to every institution whose product matches (exchange
    format). True: each matched institution gets a live consent (scope: the required profile
    fields only; the optional ones need the enterprise's own push) and a lead, except one whose consent the enterprise revoked. False: the consents given
    through the flag are revoked; those the enterprise gave by pushing stay. Institutions
    that stop matching keep what they were given. A lead that lapsed is not handed back by
    this automatic path. matching.service calls this after every refresh of the need."""
    if not need.consent_to_share:
        for consent in live_consents(need):
            if consent.via == "flag":
                revoke_consent(None, consent, "flag_off")
        return []
    if need.status not in PUSHABLE_NEED_STATUSES or not need.enterprise.verified:
        return []  # a self-registered firm's flag waits for the organizer's check
    opened = []
    # an institution the enterprise itself withdrew consent from stays out: the blanket flag
    # never overrides a consent revoked for that one recipient (only a new push does)
    seen = set(db.session.scalars(select(Consent.institution_id).where(
        Consent.need_id == need.id, Consent.revoke_reason == "withdrawn")))
    consented = {c.institution_id for c in live_consents(need)}
    seen -= consented
    # read once: a flagged need matches about 30 institutions, and every edit of it comes here
    leads = {lead.institution_id: lead for lead in db.session.scalars(
        select(Lead).where(Lead.need_id == need.id))}
    for match in need_matches(need):
        institution_id = match.product.institution_id
        if institution_id in seen:
            continue
        seen.add(institution_id)
        lead = leads.get(institution_id)
        if institution_id in consented and lead is not None and lead.status != "closed":
            opened.append(lead)  # what open_lead returns for it: nothing to grant or reopen
            continue
        institution = match.product.institution
        if institution_id not in consented:
            grant_consent(None, need, institution, scopes.REQUIRED, "flag")
        opened.append(open_lead(need, institution, source="consent", actor=None,
                                product=match.product, reopen_lapsed=False))
    return opened


def sync_flag_consents_for_needs(need_ids, institution_id: int | None = None) -> int:
    """The bulk form of sync_consent_from_flag after a recompute: the flagged needs on the
    market among `need_ids` (only for `institution_id` when given: a product's job) get a
    consent and a lead at each matched institution that holds neither a live consent nor
    one the enterprise revoked. In bulk (an import opens leads by the hundred thousand):
    Core inserts, one audit row per consent and lead, and one notification per institution
    user per batch instead of one per lead. Returns the number of leads opened or reopened."""
    opened = 0
    ids = sorted(need_ids)
    if len(ids) > BULK:  # after an import or a part of match --all: fresh planner statistics
        refresh_statistics("needs", "products", "matches", "consents", "leads")
    products = {pid: (inst, ref) for pid, inst, ref in db.session.execute(
        select(Product.id, Product.institution_id, Product.ref).where(
            Product.status == "published",
            *([Product.institution_id == institution_id] if institution_id else [])))}
    for start in range(0, len(ids), 500):
        pairs = _missing_flag_pairs(ids[start:start + 500], products)
        if pairs:
            opened += _open_flag_leads(pairs)
    return opened


def flagged_without_leads(need_ids) -> set[int]:
    """Of these needs, the flagged ones on the market that hold no lead yet: right after
    their next recompute, each opens a lead at every institution it matches."""
    found: set[int] = set()
    ids = sorted(need_ids)
    for start in range(0, len(ids), 500):
        flagged = _flagged(ids[start:start + 500])
        if flagged:
            found |= set(flagged) - set(db.session.scalars(
                select(Lead.need_id).where(Lead.need_id.in_(sorted(flagged)))))
    return found


def _flagged(need_ids: list[int]) -> dict[int, tuple]:
    """need id -> (basis, recorded by) of its flag when set on its behalf, else (None, None),
    for the flagged needs on the market among these."""
    return {need_id: (basis, recorder if basis is not None else None)
            for need_id, flag, status, basis, recorder, checked in db.session.execute(
                select(Need.id, Need.consent_to_share, Need.status, Need.consent_basis,
                       Need.consent_recorded_by_id, Enterprise.verification)
                .join(Need.enterprise).where(Need.id.in_(need_ids)))
            # (by the key: SQLite's plan); a self-registered firm waits for its check
            if flag and status in PUSHABLE_NEED_STATUSES and checked == "verified"}


def _missing_flag_pairs(need_ids: list[int], products: dict[int, tuple]) -> list[tuple]:
    """(need id, institution id, best product id, basis, recorded by) owed a flag consent:
    the flagged needs' stored institution bests on `products` (id -> (institution id, ref):
    the published ones), less the pairs holding a live consent or one the enterprise
    withdrew. Reads by the needs' keys (the bests from memory just after a recompute wrote
    them: matching.institution_bests), joined here: SQLite planned the join with
    products (and the NOT EXISTS form) as every published product × the needs' matches,
    2.5 million probes per 500 needs at 5,000 products, and a filter on the needs' status
    as a scan of every need's status."""
    flagged = _flagged(need_ids)
    if not flagged:
        return []
    held = set(db.session.execute(
        select(Consent.need_id, Consent.institution_id)
        .where(Consent.need_id.in_(sorted(flagged)),
               or_(Consent.revoked_at.is_(None), Consent.revoke_reason == "withdrawn"))).all())
    found: dict[tuple, int] = {}
    for need_id, best in matching.institution_bests(sorted(flagged)).items():
        for pid in best:  # best first: an institution's first is its best
            if (owner := products.get(pid)) is not None and (need_id, owner[0]) not in held:
                found.setdefault((need_id, owner[0]), pid)
    return [(need_id, inst, pid, *flagged[need_id])
            for (need_id, inst), pid in sorted(found.items())]


def _open_flag_leads(owed: list[tuple]) -> int:
    """The consents and leads `owed` (from _missing_flag_pairs), set-based: one executemany
    per table, and the audit rows (one per consent and per lead, as record() writes them) by
    INSERT … SELECT over the rows just inserted. The consents carry the need's basis when
    set on its behalf. A pair whose lead exists (closed, reached again by the flag: rare)
    takes the one-by-one path."""
    now = clock.now()
    pairs = [(n, i, p) for n, i, p, _b, _r in owed]
    needs = sorted({p[0] for p in pairs})
    existing = set(db.session.execute(select(Lead.need_id, Lead.institution_id)
                                      .where(Lead.need_id.in_(needs))).all())
    fresh = [p for p in pairs if (p[0], p[1]) not in existing]
    snapshots = matching.institution_snapshots((p[0], p[1]) for p in fresh)
    due = claim_due_from(now)
    # the rows this call inserts: above the highest id before it, at this moment, for these
    # needs (another transaction's rows committed meanwhile differ by the moment)
    floor = db.session.scalar(select(func.max(Consent.id))) or 0
    scope = list(scopes.REQUIRED)  # nothing optional is ever given on the flag's behalf
    insert_rows(Consent.__table__, [
        {"need_id": n, "institution_id": i, "scope": scope, "via": "flag", "granted_at": now,
         "basis": basis, "recorded_by_id": recorder} for n, i, _p, basis, recorder in owed])
    inserted = (Consent.id > floor, Consent.need_id.in_(needs), Consent.granted_at == now,
                Consent.via == "flag")
    details = {"need_id": Consent.need_id, "institution_id": Consent.institution_id,
               "scope": Consent.scope, "via": Consent.via}
    record_rows(None, "consent.granted", Consent, *inserted, Consent.basis.is_(None),
                **details)
    if any(basis is not None for _n, _i, _p, basis, _r in owed):  # recorded on its behalf
        record_rows(None, "consent.granted", Consent, *inserted, Consent.basis.is_not(None),
                    **details, basis=Consent.basis, recorded_by_id=Consent.recorded_by_id)
    if fresh:
        floor = db.session.scalar(select(func.max(Lead.id))) or 0
        insert_rows(Lead.__table__, [
            {"need_id": n, "institution_id": i, "source": "consent", "status": "open",
             "product_id": p, "matched": snapshots.get((n, i), []), "created_at": now,
             "updated_at": now, "claim_due": due} for n, i, p in fresh])
        record_rows(None, "lead.opened", Lead, Lead.id > floor, Lead.need_id.in_(needs),
                    Lead.created_at == now, Lead.source == "consent",
                    need_id=Lead.need_id, institution_id=Lead.institution_id,
                    source=Lead.source, product_id=Lead.product_id)
    for n, i, p in pairs:  # a closed lead the flag reaches again (rare): the one-by-one path
        if (n, i) in existing:
            open_lead(db.session.get(Need, n), db.session.get(Institution, i), source="consent",
                      actor=None, product=db.session.get(Product, p), reopen_lapsed=False)
    announce_leads(Counter(i for _n, i, _p in fresh))
    log.info("flag consents: %d granted, %d leads opened", len(pairs), len(fresh))
    return len(pairs)


def sync_flag_consents_for_product(product: Product, need_ids) -> int:
    """After a product's recompute: its institution, for the needs the product now serves."""
    if product is None or product.status != "published":
        return 0
    return sync_flag_consents_for_needs(need_ids, product.institution_id)


def sync_all_flag_consents() -> int:
    """The whole-platform form: consents given through the flag of needs no longer flagged
    are revoked, and the flagged needs get what is missing; returns the number of consents
    granted or revoked."""
    flagged = db.session.scalars(select(Need.id).where(
        Need.consent_to_share.is_(True), Need.status.in_(PUSHABLE_NEED_STATUSES))).all()
    return revoke_unflagged_consents() + sync_flag_consents_for_needs(flagged)


def revoke_unflagged_consents() -> int:
    """Consents given through the flag of needs no longer flagged are revoked (after `match
    --all`, whose parts already gave the flagged needs what they were missing, batch by
    batch); returns how many."""
    stale = db.session.scalars(
        select(Consent).join(Need, Need.id == Consent.need_id)
        .where(Consent.via == "flag", Consent.revoked_at.is_(None),
               Need.consent_to_share.is_(False)).order_by(Consent.id)).all()
    for consent in stale:
        revoke_consent(None, consent, "flag_off")
    return len(stale)
