"""Every monitored figure computed from a small hand-made dataset, with the answer written here
(issue 16). The dataset, funded dates in China time:

永川区 2026: L1 E1 首贷 100万 4.0% 36月 信用 03-10 (bank A) · L2 E2 续贷 300万 3.5% 12月 抵押 05-20
(bank A) · L3 E3 新增 200万 5.0% 24月 保证 11-02 (leasing) · L8 E8 首贷 200万 3.8% 60月 信用
07-15 (bank A). 永川区 2025: L5 E5 新增 200万 4.5% 12月 信用 · L6 E2 续贷 100万 4.0% 36月 抵押
· L7 E7 首贷 100万 4.0% 12月 保证. 渝北区 2026: L4 E4 首贷 400万 3.0% 6月 信用 (bank B).
"""
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from matchmaker import clock
from matchmaker.events.models import (
    Event,
    EventSlot,
    EventTable,
    Meeting,
    MeetingRequest,
    MeetingResult,
    Registration,
)
from matchmaker.extensions import db
from matchmaker.monitoring.indicators import Period, Slice, drill, indicators
from matchmaker.monitoring.models import Activity
from matchmaker.whitelists.models import Push, Whitelist, WhitelistEntry
from tests.factories import (
    EnterpriseFactory,
    InstitutionFactory,
    LeadFactory,
    NeedFactory,
    user_for_role,
)

CHINA = ZoneInfo("Asia/Shanghai")
YEAR = Period("year", 2026)
YC = Slice(district="永川区")


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), CHINA)


def funded(enterprise, institution, kind, amount, rate, term, mode, day, opened=None):
    need = NeedFactory(enterprise=enterprise, loan_kind=kind, status="funded")
    return LeadFactory(
        need=need, institution=institution, status="funded", outcome="approved",
        approved_amount_wan=Decimal(amount), approved_rate=Decimal(rate),
        approved_term_months=term, approved_guarantee_mode=mode, approved_on=day,
        decided_at=at(day, 9), funded_at=at(day), created_at=at(opened or day.replace(day=1), 0))


@pytest.fixture
def world(db, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: at(date(2026, 12, 4)))
    bank_a, bank_b = InstitutionFactory(), InstitutionFactory()
    leasing = InstitutionFactory(kind="leasing")
    yc = {n: EnterpriseFactory(district="永川区") for n in (1, 2, 3, 5, 7, 8)}
    e4 = EnterpriseFactory(district="渝北区", cluster="electronic_information")
    leads = {
        1: funded(yc[1], bank_a, "first_loan", 100, "4.0", 36, "credit", date(2026, 3, 10)),
        2: funded(yc[2], bank_a, "renewal", 300, "3.5", 12, "mortgage", date(2026, 5, 20)),
        3: funded(yc[3], leasing, "new", 200, "5.0", 24, "guarantee", date(2026, 11, 2)),
        8: funded(yc[8], bank_a, "first_loan", 200, "3.8", 60, "credit", date(2026, 7, 15)),
        5: funded(yc[5], bank_a, "new", 200, "4.5", 12, "credit", date(2025, 6, 1)),
        6: funded(yc[2], bank_a, "renewal", 100, "4.0", 36, "mortgage", date(2025, 4, 1)),
        7: funded(yc[7], bank_a, "first_loan", 100, "4.0", 12, "guarantee", date(2025, 9, 1)),
        4: funded(e4, bank_b, "first_loan", 400, "3.0", 6, "credit", date(2026, 2, 1)),
    }
    return {"leads": leads, "bank_a": bank_a, "bank_b": bank_b, "leasing": leasing,
            "yc": yc, "e4": e4}


