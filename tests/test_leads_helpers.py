"""Shared builders for the leads tests (this module holds no tests).

Leads are built through the services (push_need, claim_lead), so consents, snapshots, audit
rows and notifications are the real ones; the platform clock is frozen with `freeze`.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from matchmaker import clock
from matchmaker.leads import claims, push
from tests.factories import (
    InstitutionFactory,
    MatchFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
)

CHINA = ZoneInfo("Asia/Shanghai")


def china(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA)


def freeze(monkeypatch, moment: datetime) -> None:
    """Stop the platform clock at `moment` (aware)."""
    monkeypatch.setattr(clock, "now", lambda: moment)


def matched(need=None, institution=None, **product_fields):
    """A need with a stored match on a product of the institution."""
    need = need or NeedFactory()
    institution = institution or InstitutionFactory()
    product = ProductFactory(institution=institution, **product_fields)
    MatchFactory(need=need, product=product)
    return need, institution, product


def owner(need):
    return user_for_role("enterprise", enterprise=need.enterprise)


def manager(institution, **fields):
    return user_for_role("bank_manager", institution=institution, **fields)


def pushed_lead(need=None, institution=None, scope=("uscc", "revenue"), **product_fields):
    need, institution, _product = matched(need, institution, **product_fields)
    return push.push_need(owner(need), need, [institution.id], list(scope))[0]


def claimed_lead(by=None, **kwargs):
    lead = pushed_lead(**kwargs)
    by = by or manager(lead.institution)
    claims.claim_lead(by, lead)
    return lead, by
