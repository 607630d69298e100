"""The claim race, for real: threads post /leads/<id>/claim at the same moment, each request in
its own app context, session and connection, against whichever database the suite uses
(the default SQLite file, or PostgreSQL with MATCHMAKER_TEST_DATABASE_URL).

K+2 institutions on one need: exactly K win, the others read "该需求已有K家机构接单".
Two managers of one institution on one lead: exactly one wins, the other reads
"本机构已有客户经理认领该线索".

The rolled-back `db` fixture cannot be shared across threads, so the rows are committed and
deleted again at the end. audit_entries is append-only (triggers refuse DELETE), so audit
writes are switched off here; the claim's audit row is asserted in test_claims.py.
"""
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select

from matchmaker.accounts.models import User
from matchmaker.enterprises import service as enterprises_service
from matchmaker.enterprises.models import Enterprise, Need, NeedGuaranteeMode
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product, ProductTerm
from matchmaker.leads import claims, consent, push
from matchmaker.leads import service as leads_service
from matchmaker.leads.models import Claim, Consent, Lead, LeadFollowUp
from matchmaker.matching.models import Match
from matchmaker.notifications import service as notifications_service
from matchmaker.notifications.models import Notification
from matchmaker.policy.service import setting
from tests.factories import EnterpriseFactory, InstitutionFactory, NeedFactory, user_for_role
from tests.test_leads_helpers import matched, owner


@dataclass
class Race:
    need: Need
    leads: list
    managers: list


def _no_audit(*_args, **_kwargs):
    return None


@pytest.fixture
def committed(app, monkeypatch):
    """Rows committed for real (threads must see them), removed after the test."""
    for module in (leads_service, consent, claims):
        monkeypatch.setattr(module, "record", _no_audit)
    monkeypatch.setattr(enterprises_service, "record", _no_audit)
    monkeypatch.setattr(notifications_service, "record", _no_audit)
    made = {"enterprises": [], "institutions": [], "needs": [], "users": []}
    with app.app_context():
        yield made
        db.session.rollback()
        _cleanup(made)


def _cleanup(made) -> None:
    needs, users = made["needs"], made["users"]
    institutions, enterprises = made["institutions"], made["enterprises"]
    products = select(Product.id).where(Product.institution_id.in_(institutions))
    users += list(db.session.scalars(select(User.id).where(
        User.enterprise_id.in_(enterprises) | User.institution_id.in_(institutions))))
    for statement in (
        delete(Notification).where(Notification.user_id.in_(users)),
        delete(LeadFollowUp).where(LeadFollowUp.lead_id.in_(
            select(Lead.id).where(Lead.need_id.in_(needs)))),
        delete(Claim).where(Claim.need_id.in_(needs)),
        delete(Lead).where(Lead.need_id.in_(needs)),
        delete(Consent).where(Consent.need_id.in_(needs)),
        delete(Match).where(Match.need_id.in_(needs)),
        delete(ProductTerm).where(ProductTerm.product_id.in_(products)),
        delete(Product).where(Product.institution_id.in_(institutions)),
        delete(NeedGuaranteeMode).where(NeedGuaranteeMode.need_id.in_(needs)),
        delete(Need).where(Need.id.in_(needs)),
        delete(User).where(User.id.in_(users)),
        delete(Enterprise).where(Enterprise.id.in_(enterprises)),
        delete(Institution).where(Institution.id.in_(institutions)),
    ):
        db.session.execute(statement)
    db.session.commit()


def _race_many_institutions(made, count: int) -> Race:
    need = NeedFactory(enterprise=EnterpriseFactory())
    leads, managers = [], []
    for _ in range(count):
        _need, institution, _product = matched(need)
        made["institutions"].append(institution.id)
        managers.append(user_for_role("bank_manager", institution=institution))
    leads = push.push_need(owner(need), need, made["institutions"], [])
    made["needs"].append(need.id)
    made["enterprises"].append(need.enterprise_id)
    db.session.commit()
    by_institution = {lead.institution_id: lead for lead in leads}
    return Race(need, [by_institution[m.institution_id] for m in managers], managers)


def _race_one_institution(made) -> Race:
    need = NeedFactory(enterprise=EnterpriseFactory())
    institution = InstitutionFactory()
    matched(need, institution)
    made["institutions"].append(institution.id)
    managers = [user_for_role("bank_manager", institution=institution) for _ in range(2)]
    lead = push.push_need(owner(need), need, [institution.id], [])[0]
    made["needs"].append(need.id)
    made["enterprises"].append(need.enterprise_id)
    db.session.commit()
    return Race(need, [lead, lead], managers)


def _run(app, race: Race) -> list[str]:
    """All managers post their claim at once; returns the page each one lands on."""
    clients = [app.test_client(user=m) for m in race.managers]
    lead_ids = [lead.id for lead in race.leads]
    # end this thread's read transaction: on SQLite an open reader would hold its SHARED
    # lock and keep every winner from committing
    db.session.rollback()
    barrier = threading.Barrier(len(clients))
    pages: list[str | None] = [None] * len(clients)
    errors: list[BaseException] = []

    def attempt(n: int) -> None:
        try:
            barrier.wait(timeout=20)
            response = clients[n].post(f"/leads/{lead_ids[n]}/claim")
            assert response.status_code == 302, response.status_code
            pages[n] = clients[n].get(response.headers["Location"]).get_data(as_text=True)
        except BaseException as err:  # noqa: BLE001 (surfaced in the main thread below)
            errors.append(err)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return pages


def _live_claims(need_id: int) -> int:
    db.session.rollback()  # a fresh snapshot after the threads committed
    return db.session.scalar(select(func.count(Claim.id)).where(
        Claim.need_id == need_id, Claim.status.in_(("claimed", "contacted"))))


def test_exactly_k_of_k_plus_two_institutions_win(app, committed):
    k = int(setting("claim_limit_per_need", 3))
    race = _race_many_institutions(committed, k + 2)
    pages = _run(app, race)
    won = [p for p in pages if "接单成功" in p]
    lost = [p for p in pages if f"该需求已有{k}家机构接单，暂不能认领" in p]
    assert (len(won), len(lost)) == (k, 2)
    assert _live_claims(race.need.id) == k
    assert db.session.get(Need, race.need.id).status == "in_progress"


def test_exactly_one_of_two_managers_of_one_institution_wins(app, committed):
    race = _race_one_institution(committed)
    pages = _run(app, race)
    assert sum("接单成功" in p for p in pages) == 1
    assert sum("本机构已有客户经理认领该线索" in p for p in pages) == 1
    assert _live_claims(race.need.id) == 1