def test_funded_figures_for_a_district_year(world):
    got = indicators(YEAR, YC)
    f, before = got.funded, got.last_year
    assert (f.count, f.amount, f.borrowers, f.first_loan_borrowers) == (4, 800, 4, 2)
    assert f.first_loan_share == 50
    assert (before.count, before.amount, before.borrowers, before.first_loan_borrowers) == (
        3, 400, 3, 1)
    assert round(got.borrowers_growth, 2) == Decimal("33.33")  # 4 vs 3 户
    assert got.first_loan_growth == 100  # 2 vs 1
    assert got.amount_growth == 100  # 800 vs 400 万元
    # 中长期 (> 12 months): L1 36, L3 24, L8 60 = 500 of 800 万元, 3 of 4 loans
    assert f.long_term_share == Decimal("62.5") and f.long_term_count_share == 75
    # 信用: L1, L8 = 300 of 800, 2 of 4; last year L5 200 of 400
    assert f.credit_share == Decimal("37.5") and f.credit_count_share == 50
    assert got.credit_share_change == Decimal("-12.5")
    assert got.long_term_share_change == Decimal("37.5")  # 62.5 vs 25 (L6 100 of 400)
    # weighted rate: (100×4.0 + 300×3.5 + 200×5.0 + 200×3.8) / 800 = 3210 / 800
    assert f.rate == Decimal("4.0125")
    assert before.rate == Decimal("4.25")  # (200×4.5 + 100×4.0 + 100×4.0) / 400
    assert got.rate_change == Decimal("-0.2375")
    assert round(f.rate_by_kind["first_loan"], 4) == Decimal("3.8667")  # 1160 / 300
    assert f.rate_by_kind["renewal"] == Decimal("3.5")
    assert f.rate_by_kind["new"] == Decimal("5.0")


def test_the_city_sees_both_districts_and_slices(world):
    got = indicators(YEAR, Slice())
    assert (got.funded.count, got.funded.amount, got.funded.first_loan_borrowers) == (5, 1200, 3)
    districts = {key: row.amount for key, row in got.slices["district"]}
    assert districts == {"永川区": 800, "渝北区": 400}
    kinds = {key: row.count for key, row in got.slices["institution_kind"]}
    assert kinds == {"bank": 4, "leasing": 1}
    clusters = {key: row.amount for key, row in got.slices["cluster"]}
    assert clusters == {"intelligent_equipment": 800, "electronic_information": 400}
    loan_kinds = {key: row.amount for key, row in got.slices["loan_kind"]}
    assert loan_kinds == {"first_loan": 700, "renewal": 300, "new": 200}
    assert indicators(YEAR, Slice(institution_kind="leasing")).funded.amount == 200
    assert indicators(YEAR, Slice(institution_id=world["bank_b"].id)).funded.amount == 400
    sizes = {key for key, _ in got.slices["size"]}
    assert indicators(YEAR, Slice(size=sizes.pop())).funded.count >= 1


def test_quarter_and_month_compare_with_the_same_period_last_year(world):
    q2 = indicators(Period("quarter", 2026, 2), YC)
    assert (q2.funded.amount, q2.last_year.amount) == (300, 300)  # L2 vs L6 + L5
    assert q2.amount_growth == 0 and q2.borrowers_growth == -50  # 1 户 vs 2
    july = indicators(Period("month", 2026, 7), YC)
    assert july.funded.first_loan_borrowers == 1 and july.last_year.count == 0
    assert july.first_loan_growth is None  # nothing to compare with: not a growth of ∞
    months = {m: (amount, n) for m, amount, n, _, _ in july.months}
    assert months[3] == (100, 1) and months[11] == (200, 1)


def test_drill_down_lists_the_leads_behind_a_figure(world):
    leads = world["leads"]
    assert {lead.id for lead in drill(YEAR, YC, "first_loan")} == {leads[1].id, leads[8].id}
    assert {lead.id for lead in drill(YEAR, YC, "long_term")} == {
        leads[1].id, leads[3].id, leads[8].id}
    assert {lead.id for lead in drill(YEAR, Slice(), "credit", "渝北区", "district")} == {
        leads[4].id}
    assert drill(YEAR, YC, "credit", "渝北区", "district") == []  # the district stays forced
    # latest funded first: L3 11-02, L8 07-15, L2 05-20, L1 03-10
    assert drill(YEAR, YC, "funded") == [leads[3], leads[8], leads[2], leads[1]]
    bank_b = str(world["bank_b"].id)
    assert drill(YEAR, Slice(), "funded", bank_b, "institution") == [leads[4]]
    assert drill(YEAR, Slice(), "funded", "B", "institution") == []
    assert drill(YEAR, Slice(), "funded", "renewal", "loan_kind") == [leads[2]]
    assert drill(YEAR, Slice(), "long_term", "leasing", "institution_kind") == [leads[3]]
    assert drill(YEAR, Slice(), "funded", "electronic_information", "cluster") == [leads[4]]
    sizes = {key: row.count for key, row in indicators(YEAR, Slice()).slices["size"]}
    for size, count in sizes.items():  # each size row's leads, as many as the row counts
        assert len(drill(YEAR, Slice(), "funded", size, "size")) == count


