"""Shared builders for the whitelist tests (this module holds no tests).

Batches, entries and pushes are built through whitelists.service, so audit rows, leads,
consents and notifications are the real ones; the clock is the leads clock (`freeze`).
"""
from datetime import date
from decimal import Decimal

from matchmaker.whitelists import pushing, service
from tests.factories import (
    EnterpriseFactory,
    InstitutionFactory,
    MatchFactory,
    NeedFactory,
    ProductFactory,
    UserFactory,
    user_for_role,
)
from tests.test_leads_helpers import china, freeze  # noqa: F401 (re-exported for the tests)

DISTRICT = "永川区"
OTHER_DISTRICT = "江津区"


def city():
    return UserFactory(role="organizer", district=None, organization="重庆市经济和信息化委员会")


def district(name: str = DISTRICT):
    return UserFactory(role="organizer", district=name, organization=f"{name}经济和信息化委员会")


def bank(name: str | None = None):
    """An institution with one published product, its admin and one manager."""
    institution = InstitutionFactory(**({"name": name} if name else {}))
    product = ProductFactory(institution=institution)
    admin = user_for_role("bank_admin", institution=institution)
    manager = user_for_role("bank_manager", institution=institution)
    return institution, product, admin, manager


def need_in(district_name: str = DISTRICT, *, amount="300", cluster="intelligent_equipment",
            **fields):
    enterprise = EnterpriseFactory(district=district_name, cluster=cluster)
    return NeedFactory(enterprise=enterprise, amount_wan=Decimal(amount), **fields)


def match(need, product, score="80.0"):
    return MatchFactory(need=need, product=product, score=Decimal(score))


def batch(actor, **values):
    defaults = {"title": "2026年第4批 制造业融资需求白名单", "kind": "needs",
                "issuing_body": "重庆市经济和信息化委员会", "issued_on": date(2026, 11, 2),
                "answer_deadline": date(2026, 11, 20)}
    defaults.update(values)
    return service.create_whitelist(actor, **defaults)


def entry(actor, whitelist, need, *, consent=True, **values):
    values.setdefault("recommender", "永川区经济和信息化委员会")
    if consent:
        values.setdefault("consent_basis", "白名单申报表（企业盖章）")
    return service.add_entry(actor, whitelist, need, consent=consent, **values)


def pushed_batch(n_banks=2, n_entries=2, per_entry=3, owner=None):
    """A city batch pushed to banks: every need matches every bank (best: the first)."""
    owner = owner or city()
    banks = [bank() for _ in range(n_banks)]
    whitelist = batch(owner, per_entry=per_entry, share=Decimal(1))
    entries = []
    for _ in range(n_entries):
        need = need_in()
        for k, (_inst, product, _a, _m) in enumerate(banks):
            match(need, product, score=str(90 - k))
        entries.append(entry(owner, whitelist, need))
    pushing.propose(owner, whitelist)
    pushing.push_whitelist(owner, whitelist)
    return whitelist, entries, banks, owner
