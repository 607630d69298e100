"""Who sees which lead and what they may do to it.

A bank user sees a lead of their own institution when ALL hold (visible_leads and
can_view_lead say the same, a test checks it):
- a live consent exists for the need × institution (revocation hides it at once: nothing
  new reaches the bank, and the old page answers 404);
- the lead has not lapsed for the institution (a claim with no contact in time takes the lead
  away from it; only a fresh push by the enterprise gives it back);
- the need is not a draft.
Anything else answers 404 (the scoped query does not find it), never 403.

Enterprises see the leads of their own needs, organizers those of their district's
enterprises (the need rule of enterprises.permissions), read through `progress_leads`.
"""
from contextlib import contextmanager

from flask import g
from sqlalchemy import Select, exists, false, select, tuple_

from ..accounts.models import BANK_ROLES
from ..enterprises.models import Enterprise, Need
from ..enterprises.permissions import is_need_owner, visible_needs
from ..extensions import db
from .models import CLAIM_LIVE, Claim, Consent, Lead

CLAIMABLE_NEED_STATUSES = ("published", "in_progress")
PUSHABLE_NEED_STATUSES = ("published", "in_progress")
RATEABLE_STATUSES = ("funded", "declined", "withdrawn")


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def live_consent_clause():
    return exists().where(Consent.need_id == Lead.need_id,
                          Consent.institution_id == Lead.institution_id,
                          Consent.revoked_at.is_(None))


def visible_leads(user) -> Select:
    """Every bank-side lead query starts here: own institution, live consent, not lapsed."""
    if not _authenticated(user) or user.role not in BANK_ROLES:
        return select(Lead).where(false())
    return (select(Lead).join(Lead.need)
            .where(Lead.institution_id == user.institution_id, Lead.status != "lapsed",
                   Need.status != "draft", live_consent_clause()))


def has_live_consent(lead: Lead) -> bool:
    known = g.get(_KNOWN_CONSENTS)
    if known is not None and (lead.need_id, lead.institution_id) in known:
        return known[(lead.need_id, lead.institution_id)]
    return db.session.scalar(select(Consent.id).where(
        Consent.need_id == lead.need_id, Consent.institution_id == lead.institution_id,
        Consent.revoked_at.is_(None))) is not None


_KNOWN_CONSENTS = "leads_known_consents"


@contextmanager
def consents_known(leads):
    """`with consents_known(page.items): render the page` — a list page asks who may do what
    to each lead (can_claim_lead, can_work_lead, …: three times a row in the inbox), each
    asking whether the consent is live. Read once for the page here, for the block only: no
    state changes while a page renders, so nothing goes stale."""
    pairs = {(lead.need_id, lead.institution_id) for lead in leads}
    known = dict.fromkeys(pairs, False)
    if pairs:
        known.update(((need_id, institution_id), True) for need_id, institution_id in
                     db.session.execute(select(Consent.need_id, Consent.institution_id).where(
                         tuple_(Consent.need_id, Consent.institution_id).in_(sorted(pairs)),
                         Consent.revoked_at.is_(None))))
    saved = g.pop(_KNOWN_CONSENTS, None)
    setattr(g, _KNOWN_CONSENTS, known)
    try:
        yield
    finally:
        g.pop(_KNOWN_CONSENTS, None)
        if saved is not None:
            setattr(g, _KNOWN_CONSENTS, saved)


def can_view_lead(user, lead) -> bool:
    return (_authenticated(user) and lead is not None and user.role in BANK_ROLES
            and lead.institution_id == user.institution_id and lead.status != "lapsed"
            and lead.need.status != "draft" and has_live_consent(lead))


def claim_refusal(user, lead) -> str | None:
    """Why this manager may not claim the lead now (Chinese), or None. The K-per-need limit is
    checked by the service under a lock, not here."""
    if not (_authenticated(user) and user.role == "bank_manager" and can_view_lead(user, lead)):
        return "您不能认领该线索"
    if lead.need.status not in CLAIMABLE_NEED_STATUSES:
        return f"该需求当前状态为“{lead.need.status_label}”，不能认领"
    if lead.live_claim is not None:
        return "本机构已有客户经理认领该线索"
    if lead.status != "open":
        return f"该线索当前状态为“{lead.status_label}”，不能认领"
    return None


def can_claim_lead(user, lead) -> bool:
    return claim_refusal(user, lead) is None


def may_claim_lead(user, lead) -> bool:
    """Who may claim at all (a manager of the institution that sees the lead); whether the
    lead can be claimed now is claim_refusal's and the service's business."""
    return (_authenticated(user) and user.role == "bank_manager" and lead is not None
            and can_view_lead(user, lead))


