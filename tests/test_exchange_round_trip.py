"""Export -> import on a platform that has lived (issue 17, finding 6): a 首贷 need funded
through the platform makes its enterprise a bank-loan holder; the export carries the need's
`funded_on`, and importing the export into an empty database accepts it and gives back the
same document.

The platform below also held a 银企对接会 (registrations, a meeting with a signed intention
that became a funded 首贷, a follow-up that ended in a decline). matchmaker-exchange/1 has no
events: its four sections are institutions, products, enterprises and needs, and the spec's
fields say nothing of registrations, meetings or intentions (nor of leads, consents or
declines). So the events do not travel, and the test says so; what the event changed inside
the format (the need funded with its day, the firm now a bank-loan holder, the products the
banks brought) survives the round trip."""
from datetime import date
from decimal import Decimal

import flask_migrate
from sqlalchemy import func, select

from matchmaker import clock
from matchmaker.enterprises.models import Need
from matchmaker.exchange.service import export_document, import_document
from matchmaker.leads import claims, outcomes
from tests.conftest import _TMP, make_test_app, session_on
from tests.factories import EnterpriseFactory, MatchFactory, NeedFactory
from tests.test_leads_helpers import china, freeze, manager, owner, pushed_lead

SECTIONS = ("institutions", "products", "enterprises", "needs")


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


def _into_an_empty_platform(doc: dict, name: str, check=None) -> dict:
    """Import `doc` into a new, migrated SQLite database; run `check()` there; its export."""
    from matchmaker.extensions import db as _db

    path = _TMP / f"{name}.sqlite3"
    path.unlink(missing_ok=True)
    empty = make_test_app(DATABASE_URL=f"sqlite:///{path}")
    with empty.app_context():
        flask_migrate.upgrade()
        # the test's db fixture points db.session at its own connection, whatever the app:
        # point it at the empty database's for the block
        connection = _db.engine.connect()
        try:
            with session_on(connection) as other:
                assert other.session.scalar(select(func.count(Need.id))) == 0  # empty
                import_document(doc, "往返测试：原平台登记的授权")
                other.session.commit()
                if check is not None:
                    check(other.session)
                return export_document()
        finally:
            connection.close()


def test_a_funded_first_loan_round_trips(db, monkeypatch):
    need = _live_the_loop(monkeypatch)
    assert need.funded_on == date(2026, 11, 2)
    doc = export_document()
    [record] = [n for n in doc["needs"] if n["ref"] == need.ref]
    assert record["loan_kind"] == "first_loan" and record["funded_on"] == "2026-11-02"

    def funded_there(session):
        copy = session.query(Need).filter_by(ref=need.ref).one()
        assert copy.status == "funded" and copy.funded_on == date(2026, 11, 2)

    # refused the funded 首贷 before funded_on
    again = _into_an_empty_platform(doc, "round-trip", funded_there)
    for section in SECTIONS:
        assert again[section] == doc[section], section


# --- a platform that held a 银企对接会 ---------------------------------------------------------

def _hold_an_event(monkeypatch):
    """A 对接会 on 16 Dec 2026: firm A (no bank loan yet) signs an intention with bank X, which
    becomes a funded 首贷 in January; firm B agrees a follow-up with bank Y, which declines."""
    from sqlalchemy import select

    from matchmaker.events import meetings
    from matchmaker.events.models import Meeting
    from tests.test_events_helpers import (
        BEFORE,
        ON_THE_DAY,
        accepted,
        enterprise_side,
        institution_side,
        make_event,
        organizer,
    )
    from tests.test_events_helpers import freeze as freeze_at

    freeze_at(monkeypatch, BEFORE)
    event = make_event()
    first = NeedFactory(enterprise=EnterpriseFactory(has_bank_loan=False),
                        loan_kind="first_loan", status="published", consent_to_share=False)
    pairs = []
    for need in (first, NeedFactory(status="published", consent_to_share=False)):
        ent, ent_user = enterprise_side(event, need=need)
        inst, inst_user, staff, product = institution_side(event)
        MatchFactory(need=need, product=product)
        accepted(ent, ent_user, inst, inst_user)
        pairs.append((ent, inst, staff[0]))
    meetings.schedule_event(organizer(), event)
    freeze_at(monkeypatch, ON_THE_DAY)
    results = []
    for (ent, inst, banker), outcome in zip(pairs, ("intention", "follow_up")):
        meeting = db_scalar(select(Meeting).where(
            Meeting.enterprise_registration_id == ent.id))
        results.append(meetings.record_result(banker, meeting, "institution", outcome,
                                              Decimal(300) if outcome == "intention" else None))
    return event, first, pairs, results


