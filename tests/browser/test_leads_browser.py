"""A need from push to approved loan, two people in two browsers: the enterprise pushes its
published need to a matched bank, choosing what the bank may see; the bank's account manager
claims it, logs the first call and approves; the enterprise confirms the money arrived and
rates the service. Screenshots: test-artifacts/leads-*.png."""
import re
from datetime import date
from decimal import Decimal

import pytest

from matchmaker.accounts.service import create_user
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from matchmaker.matching.models import Match
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
ENTERPRISE_EMAIL = "leads-cfo@example.com"
MANAGER_EMAIL = "leads-manager@example.com"


@pytest.fixture(scope="module")
def platform(live_server):
    """One bank with a published product matched to one published need."""
    with live_server.app.app_context():
        bank = Institution(ref="B-BROWSER-LEADS", name="重庆渝信银行", kind="bank")
        enterprise = Enterprise(
            ref="E-BROWSER-LEADS", name="重庆渝信精密模具有限公司", uscc=valid_uscc(990731),
            district="九龙坡区", industry="C3525", employees=86, revenue_wan=Decimal(4200),
            founded=date(2013, 4, 2), contact_name="周会计", contact_phone="13983000001",
            has_bank_loan=True)
        db.session.add_all([bank, enterprise])
        db.session.flush()
        product = Product(ref="P-BROWSER-LEADS", institution_id=bank.id, name="渝信流动资金贷",
                          status="published", version=1, amount_min_wan=Decimal(50),
                          amount_max_wan=Decimal(1000), term_min_months=6,
                          term_max_months=36, rate_min=Decimal("3.2"), rate_max=Decimal("4.6"))
        product.purposes = ["working_capital"]
        product.guarantee_modes = ["credit", "guarantee"]
        need = Need(ref="N-BROWSER-LEADS", enterprise_id=enterprise.id, purpose="working_capital",
                    loan_kind="new", amount_wan=Decimal(300), term_months=12,
                    created=date(2026, 11, 2), status="published")
        need.guarantee_modes = ["credit"]
        db.session.add_all([product, need])
        db.session.flush()
        db.session.add(Match(need_id=need.id, product_id=product.id, product_version=1,
                             score=Decimal("86.5"), components={},
                             reasons=["用途相符：流动资金", "金额300万元在产品额度内"],
                             estimated_rate=Decimal("3.450")))
        create_user(email=ENTERPRISE_EMAIL, name="周会计", password=PASSWORD, role="enterprise",
                    enterprise_id=enterprise.id, is_enterprise_admin=True)
        create_user(email=MANAGER_EMAIL, name="李经理", password=PASSWORD, role="bank_manager",
                    institution_id=bank.id, phone="023-61234567")
        db.session.commit()
        return {"need_id": need.id, "bank_id": bank.id}


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


def test_push_claim_contact_approve_confirm(new_page, live_server, artifacts, platform):
    need_id, bank_id = platform["need_id"], platform["bank_id"]
    firm, banker = new_page(), new_page()
    for page in (firm, banker):
        page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    log_in(firm, ENTERPRISE_EMAIL)
    log_in(banker, MANAGER_EMAIL)

    # the enterprise pushes the need, withholding its revenue
    firm.goto(f"/needs/{need_id}")
    firm.get_by_test_id("push-link").click()
    firm.wait_for_url(re.compile(rf"/leads/needs/{need_id}/push$"))
    # nothing pre-ticked (finding 5): each recipient and each optional item is the firm's pick
    assert not firm.get_by_test_id(f"institution-{bank_id}").is_checked()
    assert not firm.locator('[data-testid^="scope-"]:checked').count()
    firm.get_by_test_id(f"institution-{bank_id}").check()
    assert firm.get_by_test_id("push-count").inner_text() == "1"
    firm.get_by_test_id("scope-uscc").check()
    firm.screenshot(path=str(artifacts / "leads-push.png"), full_page=True)
    firm.get_by_test_id("push").click()
    assert "请确认同意向所选机构提供上述信息" in firm.content()
    assert firm.console_errors.pop().startswith("400 ")  # the refused form, as intended
    firm.get_by_test_id("agree").check()
    firm.get_by_test_id("push").click()
    firm.wait_for_url(re.compile(rf"/needs/{need_id}$"))
    assert "已推送给1家金融机构" in firm.content()
    assert "已授权1家：重庆渝信银行" in firm.get_by_test_id("consent-summary").text_content()
    assert "上年营业收入" not in firm.get_by_test_id(f"need-lead-{bank_id}").inner_text()

    # the manager finds it in the inbox, sees the consented profile only, and claims it
    banker.goto("/leads/")
    banker.locator('[data-testid^="lead-row-"] a').first.click()
    profile = banker.get_by_test_id("consented-profile").inner_text()
    assert "重庆渝信精密模具有限公司" in profile and "13983000001" not in profile
    assert "接单后可见" in profile  # the phone number comes with the claim
    assert "上年营业收入" not in profile
    assert "金额300万元在产品额度内" in banker.content()
    with banker.expect_navigation():
        banker.get_by_test_id("claim").click()
    assert "接单成功" in banker.content()
    assert banker.locator('[data-testid="enterprise-contact"] a[href="tel:13983000001"]').count() == 1

    # the enterprise sees who will call, and by when
    firm.get_by_test_id(f"progress-{bank_id}").click()
    assert "李经理" in firm.get_by_test_id("manager-card").inner_text()

    # first call, then approval
    banker.get_by_label("跟进方式").select_option("call")
    banker.get_by_label("情况记录（仅本机构可见）").fill("已与周会计通话，资料齐全")
    with banker.expect_navigation():
        banker.get_by_test_id("save-followup").click()
    assert "跟进记录已保存" in banker.content()
    banker.get_by_label("批准金额（万元）").fill("1200")
    banker.get_by_label("年利率（%）").fill("3.45")
    with banker.expect_navigation():
        banker.get_by_test_id("approve").click()
    assert "批准金额不能超过产品“渝信流动资金贷”的最高额度1000万元" in banker.content()
    assert banker.console_errors.pop().startswith("400 ")
    banker.get_by_label("批准金额（万元）").fill("300")
    banker.get_by_label("年利率（%）").fill("3.45")
    with banker.expect_navigation():
        banker.get_by_test_id("approve").click()
    assert "审批结果已登记：已批准" in banker.content()
    banker.screenshot(path=str(artifacts / "leads-bank-approved.png"), full_page=True)

    # the enterprise confirms the money arrived and rates the service
    firm.reload()
    assert "已批准" in firm.get_by_test_id("outcome").inner_text()
    timeline = firm.get_by_test_id("lead-timeline").inner_text()
    assert "客户经理电话联系" in timeline and "资料齐全" not in timeline  # notes stay internal
    firm.get_by_test_id("rating-5").check()
    with firm.expect_navigation():
        firm.get_by_test_id("confirm-funding").click()
    assert "已确认放款到账" in firm.content()
    assert "您评价了服务：5星" in firm.get_by_test_id("lead-timeline").inner_text()
    firm.screenshot(path=str(artifacts / "leads-enterprise-funded.png"), full_page=True)
    firm.goto(f"/needs/{need_id}")
    assert firm.get_by_test_id("need-status").inner_text() == "已放款"

    banker.reload()
    assert "企业已于" in banker.get_by_test_id("outcome").inner_text()
    # the manager's bell has the news
    assert banker.get_by_test_id("unread-count").inner_text() != ""
    assert firm.console_errors == [] and banker.console_errors == []