def holds_claim(user, lead) -> bool:
    claim = lead.live_claim
    return claim is not None and claim.manager_id == user.id


def can_work_lead(user, lead) -> bool:
    """Log follow-ups and record the outcome: the manager holding the live claim."""
    return (_authenticated(user) and user.role == "bank_manager" and can_view_lead(user, lead)
            and holds_claim(user, lead))


def can_release_lead(user, lead) -> bool:
    """Give a claim back: its holder, or the institution's admin (a manager who left)."""
    return (can_view_lead(user, lead) and lead.live_claim is not None
            and (holds_claim(user, lead) or user.role == "bank_admin"))


def can_assign_lead(user, lead) -> bool:
    """派单 / 改派: the institution's admin, on a lead its managers still work."""
    return (_authenticated(user) and user.role == "bank_admin" and lead is not None
            and can_view_lead(user, lead) and lead.status in ("open", "claimed", "contacted"))


def progress_leads(user) -> Select:
    """Leads of the needs this enterprise or organizer may see."""
    if not _authenticated(user) or user.role not in ("enterprise", "organizer"):
        return select(Lead).where(false())
    return select(Lead).where(Lead.need_id.in_(visible_needs(user).with_only_columns(Need.id)))


def can_push_need(user, need) -> bool:
    return is_need_owner(user, need) and need.status in PUSHABLE_NEED_STATUSES


def can_revoke_consent(user, consent) -> bool:
    return owns_consent(user, consent) and consent.live


def can_withdraw_flag_consent(user, need) -> bool:
    """The enterprise whose need shares with every matched institution (the flag, as a
    rule set on its behalf) may withdraw that consent."""
    return need is not None and bool(need.consent_to_share) and is_need_owner(user, need)


def owns_consent(user, consent) -> bool:
    """The enterprise whose need it is (whatever the consent's state)."""
    return consent is not None and is_need_owner(user, consent.need)


def owns_lead(user, lead) -> bool:
    """The enterprise whose need the lead offers (whatever the lead's state)."""
    return lead is not None and is_need_owner(user, lead.need)


def can_confirm_funding(user, lead) -> bool:
    return owns_lead(user, lead) and lead.status == "approved"


def can_rate_lead(user, lead) -> bool:
    return owns_lead(user, lead) and lead.status in RATEABLE_STATUSES and lead.rating is None


def can_view_pipeline(user) -> bool:
    return _authenticated(user) and user.role in ("bank_admin", "organizer")


def supervised_claims(user) -> Select:
    """Claims on the organizers' 督办 list: decisions overdue and still undecided, in the
    organizer's district (all for a city-level organizer)."""
    if not _authenticated(user) or user.role != "organizer":
        return select(Claim).where(false())
    query = (select(Claim).join(Claim.need).join(Need.enterprise)
             .where(Claim.escalated_at.is_not(None), Claim.status.in_(CLAIM_LIVE)))
    return query.where(Enterprise.district == user.district) if user.district else query


def supervised_leads(user) -> Select:
    """Leads on the organizers' 督办 list because nobody claimed them in time after the push
    (still open, still offered), in the organizer's district (all for the city level)."""
    if not _authenticated(user) or user.role != "organizer":
        return select(Lead).where(false())
    query = (select(Lead).join(Lead.need).join(Need.enterprise)
             .where(Lead.unclaimed_at.is_not(None), Lead.status == "open",
                    Need.status.in_(PUSHABLE_NEED_STATUSES), live_consent_clause()))
    return query.where(Enterprise.district == user.district) if user.district else query


def can_supervise_lead(user, lead) -> bool:
    return (_authenticated(user) and user.role == "organizer" and lead is not None
            and lead.unclaimed_overdue and lead.need.status in PUSHABLE_NEED_STATUSES
            and (user.district is None or lead.need.enterprise.district == user.district))


def can_supervise_claim(user, claim) -> bool:
    return (_authenticated(user) and user.role == "organizer" and claim.escalated_at is not None
            and claim.live and (user.district is None
                                or claim.need.enterprise.district == user.district))


# registered as Jinja globals by the blueprint (views.py)
PREDICATES = {
    "can_view_lead": can_view_lead,
    "can_claim_lead": can_claim_lead,
    "can_work_lead": can_work_lead,
    "can_release_lead": can_release_lead,
    "can_assign_lead": can_assign_lead,
    "can_push_need": can_push_need,
    "can_revoke_consent": can_revoke_consent,
    "can_withdraw_flag_consent": can_withdraw_flag_consent,
    "can_confirm_funding": can_confirm_funding,
    "can_rate_lead": can_rate_lead,
    "can_view_pipeline": can_view_pipeline,
    "can_supervise_claim": can_supervise_claim,
    "can_supervise_lead": can_supervise_lead,
}
