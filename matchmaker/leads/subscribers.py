"""Leads react: consents and leads follow the matches; an ended need closes its leads; the
matcher hears each institution's on-time record."""
from datetime import date

from .. import signals
from ..enterprises.models import Need
from ..institutions.models import Product
from . import claims, push, service


@signals.matches_refreshed.connect
def _matches_moved(sender, *, need_ids=(), **_):
    """consent_to_share (exchange format) = consent to every institution whose product
    matches: the flagged needs gain the institutions they now match."""
    if isinstance(sender, Need):
        push.sync_consent_from_flag(sender)
    elif isinstance(sender, Product):
        push.sync_flag_consents_for_product(sender, need_ids)
    elif sender == signals.NEEDS:
        push.sync_flag_consents_for_needs(need_ids)
    elif sender == signals.ALL:  # its parts sent NEEDS for every need, batch by batch
        push.revoke_unflagged_consents()


@signals.snapshots_ahead.connect
def _flagged_without_leads(need_ids, **_) -> set[int]:
    return push.flagged_without_leads(need_ids)


@signals.need_ended.connect
def _need_ended(need, **_):
    """The banks stop working on it at once (the sweep would close the leads at its next run),
    and the consents end with it."""
    service.close_leads_of_ended_need(need)
    push.end_consents_of_ended_need(need)


@signals.match_inputs.connect
def _on_time_record(day: date, **_) -> dict:
    return {"lead_response": service.lead_response_record(day)}


@signals.user_deactivated.connect
def _manager_left(user, *, actor=None, **_):
    """A bank manager who left hands the leads they held back to the institution."""
    if user.role == "bank_manager":
        claims.hand_back_claims(user, by=actor)
