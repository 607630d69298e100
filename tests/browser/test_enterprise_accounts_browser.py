"""Issue 17, finding 4, in two browsers each: enterprises collected by an organizer get their
users. (1) The 永川区 organizer invites a collected firm's first user from its page; she
accepts the mailed link, becomes its admin and logs in. (2) A person registers with the USCC
of another collected firm (the production path: the same "请查收邮件" page as anyone, the
rest by mail); once the mailbox is confirmed the account is 待审核 and shows nothing of the
firm; the organizer approves on the firm's page and the person then sees the firm's needs.
Screenshots: test-artifacts/accounts-*.png."""
import email
import email.policy
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from matchmaker.accounts.service import create_user
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.extensions import db
from tests.browser.test_pages_browser import axe_violations
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
ORGANIZER_EMAIL = "accounts-organizer@example.com"
INVITED_EMAIL = "accounts-first@example.com"
CLAIMANT_EMAIL = "accounts-claimant@example.com"
NEW_PASSWORD = "a-long-passphrase-2026"


def _collected(ref: str, name: str, n: int, need_ref: str) -> Enterprise:
    """A firm the organizer collected by spreadsheet: a need, a contact, no user."""
    firm = Enterprise(ref=ref, name=name, uscc=valid_uscc(n), district="永川区",
                      industry="C3391", employees=80, revenue_wan=Decimal(3000),
                      founded=date(2014, 3, 1), contact_name="吴会计",
                      contact_phone="13983000011")
    db.session.add(firm)
    db.session.flush()
    need = Need(ref=need_ref, enterprise_id=firm.id, purpose="working_capital",
                loan_kind="new", amount_wan=Decimal(200), term_months=12,
                created=date(2026, 11, 2), status="published")
    need.guarantee_modes = ["credit"]
    db.session.add(need)
    return firm


@pytest.fixture(scope="module")
def platform(live_server):
    app = live_server.app
    app.config["REGISTRATION_CONFIRM_BY_MAIL"] = True  # production's non-revealing answer
    with app.app_context():
        invited = _collected("E-BROWSER-ACC-1", "重庆永川采集一号铸造有限公司", 990801,
                             "N-BROWSER-ACC-1")
        claimed = _collected("E-BROWSER-ACC-2", "重庆永川采集二号机械有限公司", 990802,
                             "N-BROWSER-ACC-2")
        create_user(email=ORGANIZER_EMAIL, name="永川经信委", password=PASSWORD,
                    role="organizer", district="永川区", organization="永川区经济和信息化委员会")
        db.session.commit()
        return {"invited": invited.id, "claimed": claimed.id, "claimed_uscc": claimed.uscc,
                "outbox": Path(app.config["MAIL_OUTBOX"])}


def _link(outbox: Path, to: str, pattern: str) -> str:
    """The newest link of that kind mailed to `to` (the outbox is shared by the test run)."""
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            found = re.findall(pattern, message.get_content())
            if found:
                return re.sub(r"^https?://[^/]+", "", found[0])
    raise AssertionError(f"no mail to {to} with {pattern}")


