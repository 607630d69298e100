"""Matching reacts: stored matches follow the needs, the products and the policy they read."""
from .. import signals
from . import service


@signals.need_published.connect
@signals.need_changed.connect
def _need_moved(need, **_):
    service.refresh_need(need)


@signals.enterprise_changed.connect
def _enterprise_moved(enterprise, **_):
    service.refresh_open_needs_of(enterprise)


@signals.product_published.connect
@signals.product_changed.connect
@signals.product_paused.connect
def _product_moved(product, **_):
    service.refresh_product(product)


@signals.policy_changed.connect
def _policy_moved(row, *, kind, key, **_):
    """A subsidy programme or a cost setting changes every cost after subsidies; an LPR quote
    reaches the matches through the products it reprices (institutions' subscriber)."""
    if kind == "programme" or (kind == "setting" and key in service.COST_SETTINGS):
        for _ in service.refresh_all():
            pass
