"""Matching reacts: stored matches follow the needs, the products and the policy they read.

A need's own change is recomputed at once (one need: about a millisecond). A product or a
policy change marks the needs it affects stale in the same transaction and leaves the
recompute to a background job (service.recompute_later), so the request stays fast whatever
the number of needs on the platform."""
from .. import signals
from . import service


@signals.need_published.connect
@signals.need_changed.connect
def _need_moved(need, **_):
    if service.deferred():
        return
    service.refresh_need(need)
    service.recount_reach_later()


@signals.need_ended.connect
def _need_ended(need, **_):
    if not service.deferred():
        service.recount_reach_later()


@signals.enterprise_changed.connect
def _enterprise_moved(enterprise, **_):
    service.refresh_open_needs_of(enterprise)


@signals.product_published.connect
@signals.product_changed.connect
@signals.product_paused.connect
def _product_moved(product, actor=None, **_):
    if not service.deferred():  # started by the actor: the page after the change shows it
        service.recompute_later(product_ids=[product.id], actor=actor)


@signals.policy_changed.connect
def _policy_moved(row, *, kind, key, actor=None, day=None, in_force=True, product_id=None,
                  product_ids=None, **_):
    """An LPR quote moves what its rate in force moves (service.recompute_after_lpr). A
    subsidy programme moves only the needs that qualify for it
    (service.recompute_programme_later), the guarantee fee rate only the pairings whose loan
    may carry the fee (service.recompute_fee_later)."""
    if kind == "lpr":
        service.recompute_after_lpr(row, day, actor=actor)
        return
    if not in_force:
        return
    if kind == "confirmation":      # an organizer confirmed (or withdrew) products' programme
        ids = list(product_ids) if product_ids is not None else [product_id]
        if len(ids) > service.BULK_PRODUCTS:
            service.recompute_later(everything=True, actor=actor)
        else:
            service.recompute_later(product_ids=ids, actor=actor)
        return
    if kind == "programme":
        service.recompute_programme_later(row, actor=actor)
        return
    if kind == "setting" and key == service.FEE_SETTING:
        service.recompute_fee_later(actor=actor)
        return
