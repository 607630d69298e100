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


def grant_consent(actor, need: Need, institution: Institution, scope, via: str) -> Consent:
    """The enterprise's consent for this institution with this scope. A live consent with the
    same scope is kept; a different scope closes it (superseded) and opens a new row."""
    codes = scopes.normalize(scope)
    current = live_consent(need.id, institution.id)
    if current is not None and list(current.scope) == codes:
        return current
    if current is not None:
        close_consent(actor, current, "superseded")
        db.session.flush()  # the partial unique index admits one live row at a time
    consent = Consent(need_id=need.id, institution_id=institution.id, scope=codes, via=via,
                      granted_at=clock.now(), granted_by_id=actor.id if actor else None)
    db.session.add(consent)
    db.session.flush()
    record(actor, "consent.granted", consent, need_id=need.id, institution_id=institution.id,
           scope=codes, via=via)
    return consent


def close_consent(actor, consent: Consent, reason: str) -> None:
    consent.revoked_at = clock.now()
    consent.revoked_by_id = actor.id if actor else None
    consent.revoke_reason = reason
    record(actor, "consent.revoked", consent, need_id=consent.need_id,
           institution_id=consent.institution_id, reason=reason)
