"""A 银企对接会 from registration to the door, four people in four browsers: an enterprise and
a bank register, the enterprise asks the suggested bank for a meeting and the bank accepts,
the organizer schedules with one click, and at the door checks the enterprise in on a phone
with the typed code (headless Chromium has no BarcodeDetector: the fallback path). CSRF is on,
as in production; no page may log a console error (a CSP violation would).
Screenshots: test-artifacts/events-*.png."""
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from matchmaker.accounts.service import create_user
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.events.models import Event, EventSlot, EventTable
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from matchmaker.matching.models import Match
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
CHINA = ZoneInfo("Asia/Shanghai")
FIRM, ADMIN, MANAGER, STAFF = ("ev-cfo@example.com", "ev-bank-admin@example.com",
                               "ev-manager@example.com", "ev-organizer@example.com")


@pytest.fixture(scope="module")
def scene(live_server):
    """Today's event (published), a bank with a product matched to a firm's published need."""
    with live_server.app.app_context():
        today = datetime.now(CHINA).date()
        bank = Institution(ref="B-BROWSER-EVENTS", name="重庆渝北农商银行", kind="bank")
        firm = Enterprise(
            ref="E-BROWSER-EVENTS", name="重庆渝北智造科技有限公司", uscc=valid_uscc(660001),
            district="渝北区", industry="C3484", employees=60, revenue_wan=Decimal(2600),
            founded=date(2015, 3, 1), has_bank_loan=True, cluster="intelligent_equipment")
        db.session.add_all([bank, firm])
        db.session.flush()
        product = Product(ref="P-BROWSER-EVENTS", institution_id=bank.id, name="智造设备更新贷",
                          status="published", version=1, amount_min_wan=Decimal(50),
                          amount_max_wan=Decimal(2000), term_min_months=6,
                          term_max_months=60, rate_min=Decimal("3.1"), rate_max=Decimal("4.2"))
        product.purposes = ["tech_upgrade"]
        product.guarantee_modes = ["credit", "mortgage"]
        need = Need(ref="N-BROWSER-EVENTS", enterprise_id=firm.id, purpose="tech_upgrade",
                    loan_kind="new", amount_wan=Decimal(600), term_months=36,
                    created=today, status="published")
        need.guarantee_modes = ["mortgage"]
        db.session.add_all([product, need])
        db.session.flush()
        db.session.add(Match(need_id=need.id, product_id=product.id, product_version=1,
                             score=Decimal("91.0"), components={},
                             reasons=["用途相符：技术改造与设备更新", "金额600万元在产品额度内"],
                             estimated_rate=Decimal("3.300")))
        create_user(email=FIRM, name="吴会计", password=PASSWORD, role="enterprise",
                    enterprise_id=firm.id, is_enterprise_admin=True)
        create_user(email=ADMIN, name="钱行长", password=PASSWORD, role="bank_admin",
                    institution_id=bank.id)
        create_user(email=MANAGER, name="孙经理", password=PASSWORD, role="bank_manager",
                    institution_id=bank.id)
        create_user(email=STAFF, name="郑科长", password=PASSWORD, role="organizer")
        event = Event(title="渝北区智能装备银企对接会", day=today, venue="渝北区金融服务中心",
                      status="published", theme_cluster="intelligent_equipment",
                      registration_deadline=datetime.combine(today, time(23, 58), CHINA))
        db.session.add(event)
        db.session.flush()
        for n in range(3):
            start = datetime.combine(today, time(9), CHINA) + timedelta(minutes=25 * n)
            db.session.add(EventSlot(event_id=event.id, starts_at=start,
                                     ends_at=start + timedelta(minutes=20)))
        db.session.add_all([EventTable(event_id=event.id, number=n) for n in (1, 2)])
        db.session.commit()
        return {"event_id": event.id, "firm": firm.name, "bank": bank.name}


def log_in(page, email: str) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