def _claim(lead, opened, claimed, contacted, decided, contact_due, decision_due):
    from matchmaker.leads.models import Claim
    manager = user_for_role("bank_manager", institution=lead.institution)
    lead.created_at = opened
    db.session.add(Claim(lead=lead, need_id=lead.need_id, institution_id=lead.institution_id,
                         manager_id=manager.id, status="approved", claimed_at=claimed,
                         contacted_at=contacted, decided_at=decided, contact_due=contact_due,
                         decision_due=decision_due))
    db.session.flush()


def test_service_times_on_time_declines_and_conversion(world):
    leads = world["leads"]
    # L1: claimed 10 h after it opened, contacted 24 h later, decided 4 days after the claim
    _claim(leads[1], at(date(2026, 3, 1), 0), at(date(2026, 3, 1)), at(date(2026, 3, 2)),
           at(date(2026, 3, 5)), date(2026, 3, 3), date(2026, 3, 10))
    # L2: 20 h, 96 h (contact late: due 05-04), 10 days
    _claim(leads[2], at(date(2026, 5, 1), 0), at(date(2026, 5, 1), 20), at(date(2026, 5, 5), 20),
           at(date(2026, 5, 11), 20), date(2026, 5, 4), date(2026, 5, 20))
    declined = LeadFactory(need=NeedFactory(enterprise=world["yc"][5]), institution=world["bank_b"],
                           status="declined", outcome="declined", decline_reason="weak_financials",
                           decided_at=at(date(2026, 6, 1)), created_at=at(date(2026, 5, 25)))
    LeadFactory(need=NeedFactory(enterprise=world["e4"]), institution=world["bank_a"],
                status="declined", outcome="declined", decline_reason="credit_history",
                decided_at=at(date(2026, 6, 1)), created_at=at(date(2026, 5, 25)))
    service = indicators(YEAR, YC).service
    assert service.claims == 2
    assert service.claim_hours == 15 and service.contact_hours == 60
    assert service.decision_days == 7
    assert (service.on_time, service.due, service.on_time_share) == (1, 2, 50)
    assert service.declines == {"weak_financials": 1}
    # leads opened in 2026 in 永川: L1 L2 L3 L8 funded + the declined one
    assert (service.pushed, service.pushed_funded, service.conversion) == (5, 4, 80)
    assert declined.id not in {lead.id for lead in drill(YEAR, YC, "funded")}


def _event(day, district="永川区"):
    event = Event(title="对接会", day=day, venue="会场", district=district, status="published",
                  registration_deadline=at(day, 0))
    db.session.add(event)
    db.session.flush()
    slot = EventSlot(event_id=event.id, starts_at=at(day, 9), ends_at=at(day, 10))
    table = EventTable(event_id=event.id, number=1)
    db.session.add_all([slot, table])
    db.session.flush()
    return event, slot, table


def _held(event, slot, table, enterprise, institution, n, lead=None, outcome="intention"):
    ent = Registration(event_id=event.id, kind="enterprise", enterprise_id=enterprise.id,
                       need_id=lead.need_id if lead else NeedFactory(enterprise=enterprise).id,
                       checkin_code=f"E{event.id}-{n}")
    inst = Registration(event_id=event.id, kind="institution", institution_id=institution.id,
                        checkin_code=f"I{event.id}-{n}")
    db.session.add_all([ent, inst])
    db.session.flush()
    request = MeetingRequest(event_id=event.id, enterprise_registration_id=ent.id,
                             institution_registration_id=inst.id, origin="enterprise",
                             status="accepted")
    db.session.add(request)
    db.session.flush()
    table = table if n == 0 else EventTable(event_id=event.id, number=n + 1)
    db.session.add(table)
    db.session.flush()
    meeting = Meeting(event_id=event.id, request_id=request.id, slot_id=slot.id,
                      table_id=table.id, enterprise_registration_id=ent.id,
                      institution_registration_id=inst.id, status="held")
    db.session.add(meeting)
    db.session.flush()
    db.session.add(MeetingResult(meeting_id=meeting.id, side="institution", outcome=outcome,
                                 amount_wan=Decimal(100) if outcome == "intention" else None,
                                 lead_id=lead.id if lead else None))
    db.session.flush()


