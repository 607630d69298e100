"""A district organizer opens 监测督导, sees its district only (永川区's 2 funded loans, not
渝北区's), drills into the 首贷户 figure and finds the one first loan behind it; at 1366 px and
at 390 px. Screenshots: test-artifacts/monitoring-*.png."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from matchmaker import clock
from matchmaker.accounts.service import create_user
from matchmaker.extensions import db
from tests.factories import (
    PASSWORD,
    EnterpriseFactory,
    InstitutionFactory,
    LeadFactory,
    NeedFactory,
)

pytestmark = pytest.mark.browser
EMAIL = "monitor-yongchuan@example.com"


def _funded(district, name, kind, amount, days_ago):
    moment = clock.now() - timedelta(days=days_ago)
    enterprise = EnterpriseFactory(district=district, name=name)
    return LeadFactory(need=NeedFactory(enterprise=enterprise, loan_kind=kind, status="funded"),
                       institution=InstitutionFactory(), status="funded", outcome="approved",
                       approved_amount_wan=Decimal(amount), approved_rate=Decimal("3.9"),
                       approved_term_months=36, approved_guarantee_mode="credit",
                       decided_at=moment, funded_at=moment, created_at=moment)


@pytest.fixture(scope="module")
def platform(live_server):
    with live_server.app.app_context():
        # this year, China dates: a day or two back stays inside the year after 1 January
        first = _funded("永川区", "重庆永川首贷浏览器机械有限公司", "first_loan", 150, 1)
        _funded("永川区", "重庆永川续贷浏览器机械有限公司", "renewal", 250, 1)
        other = _funded("渝北区", "重庆渝北浏览器电子有限公司", "first_loan", 900, 1)
        create_user(email=EMAIL, name="永川区经信委李科长", password=PASSWORD, role="organizer",
                    district="永川区", organization="永川区经济和信息化委员会")
        db.session.commit()
        return {"first": first.id, "other": other.id}


def log_in(page) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(EMAIL)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


@pytest.mark.parametrize("width", [1366, 390])
def test_district_organizer_sees_its_district_and_drills_in(new_page, platform, artifacts,
                                                            width):
    page = new_page(viewport=(width, 900))
    log_in(page)
    page.goto("/monitoring/")
    assert "永川区" in page.locator("h1").inner_text()
    assert page.locator('[data-figure="borrowers"]').inner_text() == "2"
    assert page.locator('[data-figure="first_loan"]').inner_text() == "1"
    assert "渝北" not in page.locator("#by-district").inner_text()
    assert page.locator("#district").count() == 0  # no district picker for a district
    page.wait_for_function(
        "document.querySelector('#monitoring-chart canvas, #monitoring-chart svg') !== null")
    page.screenshot(path=str(artifacts / f"monitoring-{width}.png"), full_page=True)
    page.locator('[data-drill="first_loan"]').click()
    page.wait_for_url(re.compile(r"/monitoring/drill"))
    rows = page.locator("#drill tbody tr[data-lead]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-lead") == str(platform["first"])
    assert "重庆永川首贷浏览器机械有限公司" in rows.first.inner_text()
    page.screenshot(path=str(artifacts / f"monitoring-drill-{width}.png"), full_page=True)
    assert not page.console_errors, page.console_errors
