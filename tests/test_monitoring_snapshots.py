"""The precomputed monitoring figures (monitoring/snapshots.py) are the direct computation's,
stored: equal figure for figure on the hand-made dataset of test_monitoring_indicators.py,
recomputed when a lead of their district is decided, kept warm by the refresh job (issue 16)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from matchmaker import clock
from matchmaker.extensions import db
from matchmaker.jobs import service as jobs
from matchmaker.jobs.models import Job
from matchmaker.leads import outcomes
from matchmaker.monitoring import snapshots
from matchmaker.monitoring.indicators import Period, Slice, indicators
from matchmaker.monitoring.models import Snapshot
from tests import test_monitoring_indicators as dataset
from tests.factories import LeadFactory, NeedFactory
from tests.test_leads_helpers import claimed_lead, owner

at = dataset.at
world = dataset.world
YEAR = Period("year", 2026)
YC = Slice(district="永川区")


@pytest.fixture
def busy_world(world):
    """The dataset with claims, a decline without a reason, an event and a whitelist push,
    so that every part of the figures has something in it."""
    leads, yc = world["leads"], world["yc"]
    dataset._claim(leads[1], at(date(2026, 3, 1), 0), at(date(2026, 3, 1)), at(date(2026, 3, 2)),
                   at(date(2026, 3, 5)), date(2026, 3, 3), date(2026, 3, 10))
    LeadFactory(need=NeedFactory(enterprise=yc[5]), institution=world["bank_b"],
                status="declined", outcome="declined", decline_reason=None,
                decided_at=at(date(2026, 6, 1)), created_at=at(date(2026, 5, 25)))
    event, slot, table = dataset._event(date(2026, 3, 20))
    dataset._held(event, slot, table, yc[8], world["bank_a"], 0, leads[8])
    yc[1].declared_size = "micro"
    db.session.flush()
    return world


VIEWS = [(YEAR, Slice()), (YEAR, YC), (Period("quarter", 2026, 2), YC),
         (Period("month", 2026, 7), YC), (YEAR, Slice(district="永川区", size="micro")),
         (YEAR, Slice(loan_kind="first_loan")),
         (Period("quarter", 2026, 1), Slice(cluster="electronic_information"))]


@pytest.mark.parametrize("period, where", VIEWS)
def test_stored_figures_equal_the_direct_computation(busy_world, period, where):
    world = busy_world
    for view in ((period, where), (YEAR, Slice(institution_id=world["bank_a"].id)),
                 (YEAR, Slice(institution_kind="leasing"))):
        row = snapshots.compute(*view)
        db.session.expire(row)  # read back what the database holds
        stored = snapshots.decode(db.session.get(Snapshot, snapshots.key_of(*view)).figures)
        assert stored == indicators(*view)
    direct = indicators(period, where)
    assert snapshots.read(period, where, max_age=900).figures == direct
    assert snapshots.parse_key(snapshots.key_of(period, where)) == (period, where)


def test_the_encoding_keeps_what_json_would_lose(busy_world):
    got = indicators(YEAR, YC)
    assert got.service.declines == {None: 1}  # a decline without a reason
    assert isinstance(got.months[0], tuple) and isinstance(got.funded.amount, Decimal)
    back = snapshots.decode(snapshots.encode(got))
    assert back == got and back.service.declines == {None: 1}
    assert [key for key, _ in back.slices["institution"]] == [
        key for key, _ in got.slices["institution"]]  # ints, in the same order
    assert back.borrowers_growth == got.borrowers_growth  # the properties work on it


def _later(monkeypatch, minutes):
    moment = at(date(2026, 12, 4)) + timedelta(minutes=minutes)
    monkeypatch.setattr(clock, "now", lambda: moment)
    return moment


def test_a_decided_lead_refreshes_its_district_and_the_city(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "MONITORING_MAX_AGE_SECONDS", 900)
    city, yc, yubei = (snapshots.compute(YEAR, where)
                       for where in (Slice(), YC, Slice(district="渝北区")))
    assert snapshots.decode(city.figures).funded.count == 5
    _later(monkeypatch, 5)
    need = NeedFactory(enterprise=world["yc"][3])
    lead, manager = claimed_lead(need=need)
    outcomes.approve_lead(manager, lead, product=lead.institution.products[0],
                          amount_wan=Decimal(250), rate=Decimal("3.2"), term_months=36,
                          guarantee_mode="credit", approved_on=date(2026, 12, 4))
    funded_at = _later(monkeypatch, 10)
    outcomes.confirm_funding(owner(need), lead, 5)
    # the job ran (inline in tests) on each decision: the district and the city recomputed
    assert db.session.scalars(select(Job.kind).where(Job.kind == "monitoring.refresh")).all()
    assert (city.computed_at, yc.computed_at) == (funded_at, funded_at)
    assert snapshots.decode(city.figures).funded.count == 6
    assert snapshots.decode(yc.figures).funded.amount == 1050  # 800 + 250
    assert snapshots.decode(yc.figures) == indicators(YEAR, YC)
    assert yubei.computed_at == at(date(2026, 12, 4))  # 渝北区's leads did not change


def test_no_stored_figures_no_refresh_job(world):
    lead, manager = claimed_lead(need=NeedFactory(enterprise=world["yc"][3]))
    outcomes.decline_lead(manager, lead, "weak_financials", no_contact_reason="无法接通")
    assert not db.session.scalars(select(Job).where(Job.kind == "monitoring.refresh")).all()


def test_the_refresh_job_warms_the_standard_views_and_drops_unviewed_ones(
        world, app, monkeypatch):
    monkeypatch.setitem(app.config, "MONITORING_MAX_AGE_SECONDS", 900)
    old = snapshots.compute(Period("month", 2026, 2), YC)
    old.viewed_at = at(date(2026, 12, 1))  # nobody looked for three days
    db.session.flush()
    job = jobs.enqueue("monitoring.refresh", {})  # what cron runs (warm)
    assert job.status == "done", job.error
    rows = db.session.scalars(select(Snapshot).order_by(Snapshot.key)).all()
    expected = {snapshots.key_of(p, w) for p, w in snapshots.standard_views()}
    assert {row.key for row in rows} == expected
    assert len(expected) == 9  # the city, 永川区 and 渝北区 × 2026, its Q4 and December
    assert all(row.standard for row in rows)
    for row in rows:
        assert snapshots.decode(row.figures) == indicators(*snapshots.parse_key(row.key))
    again = jobs.enqueue("monitoring.refresh", {})  # nothing changed, nothing aged
    assert again.result == {"computed": 0, "kept": 9}
    _later(monkeypatch, 16)  # older than MONITORING_MAX_AGE_SECONDS: computed again
    assert jobs.enqueue("monitoring.refresh", {}).result == {"computed": 9, "kept": 0}


def test_an_old_snapshot_is_computed_at_once_a_recent_one_is_served(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "MONITORING_MAX_AGE_SECONDS", 900)
    row = snapshots.compute(YEAR, YC)
    row.figures = snapshots.encode(indicators(Period("year", 2025), YC))  # to tell them apart
    db.session.flush()
    _later(monkeypatch, 10)
    view = snapshots.read(YEAR, YC, max_age=900)
    assert view.figures.funded.count == 3 and not view.updating  # stored, 10 minutes old
    now = _later(monkeypatch, 61)  # past 4 × 15 minutes: the page computes it itself
    view = snapshots.read(YEAR, YC, max_age=900)
    assert view.figures.funded.count == 4 and view.computed_at == now