def test_events_whitelist_and_enterprises_served(world):
    leads, yc = world["leads"], world["yc"]
    event, slot, table = _event(date(2026, 3, 20))
    _held(event, slot, table, yc[8], world["bank_a"], 0, leads[8])  # funded 07-15: in 6 months
    _held(event, slot, table, yc[3], world["leasing"], 1, leads[3])  # funded 11-02: too late
    _held(event, slot, table, world["e4"], world["bank_b"], 2, outcome="no_fit")  # 渝北区
    _claim(leads[1], at(date(2026, 3, 1), 0), at(date(2026, 3, 1)), at(date(2026, 3, 2)),
           at(date(2026, 3, 5)), date(2026, 3, 3), date(2026, 3, 10))
    db.session.add_all([
        Activity(kind="roadshow", title="永川区智能装备路演", day=date(2026, 4, 8),
                 district="永川区", enterprises=15, institutions=6),
        Activity(kind="bank_guarantor_enterprise", title="渝北区银担企对接",
                 day=date(2026, 4, 9), district="渝北区", enterprises=7),
        Activity(kind="roadshow", title="去年的路演", day=date(2025, 4, 8),
                 district="永川区", enterprises=9)])
    whitelist = Whitelist(title="2026年第一批", kind="needs", issuing_body="永川区经信委",
                          issued_on=date(2026, 2, 1), answer_deadline=date(2026, 3, 1),
                          owner_district="永川区", status="pushed")
    db.session.add(whitelist)
    db.session.flush()
    open_lead = LeadFactory(need=NeedFactory(enterprise=yc[5]), institution=world["bank_a"],
                            created_at=at(date(2026, 2, 2)))
    for lead in (leads[2], open_lead):
        entry = WhitelistEntry(whitelist_id=whitelist.id, enterprise_id=lead.need.enterprise_id,
                               need_id=lead.need_id, amount_wan=Decimal(300),
                               purpose="working_capital", term_months=12, recommender="永川区经信委")
        db.session.add(entry)
        db.session.flush()
        db.session.add(Push(entry_id=entry.id, institution_id=lead.institution_id, status="sent",
                            sent_at=at(date(2026, 2, 2)), lead_id=lead.id))
    db.session.flush()

    got = indicators(YEAR, YC)
    assert (got.events.meetings_held, got.events.intentions, got.events.intentions_funded) == (
        2, 2, 1)
    assert got.events.intentions_funded_share == 50
    assert (got.whitelist.pushed, got.whitelist.answered, got.whitelist.funded) == (2, 1, 1)
    # 1 enterprise contacted through a lead + 2 event meetings + 15 at the 路演
    assert (got.served.by_leads, got.served.by_events, got.served.by_activities) == (1, 2, 15)
    assert got.served.total == 18 and got.served_last_year.total == 9
    city = indicators(YEAR, Slice())
    assert city.events.meetings_held == 3 and city.served.by_activities == 22


