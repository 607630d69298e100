"""Working days: the State Council calendar (chinese_calendar) across 国庆 2026 and its make-up
days, the override table for a year the package does not know, and the admin page."""
from datetime import date, timedelta

import pytest

from matchmaker import clock
from matchmaker.leads import claims
from matchmaker.policy import workdays
from matchmaker.policy.models import WorkdayOverride
from tests.factories import user_for_role
from tests.helpers import assert_audited
from tests.test_leads_helpers import china, freeze, manager, pushed_lead


def test_national_day_2026_is_not_counted(db):
    # 1–7 Oct 2026 off; Sat 10 Oct is a make-up working day (国办发明电〔2025〕7号)
    assert workdays.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert workdays.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # Saturday!
    assert workdays.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_make_up_sunday_before_the_holiday_counts(db):
    # Sun 20 Sep 2026 is worked (调休 for National Day); Sat 19 Sep is not
    assert workdays.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert workdays.is_working_day(date(2026, 9, 19)) is False


def test_ten_working_days_across_the_holidays(db):
    # claimed Thu 24 Sep: 25–27 Sep Mid-Autumn, 1–7 Oct National Day, 10 Oct worked
    assert workdays.add_working_days(date(2026, 9, 24), 10) == date(2026, 10, 15)


def test_zero_and_negative(db):
    assert workdays.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    with pytest.raises(ValueError):
        workdays.add_working_days(date(2026, 10, 3), -1)


def test_claim_on_the_eve_of_national_day(db, monkeypatch):
    freeze(monkeypatch, china(2026, 9, 30, 17, 30))
    lead = pushed_lead()
    claim = claims.claim_lead(manager(lead.institution), lead)
    assert claim.contact_due == date(2026, 10, 9)
    assert claim.decision_due == date(2026, 10, 20)  # 8,9,10(Sat),12–16,19,20


def test_claim_late_in_the_evening_counts_the_beijing_date(db, monkeypatch):
    # 23:30 in Beijing on Fri 27 Nov 2026 is still Friday (15:30 UTC)
    freeze(monkeypatch, china(2026, 11, 27, 23, 30))
    lead = pushed_lead()
    claim = claims.claim_lead(manager(lead.institution), lead)
    assert claim.contact_due == date(2026, 12, 1)  # Mon, Tue


def test_an_unknown_year_falls_back_to_weekdays(db):
    assert workdays.calendar_knows(2026) and not workdays.calendar_knows(2027)
    # Fri 1 Jan 2027: without a notice it is an ordinary Friday
    assert workdays.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)


def test_overrides_teach_an_unknown_year(db):
    admin = user_for_role("admin")
    workdays.save_workday_override(admin, date(2027, 1, 1), False, "2027年元旦")
    workdays.save_workday_override(admin, date(2027, 1, 2), True, "调休上班（示例）")
    assert workdays.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 2)
    assert workdays.add_working_days(date(2026, 12, 31), 2) == date(2027, 1, 4)
    assert workdays.working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 2


def test_an_override_wins_over_the_package(db):
    workdays.save_workday_override(user_for_role("admin"), date(2026, 10, 8), False, "更正")
    assert workdays.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 9)


def test_a_long_closure_is_still_counted_through(db):
    admin = user_for_role("admin")
    for offset in range(1, 40):  # an absurd 39-day shutdown must not loop or stop early
        workdays.save_workday_override(admin, date(2027, 3, 1) + timedelta(days=offset), False)
    assert workdays.add_working_days(date(2027, 3, 1), 1) > date(2027, 4, 9)


def test_claim_in_an_unknown_year_uses_the_overrides(db, monkeypatch):
    workdays.save_workday_override(user_for_role("admin"), date(2027, 2, 8), False, "春节（示例）")
    freeze(monkeypatch, china(2027, 2, 5))  # a Friday
    lead = pushed_lead()
    claim = claims.claim_lead(manager(lead.institution), lead)
    assert claim.contact_due == date(2027, 2, 10)  # Mon 8 is off: Tue 9, Wed 10


def test_unknown_years_are_reported_until_entered(db):
    assert workdays.unknown_years(2026, 2027) == [2027]
    workdays.save_workday_override(user_for_role("admin"), date(2027, 1, 1), False)
    assert workdays.unknown_years(2026, 2027) == []


def test_admin_page_sets_and_deletes_a_day(db, client_as):
    admin = client_as("admin")
    page = admin.get("/admin/policy/workdays?year=2027")
    assert page.status_code == 200 and "2027年的节假日安排尚未收录" in page.text
    response = admin.post("/admin/policy/workdays", data={"day": "2027-01-01", "is_working": "0",
                                                   "note": "元旦"})
    assert response.status_code == 302
    row = db.session.get(WorkdayOverride, date(2027, 1, 1))
    assert row.is_working is False and row.note == "元旦"
    assert_audited("workday_override.saved", day="2027-01-01", is_working=False)
    assert "元旦" in admin.get("/admin/policy/workdays?year=2027").text
    response = admin.post("/admin/policy/workdays/2027-01-01/delete")
    assert response.status_code == 302
    assert db.session.get(WorkdayOverride, date(2027, 1, 1)) is None
    assert_audited("workday_override.deleted", day="2027-01-01")
    assert admin.post("/admin/policy/workdays/2027-13-01/delete").status_code == 404
    assert admin.post("/admin/policy/workdays/2027-01-05/delete").status_code == 404


def test_admin_page_refuses_a_missing_date(db, client_as):
    response = client_as("admin").post("/admin/policy/workdays", data={"is_working": "0"})
    assert response.status_code == 400 and "请选择日期" in response.text


def test_clock_is_frozen_by_tests(monkeypatch):
    freeze(monkeypatch, china(2026, 10, 1, 0, 30))
    assert clock.china_today() == date(2026, 10, 1)  # Beijing date, though UTC is 30 Sep


def test_counting_by_running_totals_equals_counting_day_by_day(db):
    """working_days_between counts from each year's running totals and corrects by the
    overrides in the span: the same as asking every day in turn, across years the package
    knows and one it does not, overrides either way."""
    import random

    admin = user_for_role("admin")
    workdays.save_workday_override(admin, date(2026, 10, 9), False, "更正")  # a workday off
    workdays.save_workday_override(admin, date(2026, 10, 17), True, "补班")  # a Saturday on
    workdays.save_workday_override(admin, date(2027, 1, 1), False, "2027年元旦")
    workdays.save_workday_override(admin, date(2027, 2, 6), True, "调休上班（示例）")
    rng = random.Random(13)
    last_day = sum(workdays.is_working_day(date(9999, 12, 31) - timedelta(days=k))
                   for k in range(366))
    assert workdays.working_days_between(date(9998, 12, 30), date(9999, 12, 31)) == last_day
    start = date(2024, 6, 1)
    for _ in range(200):
        first = start + timedelta(days=rng.randrange(1400))
        last = first + timedelta(days=rng.randrange(-5, 800))
        one_by_one = sum(workdays.is_working_day(first + timedelta(days=k))
                         for k in range(1, (last - first).days + 1))
        assert workdays.working_days_between(first, last) == one_by_one, (first, last)