def test_register_request_schedule_and_check_in(new_page, live_server, artifacts, scene):
    event_id = scene["event_id"]
    firm, banker, staff = new_page(), new_page(), new_page(viewport=(390, 844), is_mobile=True,
                                                            has_touch=True)
    log_in(firm, FIRM)
    log_in(banker, ADMIN)
    log_in(staff, STAFF)

    # the enterprise finds the event in its menu and registers with its need
    firm.get_by_role("link", name="对接会").click()
    firm.get_by_role("link", name="渝北区智能装备银企对接会").click()
    firm.get_by_test_id("register-link").click()
    firm.get_by_label("参会融资需求").select_option(index=0)
    firm.get_by_label("我同意").check()
    firm.get_by_role("button", name="提交报名").click()
    firm.wait_for_url(re.compile(rf"/events/{event_id}$"))
    assert firm.get_by_test_id("registration-status").inner_text() == "已报名"

    # the bank registers its manager and product
    banker.goto(f"/events/{event_id}/register")
    banker.get_by_label("孙经理（客户经理）").check()
    banker.get_by_label("智造设备更新贷").check()
    banker.get_by_role("button", name="提交报名").click()
    banker.wait_for_url(re.compile(rf"/events/{event_id}$"))

    # the enterprise sees the bank suggested, with the matcher's reasons, and asks
    firm.get_by_test_id("partners-link").click()
    suggestions = firm.get_by_test_id("suggestions")
    assert scene["bank"] in suggestions.inner_text()
    assert "匹配度 91" in suggestions.inner_text() and "用途相符" in suggestions.inner_text()
    firm.get_by_placeholder("留言（可选）").fill("想了解设备更新贷款贴息")
    firm.get_by_role("button", name="请求洽谈").click()
    assert firm.get_by_test_id("request-state").inner_text().startswith("待回复")

    # the bank accepts
    banker.goto(f"/events/{event_id}/requests")
    banker.get_by_role("button", name="接受").click()
    assert "已接受洽谈请求" in banker.locator(".alert").first.inner_text()

    # the organizer schedules with one click
    staff.goto(f"/events/{event_id}/schedule")
    staff.get_by_test_id("run-schedule").click()
    assert "排程完成" in staff.locator(".alert").first.inner_text()
    assert scene["firm"] in staff.get_by_test_id("schedule-grid").inner_text()
    staff.screenshot(path=str(artifacts / "events-schedule-mobile.png"), full_page=True)

    # the enterprise's agenda: the meeting, an .ics link and a QR code that loads
    firm.goto(f"/events/{event_id}")
    firm.get_by_test_id("agenda-link").click()
    assert scene["bank"] in firm.get_by_test_id("agenda").inner_text()
    qr = firm.get_by_test_id("qr")
    qr.wait_for()
    assert firm.evaluate("img => img.naturalWidth > 0", qr.element_handle())
    code = firm.get_by_test_id("checkin-code").inner_text().strip()
    firm.screenshot(path=str(artifacts / "events-agenda.png"), full_page=True)

    # at the door, on a phone: no BarcodeDetector here, so staff type the code
    staff.goto(f"/events/{event_id}/checkin")
    assert staff.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    staff.get_by_label("签到码").fill(code.lower())
    staff.get_by_role("button", name="签到", exact=True).click()
    result = staff.get_by_test_id("checkin-result")
    result.wait_for(state="visible")
    assert f"签到成功：{scene['firm']}" in result.inner_text()
    assert staff.get_by_test_id("checked-in-count").inner_text() == "1"
    staff.get_by_label("签到码").fill(code)
    staff.get_by_role("button", name="签到", exact=True).click()
    staff.get_by_test_id("checkin-result").get_by_text(re.compile("已于.*签到过")).wait_for()
    staff.screenshot(path=str(artifacts / "events-checkin-mobile.png"), full_page=True)

    firm.reload()  # the agenda now says when the enterprise checked in
    assert "签到" in firm.get_by_text(re.compile(r"已于 \d\d:\d\d 签到")).inner_text()
    # the organizer's event page: figures, the year's count against the target
    desk = new_page()
    log_in(desk, STAFF)
    desk.goto(f"/events/{event_id}")
    assert desk.get_by_test_id("fig-meetings").inner_text() == "1"
    assert desk.get_by_test_id("fig-enterprises").inner_text() == "1"
    desk.screenshot(path=str(artifacts / "events-organizer.png"), full_page=True)
    desk.get_by_role("link", name="1号桌").click()
    assert scene["firm"] in desk.get_by_test_id("table-sheet").inner_text()
    desk.emulate_media(media="print")
    # the print stylesheet drops the page shell
    # (the table page's stylesheet may still be loading after the click: wait, then fail loudly)
    desk.wait_for_load_state("load")
    desk.wait_for_function("getComputedStyle(document.querySelector('nav.navbar')).display"
                           " === 'none'", timeout=5000)
    for page in (firm, banker, staff, desk):
        assert page.console_errors == []
