"""Issue 17, finding 4, the rest, in two browsers: a person registers a firm whose USCC the
platform does not know (the production path: the same "请查收邮件" page, the rest by mail);
once the mailbox is confirmed the firm's home says 待核验 and that its needs reach no bank
yet; the 永川区 organizer sees the count on the home page, confirms on 企业注册核验, and the
notice is gone. Screenshots: test-artifacts/registration-check-*.png."""
import re
from pathlib import Path

import pytest

from matchmaker.accounts.service import create_user
from matchmaker.extensions import db
from tests.browser.test_enterprise_accounts_browser import _fits_and_reads, _link, log_in
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
ORGANIZER_EMAIL = "regcheck-organizer@example.com"
REGISTRANT_EMAIL = "regcheck-finance@example.com"
NEW_PASSWORD = "a-long-passphrase-2026"
COMPANY = "重庆永川自注册精密机械有限公司"


@pytest.fixture(scope="module")
def platform(live_server):
    app = live_server.app
    app.config["REGISTRATION_CONFIRM_BY_MAIL"] = True  # production's non-revealing answer
    with app.app_context():
        create_user(email=ORGANIZER_EMAIL, name="永川经信委", password=PASSWORD,
                    role="organizer", district="永川区", organization="永川区经济和信息化委员会")
        db.session.commit()
    return {"outbox": Path(app.config["MAIL_OUTBOX"])}


def _register(page) -> None:
    page.goto("/register")
    page.get_by_label("企业名称（与营业执照一致）").fill(COMPANY)
    page.get_by_label("统一社会信用代码").fill(valid_uscc(990901))
    page.get_by_label("所在区县").select_option("永川区")
    page.get_by_label("所属行业（国民经济行业分类）").fill("C34")
    page.get_by_label("从业人员（人）").fill("60")
    page.get_by_label("上年营业收入（万元）").fill("2500")
    page.get_by_label("成立日期").fill("2015-06-01")
    page.get_by_label("您的姓名").fill("钱会计")
    page.get_by_label("手机号码").fill("139 8300 0041")
    page.get_by_label("登录邮箱").fill(REGISTRANT_EMAIL)
    page.get_by_label("设置密码").fill(NEW_PASSWORD)
    page.get_by_label("确认密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="注册").click()


def test_a_new_firm_waits_for_its_district_organizers_check(new_page, artifacts, platform):
    person, organizer = new_page(viewport=(390, 844), is_mobile=True, has_touch=True), new_page()
    organizer.on("dialog", lambda dialog: dialog.accept())  # 核验通过 asks to be sure
    _register(person)
    person.wait_for_url(re.compile(r"/register$"))
    assert "请查收邮件" in person.content()
    person.goto(_link(platform["outbox"], REGISTRANT_EMAIL, r"https?://\S+/register/confirm/\S+"))
    person.wait_for_url(re.compile(r"/home$"))
    notice = person.get_by_test_id("registration-pending")
    assert "需求不会展示或推送给金融机构" in notice.inner_text()
    assert "永川区经信部门" in notice.inner_text()
    person.screenshot(path=str(artifacts / "registration-check-pending.png"), full_page=True)
    _fits_and_reads(person)

    log_in(organizer, ORGANIZER_EMAIL)
    button = organizer.get_by_test_id("home-registrations")
    assert "1" in button.inner_text()
    button.click()
    organizer.wait_for_url(re.compile(r"/enterprises/registrations$"))
    pending = organizer.get_by_test_id("pending-registrations")
    assert COMPANY in pending.inner_text() and "钱会计" in pending.inner_text()
    organizer.screenshot(path=str(artifacts / "registration-check-list.png"), full_page=True)
    _fits_and_reads(organizer)
    with organizer.expect_navigation():
        pending.locator('[data-testid^="confirm-registration-"]').click()
    assert f"已核验“{COMPANY}”" in organizer.content()
    assert "暂无待核验的企业注册" in organizer.content()

    person.reload()
    assert person.get_by_test_id("registration-pending").count() == 0
    assert person.get_by_test_id("unread-count").inner_text() == "1"  # told of the check
    assert organizer.console_errors == [] and person.console_errors == []
