"""Institutions react: LPR-priced products follow the quote in force."""
from .. import signals
from . import service


@signals.policy_changed.connect
def _lpr_quoted(row, *, kind, actor=None, day, **_) -> int:
    """A quote already in force on `day` reprices the LPR-based products (a future one waits
    for the daily `matchmaker reprice-lpr-products`); returns how many moved."""
    if kind != "lpr" or row.effective_from > day:
        return 0
    return service.reprice_lpr_products(actor, day)
