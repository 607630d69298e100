"""Export -> import on a platform that has lived (issue 17, finding 6): a 首贷 need funded
through the platform makes its enterprise a bank-loan holder; the export carries the need's
`funded_on`, and importing the export into an empty database accepts it and gives back the
same document."""
from datetime import date
from decimal import Decimal

import flask_migrate

from matchmaker import clock
from matchmaker.exchange.service import export_document, import_document
from matchmaker.leads import claims, outcomes
from tests.conftest import _TMP, make_test_app
from tests.factories import EnterpriseFactory, NeedFactory
from tests.test_leads_helpers import china, freeze, manager, owner, pushed_lead


def _live_the_loop(monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    firm = EnterpriseFactory(has_bank_loan=False)
    need = NeedFactory(enterprise=firm, loan_kind="first_loan", status="published")
    funded = pushed_lead(need=need)
    declined = pushed_lead(need=need)
    lender, other = manager(funded.institution), manager(declined.institution)
    for lead, who in ((funded, lender), (declined, other)):
        claims.claim_lead(who, lead)
        claims.add_followup(who, lead, "call")
    outcomes.decline_lead(other, declined, "insufficient_collateral")
    outcomes.approve_lead(lender, funded, product=funded.product, amount_wan=Decimal(200),
                          rate=Decimal("3.45"), term_months=12, guarantee_mode="credit",
                          approved_on=clock.china_today())
    outcomes.confirm_funding(owner(need), funded, 5)
    assert firm.has_bank_loan and need.status == "funded"
    return need


def test_a_funded_first_loan_round_trips(db, monkeypatch):
    need = _live_the_loop(monkeypatch)
    assert need.funded_on == date(2026, 11, 2)
    doc = export_document()
    [record] = [n for n in doc["needs"] if n["ref"] == need.ref]
    assert record["loan_kind"] == "first_loan" and record["funded_on"] == "2026-11-02"

    path = _TMP / "round-trip.sqlite3"
    path.unlink(missing_ok=True)
    empty = make_test_app(DATABASE_URL=f"sqlite:///{path}")
    with empty.app_context():
        flask_migrate.upgrade()
        import_document(doc)  # refused the funded 首贷 before funded_on
        from matchmaker.extensions import db as other

        other.session.commit()
        again = export_document()
        from matchmaker.enterprises.models import Need

        copy = other.session.query(Need).filter_by(ref=need.ref).one()
        assert copy.status == "funded" and copy.funded_on == date(2026, 11, 2)
        other.session.remove()
    for section in ("institutions", "products", "enterprises", "needs"):
        assert again[section] == doc[section], section
