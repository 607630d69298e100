"""Institutions' background job: LPR-priced products at the quote in force (daily)."""
from .. import clock
from ..jobs import job
from . import service


@job("institutions.reprice_lpr", "按当日LPR重新定价产品")
def reprice(ctx) -> dict:
    return {"repriced": service.reprice_lpr_products(None, clock.china_today())}
