"""The banks' monthly 制造业贷款 return: validated with messages beside the fields, reminders
before the deadline (the job), the 督办 list after it, and the scorecard computed from the
returns with each score traceable to its inputs (issue 16)."""
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from matchmaker import clock
from matchmaker.extensions import db
from matchmaker.monitoring import returns
from matchmaker.monitoring.indicators import Period
from matchmaker.monitoring.models import BankReturn
from matchmaker.monitoring.scorecard import scorecard
from matchmaker.notifications.models import Notification
from matchmaker.policy.models import Setting
from tests.factories import InstitutionFactory, user_for_role
from tests.helpers import assert_audited

CHINA = ZoneInfo("Asia/Shanghai")


def freeze(monkeypatch, day: date):
    monkeypatch.setattr(clock, "now", lambda: datetime.combine(day, time(10), CHINA))


def form(**overrides):
    data = {"month": "2026-11-01", "loans_total_wan": "100000", "mfg_balance_wan": "12000",
            "mfg_increase_wan": "500", "long_term_wan": "6000", "credit_wan": "3000",
            "first_loan_borrowers": "4"}
    data.update(overrides)
    return data


def filed(bank, month, total, balance, long_term=0, credit=0, first=0, increase=0):
    row = BankReturn(institution_id=bank.id, month=month, loans_total_wan=Decimal(total),
                     mfg_balance_wan=Decimal(balance), mfg_increase_wan=Decimal(increase),
                     long_term_wan=Decimal(long_term), credit_wan=Decimal(credit),
                     first_loan_borrowers=first)
    db.session.add(row)
    db.session.flush()
    return row


def test_a_bank_admin_files_and_bad_figures_are_refused_beside_the_field(
        db, client_as, monkeypatch):
    freeze(monkeypatch, date(2026, 12, 4))
    bank = InstitutionFactory()
    client = client_as("bank_admin", institution=bank)
    db.session.commit()  # the setup survives a refused filing's rollback
    too_big = client.post("/monitoring/returns", data=form(mfg_balance_wan="200000"))
    assert too_big.status_code == 400
    assert "制造业贷款余额应在0与各项贷款余额之间" in too_big.get_data(as_text=True)
    parts = client.post("/monitoring/returns", data=form(credit_wan="13000"))
    assert "信用贷款余额应在0与制造业贷款余额之间" in parts.get_data(as_text=True)
    filed(bank, date(2026, 10, 1), 98000, 11000)
    db.session.commit()
    wrong = client.post("/monitoring/returns", data=form(mfg_increase_wan="600"))
    assert wrong.status_code == 400
    assert "当月增量应等于本月余额减上月余额" in wrong.get_data(as_text=True)
    assert client.post("/monitoring/returns", data=form(mfg_increase_wan="1000")).status_code == 302
    row = returns.return_for(bank.id, date(2026, 11, 1))
    assert (row.mfg_balance_wan, row.first_loan_borrowers) == (12000, 4)
    assert row.mfg_share == 12
    assert client.post("/monitoring/returns", data=form(month="2026-12-01")).status_code == 400


def test_only_banks_file_returns(db, client_as):
    leasing = InstitutionFactory(kind="leasing")
    assert client_as("bank_admin", institution=leasing).get("/monitoring/returns").status_code == 404


@pytest.mark.parametrize("today, expected", [(date(2026, 12, 5), 0), (date(2026, 12, 8), 1),
                                             (date(2026, 12, 10), 1), (date(2026, 12, 11), 0)])
def test_reminders_in_the_three_days_before_the_deadline(db, monkeypatch, today, expected):
    freeze(monkeypatch, today)
    late, done = InstitutionFactory(), InstitutionFactory()
    admin = user_for_role("bank_admin", institution=late)
    user_for_role("bank_admin", institution=done)
    filed(done, date(2026, 11, 1), 1000, 100)
    assert returns.remind() == expected
    notes = db.session.query(Notification).filter_by(kind="monitoring.return_reminder").all()
    assert [n.user_id for n in notes] == [admin.id] * expected
    if expected:
        assert "12月10日前报送2026年11月制造业贷款月报" in notes[0].message