def test_the_size_slice_filters_every_figure_about_enterprises(world):
    """永川区 micro enterprises: E1, E2, E5 (declared); E3, E8 medium. Funded 2026: L1 100 (E1
    首贷), L2 300 (E2); 2025: L5 200 (E5), L6 100 (E2)."""
    leads, yc = world["leads"], world["yc"]
    for n in (1, 2, 5):
        yc[n].declared_size = "micro"
    for n in (3, 7, 8):
        yc[n].declared_size = "medium"
    db.session.flush()
    assert {yc[n].size_class for n in (1, 2, 5)} == {"micro"}
    micro = Slice(district="永川区", size="micro")
    # claims: L1 and L2 (micro), L8 (medium)
    _claim(leads[1], at(date(2026, 3, 1), 0), at(date(2026, 3, 1)), at(date(2026, 3, 2)),
           at(date(2026, 3, 5)), date(2026, 3, 3), date(2026, 3, 10))
    _claim(leads[2], at(date(2026, 5, 1), 0), at(date(2026, 5, 1), 20), at(date(2026, 5, 5), 20),
           at(date(2026, 5, 11), 20), date(2026, 5, 4), date(2026, 5, 20))
    _claim(leads[8], at(date(2026, 7, 1), 0), at(date(2026, 7, 1), 2), at(date(2026, 7, 1), 4),
           at(date(2026, 7, 3)), date(2026, 7, 3), date(2026, 7, 14))
    for enterprise, reason in ((yc[5], "weak_financials"), (yc[3], "credit_history")):
        LeadFactory(need=NeedFactory(enterprise=enterprise), institution=world["bank_b"],
                    status="declined", outcome="declined", decline_reason=reason,
                    decided_at=at(date(2026, 6, 1)), created_at=at(date(2026, 5, 25)))
    event, slot, table = _event(date(2026, 3, 20))
    _held(event, slot, table, yc[8], world["bank_a"], 0, leads[8])  # medium
    _held(event, slot, table, yc[1], world["leasing"], 1, leads[1])  # micro, funded 03-10
    db.session.add(Activity(kind="roadshow", title="永川区路演", day=date(2026, 4, 8),
                            district="永川区", enterprises=15))
    whitelist = Whitelist(title="2026年第一批", kind="needs", issuing_body="永川区经信委",
                          issued_on=date(2026, 2, 1), answer_deadline=date(2026, 3, 1),
                          owner_district="永川区", status="pushed")
    db.session.add(whitelist)
    db.session.flush()
    for lead in (leads[2], leads[3]):  # micro, medium
        entry = WhitelistEntry(whitelist_id=whitelist.id, enterprise_id=lead.need.enterprise_id,
                               need_id=lead.need_id, amount_wan=Decimal(300),
                               purpose="working_capital", term_months=12, recommender="永川区经信委")
        db.session.add(entry)
        db.session.flush()
        db.session.add(Push(entry_id=entry.id, institution_id=lead.institution_id, status="sent",
                            sent_at=at(date(2026, 2, 2)), lead_id=lead.id))
    db.session.flush()

    got = indicators(YEAR, micro)
    f, before = got.funded, got.last_year
    assert (f.count, f.amount, f.borrowers, f.first_loan_borrowers) == (2, 400, 2, 1)
    assert (before.count, before.amount, before.borrowers) == (2, 300, 2)
    assert f.rate == Decimal("3.625")  # (100×4.0 + 300×3.5) / 400
    assert {key for key, _ in got.slices["size"]} == {"micro"}
    s = got.service
    assert (s.claims, s.claim_hours, s.contact_hours) == (2, 15, 60)  # L8's claim left out
    assert s.declines == {"weak_financials": 1}  # E3's decline is medium
    assert (s.pushed, s.pushed_funded) == (3, 2)  # L1, L2 and E5's declined lead
    assert (got.whitelist.pushed, got.whitelist.funded) == (1, 1)
    assert (got.events.meetings_held, got.events.intentions, got.events.intentions_funded) == (
        1, 1, 1)  # E1's meeting only (E8 is medium); its lead L1 funded within 6 months
    assert (got.served.by_leads, got.served.by_events) == (2, 1)
    assert got.served.by_activities is None and got.served.total == 3  # the 路演 has no sizes
    everyone = indicators(YEAR, YC)
    assert (everyone.service.claims, everyone.whitelist.pushed, everyone.events.meetings_held,
            everyone.served.by_activities) == (3, 2, 2, 15)
    assert {lead.id for lead in drill(YEAR, micro, "funded")} == {leads[1].id, leads[2].id}
    medium = indicators(YEAR, Slice(district="永川区", size="medium"))
    assert (medium.funded.count, medium.funded.amount, medium.service.claims) == (2, 400, 1)


def test_size_class_follows_the_profile(db):
    enterprise = EnterpriseFactory(industry="C3484", employees=2000, revenue_wan=Decimal(90000),
                                   declared_size=None)
    db.session.flush()
    assert enterprise.size_class == enterprise.size == "large"
    enterprise.employees, enterprise.revenue_wan = 5, Decimal(50)
    db.session.flush()
    assert enterprise.size_class == "micro"
    enterprise.declared_size = "small"
    db.session.flush()
    db.session.expire(enterprise)
    assert enterprise.size_class == "small"