def _fits_and_reads(page) -> None:
    """No sideways scrolling, and no serious or critical axe-core violation (as the pages
    of issue 18 are held to: tests/browser/test_pages_browser.py)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []


def log_in(page, email_address: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email_address)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


def test_the_organizer_invites_a_collected_firms_first_user(new_page, artifacts, platform):
    organizer, invited = new_page(), new_page(viewport=(390, 844), is_mobile=True,
                                              has_touch=True)
    log_in(organizer, ORGANIZER_EMAIL)
    organizer.goto(f"/enterprises/{platform['invited']}")
    card = organizer.get_by_test_id("enterprise-accounts")
    assert "该企业还没有平台账号" in card.inner_text()
    assert card.get_by_label("被邀请人姓名").input_value() == "吴会计"  # the contact on file
    card.get_by_label("被邀请人邮箱").fill(INVITED_EMAIL)
    with organizer.expect_navigation():
        organizer.get_by_test_id("send-first-invitation").click()
    assert f"邀请已发送至 {INVITED_EMAIL}" in organizer.content()
    assert INVITED_EMAIL in organizer.get_by_test_id("open-invitation").inner_text()
    organizer.screenshot(path=str(artifacts / "accounts-invited.png"), full_page=True)
    _fits_and_reads(organizer)

    invited.goto(_link(platform["outbox"], INVITED_EMAIL, r"https?://\S+/invite/\S+"))
    assert "重庆永川采集一号铸造有限公司" in invited.content()
    invited.get_by_label("手机号码").fill("139 8300 0021")
    invited.get_by_label("设置密码").fill(NEW_PASSWORD)
    invited.get_by_label("确认密码").fill(NEW_PASSWORD)
    invited.get_by_role("button", name="设置密码并登录").click()
    invited.wait_for_url(re.compile(r"/home$"))
    assert "重庆永川采集一号铸造有限公司" in invited.get_by_role("heading", level=1).inner_text()
    assert "N-BROWSER-ACC-1" in invited.content()  # the need the organizer collected
    invited.goto("/invitations/new")  # its admin: it invites colleagues from now on
    assert invited.get_by_role("heading", name="邀请用户").is_visible()

    # and it logs in again by itself, with the password it chose
    invited.context.clear_cookies()
    log_in(invited, INVITED_EMAIL, NEW_PASSWORD)
    invited.screenshot(path=str(artifacts / "accounts-first-user-home.png"), full_page=True)
    organizer.reload()
    assert "已开通 1 个账号" in organizer.get_by_test_id("enterprise-accounts").inner_text()
    assert organizer.console_errors == [] and invited.console_errors == []


def _register(page, uscc: str) -> None:
    page.goto("/register")
    page.get_by_label("企业名称（与营业执照一致）").fill("重庆永川采集二号机械有限公司")
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_label("所在区县").select_option("永川区")
    page.get_by_label("所属行业（国民经济行业分类）").fill("C34")
    page.get_by_label("从业人员（人）").fill("80")
    page.get_by_label("上年营业收入（万元）").fill("3000")
    page.get_by_label("成立日期").fill("2014-03-01")
    page.get_by_label("您的姓名").fill("郑出纳")
    page.get_by_label("手机号码").fill("139 8300 0031")
    page.get_by_label("登录邮箱").fill(CLAIMANT_EMAIL)
    page.get_by_label("设置密码").fill(NEW_PASSWORD)
    page.get_by_label("确认密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="注册").click()


def test_a_known_uscc_becomes_a_claim_the_organizer_approves(new_page, artifacts, platform):
    person, organizer = new_page(viewport=(390, 844), is_mobile=True, has_touch=True), new_page()
    organizer.on("dialog", lambda dialog: dialog.accept())  # 通过 asks to be sure
    _register(person, platform["claimed_uscc"])
    person.wait_for_url(re.compile(r"/register$"))
    assert "请查收邮件" in person.content() and "已在平台登记（如" in person.content()
    assert "已注册" not in person.locator("main").inner_text()  # the page tells nobody anything

    person.goto(_link(platform["outbox"], CLAIMANT_EMAIL, r"https?://\S+/register/confirm/\S+"))
    person.wait_for_url(re.compile(r"/home$"))
    status = person.get_by_test_id("claim-status")
    assert person.get_by_test_id("claim-badge").inner_text() == "待审核"
    assert "重庆永川采集二号机械有限公司" in status.inner_text()
    assert "N-BROWSER-ACC-2" not in person.content()
    person.get_by_label("您在该企业的职务").fill("出纳")
    person.get_by_label("补充说明（可供核实的材料）").fill("可请吴会计（13983000011）证明")
    with person.expect_navigation():
        person.get_by_role("button", name="保存补充信息").click()
    person.screenshot(path=str(artifacts / "accounts-claim-pending.png"), full_page=True)
    _fits_and_reads(person)
    for closed in ("/needs", "/enterprise"):  # nothing of the firm until approved
        assert person.goto(closed).status == 403

    log_in(organizer, ORGANIZER_EMAIL)
    assert organizer.get_by_test_id("home-claims").inner_text().strip().startswith("企业认领申请")
    organizer.get_by_test_id("home-claims").click()  # the queue of the district's requests
    organizer.wait_for_url(re.compile(r"/enterprises/claims$"))
    assert "郑出纳" in organizer.get_by_test_id("pending-claims").inner_text()
    _fits_and_reads(organizer)
    organizer.goto(f"/enterprises/{platform['claimed']}")
    card = organizer.get_by_test_id("enterprise-accounts")
    assert "郑出纳" in card.inner_text() and "可请吴会计" in card.inner_text()
    organizer.screenshot(path=str(artifacts / "accounts-claim-review.png"), full_page=True)
    _fits_and_reads(organizer)
    with organizer.expect_navigation():
        card.locator('[data-testid^="approve-claim-"]').click()
    assert "郑出纳 现为“重庆永川采集二号机械有限公司”的企业管理员" in organizer.content()

    person.goto("/home")
    assert "重庆永川采集二号机械有限公司" in person.get_by_role("heading", level=1).inner_text()
    assert "N-BROWSER-ACC-2" in person.content()  # the firm's needs, now its own
    assert person.get_by_test_id("unread-count").inner_text() == "1"  # told of the decision
    person.goto("/needs")
    assert "N-BROWSER-ACC-2" in person.content()
    person.screenshot(path=str(artifacts / "accounts-claim-approved.png"), full_page=True)
    assert organizer.console_errors == []
    assert [e for e in person.console_errors if not e.startswith("403 ")] == []