def test_the_deadline_is_a_setting_admins_change_on_the_policy_page(db, client_as, monkeypatch):
    freeze(monkeypatch, date(2026, 12, 11))
    late = InstitutionFactory(name="迟报银行")
    admin = client_as("admin")
    page = admin.get("/admin/policy/").get_data(as_text=True)
    assert "银行制造业贷款月报截止日" in page and "/admin/policy/settings/bank_return_due_day" in page
    assert returns.due_date(date(2026, 11, 1)) == date(2026, 12, 10)
    assert [row.institution.id for row in returns.overdue()] == [late.id]
    db.session.commit()  # the setup survives the refused edits' rollbacks
    for bad, message in (("0", "取值应在 1 到 28 之间"), ("29", "取值应在 1 到 28 之间"),
                         ("12.5", "请填写整数"), ("", "请填写取值")):
        response = admin.post("/admin/policy/settings/bank_return_due_day", data={"value": bad})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
        assert db.session.get(Setting, "bank_return_due_day").value == 10
    assert admin.post("/admin/policy/settings/bank_return_due_day",
                      data={"value": "15"}).status_code == 302
    assert db.session.get(Setting, "bank_return_due_day").value == 15
    assert_audited("setting.updated", key="bank_return_due_day", before=10, after=15)
    assert returns.due_date(date(2026, 11, 1)) == date(2026, 12, 15)
    assert returns.overdue() == []  # 12-11 is before the new deadline
    user_for_role("bank_admin", institution=late)
    freeze(monkeypatch, date(2026, 12, 13))
    assert returns.remind() == 1  # within the three days before the 15th
    for role in ("organizer", "bank_admin", "enterprise"):
        refused = client_as(role).post("/admin/policy/settings/bank_return_due_day",
                                       data={"value": "3"})
        assert refused.status_code == 403
    assert db.session.get(Setting, "bank_return_due_day").value == 15


def test_the_reminder_is_a_registered_job(db, monkeypatch):
    from matchmaker.jobs.registry import REGISTRY
    freeze(monkeypatch, date(2026, 12, 9))
    user_for_role("bank_admin", institution=InstitutionFactory())
    assert REGISTRY["monitoring.remind_returns"].fn(None) == {"reminded": 1}


def test_late_banks_are_on_the_supervision_list_of_their_district(db, client_as, monkeypatch):
    freeze(monkeypatch, date(2026, 12, 11))
    city_wide = InstitutionFactory(name="全市银行")
    yubei = InstitutionFactory(name="渝北银行", districts=("渝北区",))
    on_time = InstitutionFactory(name="按时银行")
    filed(on_time, date(2026, 11, 1), 1000, 100)
    page = client_as("organizer").get("/monitoring/returns/overdue").get_data(as_text=True)
    assert f'data-institution="{city_wide.id}"' in page and f'data-institution="{yubei.id}"' in page
    assert f'data-institution="{on_time.id}"' not in page
    district = client_as("organizer", district="永川区").get("/monitoring/returns/overdue")
    text = district.get_data(as_text=True)
    assert f'data-institution="{city_wide.id}"' in text and "渝北银行" not in text
    freeze(monkeypatch, date(2026, 12, 10))
    assert returns.overdue() == []  # not late until the deadline has passed


def test_scorecard_ranks_banks_from_their_returns_and_shows_the_inputs(db, client_as):
    a, b = InstitutionFactory(name="甲银行"), InstitutionFactory(name="乙银行")
    for month, first in ((7, 3), (8, 2), (9, 1)):
        filed(a, date(2026, month, 1), 1000, 200, 100, 50, first)
        filed(b, date(2026, month, 1), 1000, 100, 20, 50, 2 if month == 9 else 0)
    filed(a, date(2025, 9, 1), 900, 160)
    filed(b, date(2025, 9, 1), 900, 100)
    cards = scorecard(Period("quarter", 2026, 3))
    assert [card.institution.name for card in cards] == ["甲银行", "乙银行"]
    lines = {line.criterion.key: line for line in cards[0].lines}
    assert lines["mfg_share"].value == 20 and lines["mfg_share"].score == 20
    assert lines["mfg_growth"].value == 25 and lines["mfg_growth"].score == 20
    assert lines["first_loans"].value == 6 and lines["first_loans"].score == 15
    assert lines["long_term_share"].value == 50 and lines["credit_share"].score == 0
    assert lines["rate"].value is None and lines["rate"].score == 0  # no loans on the platform
    assert "制造业贷款余额 200.00 / 各项贷款 1000.00 万元" in lines["mfg_share"].inputs
    # 甲: 20 + 20 + 15 + 10 = 65; 乙: 信用 50 % beats 25 % -> 10
    assert (cards[0].total, cards[1].total) == (65, 10)
    page = client_as("organizer").get("/monitoring/scorecard?year=2026&number=3")
    assert "制造业贷款余额 200.00 / 各项贷款 1000.00 万元" in page.get_data(as_text=True)


def test_admin_edits_a_weight_with_its_source(db, client_as):
    client = client_as("admin")
    bad = client.post("/monitoring/criteria/rating", data={"weight": "150", "source": "x"})
    assert bad.status_code == 400 and "权重在0到100之间" in bad.get_data(as_text=True)
    ok = client.post("/monitoring/criteria/rating", data={"weight": "8", "source": "某县细则"})
    assert ok.status_code == 302
    assert client.get("/monitoring/criteria/no_such").status_code == 404