def db_scalar(query):
    from matchmaker.extensions import db as _db
    return _db.session.scalar(query)


def test_a_platform_that_held_an_event_round_trips_what_the_format_carries(db, monkeypatch):
    from matchmaker.events.models import Event, Meeting, MeetingResult, Registration
    from matchmaker.exchange.schema import FIELDS
    from matchmaker.leads.models import Lead
    from tests.test_events_helpers import CHINA

    _event, first, pairs, results = _hold_an_event(monkeypatch)
    won, lost = (db.session.get(Lead, r.lead_id) for r in results)
    assert won.source == lost.source == "event"
    (ent_a, _inst_x, banker_x), (_ent_b, _inst_y, banker_y) = pairs
    for lead, banker in ((won, banker_x), (lost, banker_y)):
        if lead.live_claim is None:
            claims.claim_lead(banker, lead)
        claims.add_followup(banker, lead, "visit")
    outcomes.decline_lead(banker_y, lost, "insufficient_collateral")
    from datetime import datetime
    freeze(monkeypatch, datetime(2027, 1, 8, 10, tzinfo=CHINA))
    outcomes.approve_lead(banker_x, won, product=won.product, amount_wan=Decimal(300),
                          rate=Decimal("3.55"), term_months=12, guarantee_mode="credit",
                          approved_on=clock.china_today())
    outcomes.confirm_funding(owner(first), won, 5)
    assert first.status == "funded" and first.enterprise.has_bank_loan
    assert first.funded_on == date(2027, 1, 8)

    doc = export_document()
    # the format has no events: only its four sections, only the spec's fields
    assert list(doc) == ["format", *SECTIONS]
    for section in SECTIONS:
        for record in doc[section]:
            assert set(record) <= set(FIELDS[section]), (section, record["ref"])
    # what the event changed, inside the format
    [need_a] = [n for n in doc["needs"] if n["ref"] == first.ref]
    assert need_a["loan_kind"] == "first_loan" and need_a["funded_on"] == "2027-01-08"
    [firm_a] = [e for e in doc["enterprises"] if e["ref"] == ent_a.enterprise.ref]
    assert firm_a["has_bank_loan"] is True
    from matchmaker.institutions.models import Product
    brought = {db.session.get(Product, pid).ref for reg in (pairs[0][1], pairs[1][1])
               for pid in reg.product_ids}
    assert len(brought) == 2
    assert brought <= {p["ref"] for p in doc["products"]}
    [need_b] = [n for n in doc["needs"] if n["ref"] == pairs[1][0].need.ref]
    assert "funded_on" not in need_b  # declined: still on the market

    def there(session):
        from matchmaker.enterprises.models import Enterprise

        copy = session.scalar(select(Need).where(Need.ref == first.ref))
        assert (copy.status, copy.loan_kind, copy.funded_on) == (
            "funded", "first_loan", date(2027, 1, 8))
        assert session.scalar(select(Enterprise.has_bank_loan).where(
            Enterprise.ref == ent_a.enterprise.ref))
        other = session.scalar(select(Need).where(Need.ref == pairs[1][0].need.ref))
        assert other.status == "published" and other.funded_on is None
        # and what is not in the format did not travel
        for model in (Event, Registration, Meeting, MeetingResult, Lead):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model

    again = _into_an_empty_platform(doc, "round-trip-event", there)
    for section in SECTIONS:
        assert again[section] == doc[section], section
