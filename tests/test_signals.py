"""The flow between domains, written down: every signal, and who listens to it.

A new subscriber (or a lost one) fails the first test until this table says so, so the
reactions between domains stay visible in one place (README.md "Layout" repeats it).
"""
import weakref
from decimal import Decimal

from matchmaker import signals
from matchmaker.enterprises import service as needs
from matchmaker.leads.models import Consent, Lead
from matchmaker.matching.models import Match
from tests.factories import InstitutionFactory, NeedFactory, ProductFactory, user_for_role

EXPECTED = {
    "need_published": ["matchmaker.matching.subscribers._need_moved"],
    "need_changed": ["matchmaker.matching.subscribers._need_moved"],
    "need_ended": ["matchmaker.leads.subscribers._need_ended",
                   "matchmaker.matching.subscribers._need_ended"],
    "enterprise_changed": ["matchmaker.matching.subscribers._enterprise_moved"],
    "product_published": ["matchmaker.matching.subscribers._product_moved"],
    "product_changed": ["matchmaker.matching.subscribers._product_moved"],
    "product_paused": ["matchmaker.matching.subscribers._product_moved"],
    "policy_changed": ["matchmaker.institutions.subscribers._lpr_quoted",
                       "matchmaker.matching.subscribers._policy_moved"],
    "matches_refreshed": ["matchmaker.leads.subscribers._matches_moved"],
    "snapshots_ahead": ["matchmaker.leads.subscribers._flagged_without_leads"],
    "match_inputs": ["matchmaker.leads.subscribers._on_time_record"],
    "lead_decided": ["matchmaker.monitoring.subscribers._lead_decided"],
    "user_deactivated": ["matchmaker.leads.subscribers._manager_left"],
    "user_erased": ["matchmaker.enterprises.subscribers._account_erased"],
}


def _subscribers(signal) -> list[str]:
    names = []
    for ref in signal.receivers.values():
        receiver = ref() if isinstance(ref, weakref.ref) else ref
        names.append(f"{receiver.__module__}.{receiver.__qualname__}")
    return sorted(names)


def test_every_subscriber_of_every_signal(app):
    assert {name: _subscribers(signal) for name, signal in signals.SIGNALS.items()} == EXPECTED


def test_a_published_need_is_matched_and_its_flag_consents_follow(db):
    bank = InstitutionFactory()
    ProductFactory(institution=bank, purposes=["working_capital"])
    need = NeedFactory(status="draft", consent_to_share=True, purpose="working_capital",
                       amount_wan=Decimal(300), term_months=12)
    needs.change_status(user_for_role("enterprise", enterprise=need.enterprise), need,
                        "published")
    assert db.session.query(Match).filter_by(need_id=need.id).count() == 1
    assert db.session.query(Consent).filter_by(need_id=need.id, institution_id=bank.id,
                                               via="flag").count() == 1
    assert db.session.query(Lead).filter_by(need_id=need.id).count() == 1


def test_an_ended_need_closes_its_leads(db):
    bank = InstitutionFactory()
    ProductFactory(institution=bank, purposes=["working_capital"])
    need = NeedFactory(status="draft", consent_to_share=True, purpose="working_capital",
                       amount_wan=Decimal(300), term_months=12)
    owner = user_for_role("enterprise", enterprise=need.enterprise)
    needs.change_status(owner, need, "published")
    needs.change_status(owner, need, "withdrawn", "已从其他渠道解决")
    assert [lead.status for lead in db.session.query(Lead).filter_by(need_id=need.id)] == \
        ["closed"]
