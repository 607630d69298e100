"""Consent (个人信息保护法: per recipient, per data item, revocable): the rows that say which
institution may see which need and which profile fields. Flush, never commit."""
import logging

from sqlalchemy import select

from .. import clock
from ..audit.service import record
from ..enterprises.models import Need
from ..extensions import db
from ..institutions.models import Institution
from . import scope as scopes
from .models import (
    Consent,
)

log = logging.getLogger(__name__)

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


def grant_consent(actor, need: Need, institution: Institution, scope, via: str, *,
                  basis: str | None = None, recorded_by_id: int | None = None) -> Consent:
    """The enterprise's consent for this institution with this scope. A live consent with the
    same scope, given the same way, is kept; otherwise it is closed (superseded) and a new row
    opened (a push over a flag's consent makes it the enterprise's own: the flag going off
    no longer takes it away). A
    consent the flag grants ("flag") copies the need's record of who set the flag on the
    enterprise's behalf and on what basis (None when the enterprise set it itself); another
    consent recorded on its behalf (a whitelist entry's) passes its `basis` and recorder."""
    codes = scopes.normalize(scope)
    current = live_consent(need.id, institution.id)
    if current is not None and list(current.scope) == codes and current.via == via:
        return current
    if current is not None:
        close_consent(actor, current, "superseded")
        db.session.flush()  # the partial unique index admits one live row at a time
    if via == "flag" and basis is None:
        basis, recorded_by_id = need.consent_basis, need.consent_recorded_by_id
    on_behalf = basis is not None
    consent = Consent(need_id=need.id, institution_id=institution.id, scope=codes, via=via,
                      granted_at=clock.now(), granted_by_id=actor.id if actor else None,
                      basis=basis, recorded_by_id=recorded_by_id if on_behalf else None)
    db.session.add(consent)
    db.session.flush()
    record(actor, "consent.granted", consent, need_id=need.id, institution_id=institution.id,
           scope=codes, via=via, **({"basis": consent.basis, "recorded_by_id":
                                     consent.recorded_by_id} if on_behalf else {}))
    return consent


def close_consent(actor, consent: Consent, reason: str) -> None:
    consent.revoked_at = clock.now()
    consent.revoked_by_id = actor.id if actor else None
    consent.revoke_reason = reason
    record(actor, "consent.revoked", consent, need_id=consent.need_id,
           institution_id=consent.institution_id, reason=reason)
