"""Issue 17, findings 1 and 3, two people in two browsers: a need pushed to a bank that never
claims it goes on the organizer's 督办 list after the claim deadline, and the enterprise
pushes it to the next-best bank in one tap, the consent shown beside the button; that bank's
manager claims it and cannot decline without a logged contact or a stated reason.
Screenshots: test-artifacts/loop-*.png."""
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from matchmaker import clock
from matchmaker.accounts.service import create_user
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from matchmaker.leads import push, supervision
from matchmaker.matching.models import Match
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
ENTERPRISE_EMAIL = "loop-cfo@example.com"
MANAGER_EMAIL = "loop-manager@example.com"
ORGANIZER_EMAIL = "loop-organizer@example.com"


def _bank(ref, name, score, need):
    bank = Institution(ref=f"B-{ref}", name=name, kind="bank")
    db.session.add(bank)
    db.session.flush()
    product = Product(ref=f"P-{ref}", institution_id=bank.id, name=f"{name}流动资金贷",
                      status="published", version=1, amount_min_wan=Decimal(50),
                      amount_max_wan=Decimal(1000), term_min_months=6, term_max_months=36,
                      rate_min=Decimal("3.2"), rate_max=Decimal("4.6"))
    product.purposes = ["working_capital"]
    product.guarantee_modes = ["credit"]
    db.session.add(product)
    db.session.flush()
    db.session.add(Match(need_id=need.id, product_id=product.id, product_version=1,
                         score=Decimal(score), components={}, reasons=["用途相符：流动资金"],
                         estimated_rate=Decimal("3.450")))
    return bank


@pytest.fixture(scope="module")
def platform(live_server):
    with live_server.app.app_context():
        firm = Enterprise(
            ref="E-BROWSER-LOOP", name="重庆永川精密铸造有限公司", uscc=valid_uscc(990741),
            district="永川区", industry="C3391", employees=120, revenue_wan=Decimal(6000),
            founded=date(2012, 5, 1), contact_name="吴会计", contact_phone="13983000011",
            has_bank_loan=True)
        db.session.add(firm)
        db.session.flush()
        need = Need(ref="N-BROWSER-LOOP", enterprise_id=firm.id, purpose="working_capital",
                    loan_kind="new", amount_wan=Decimal(300), term_months=12,
                    created=date(2026, 11, 2), status="published")
        need.guarantee_modes = ["credit"]
        db.session.add(need)
        db.session.flush()
        silent = _bank("LOOP-A", "重庆沉默银行", "90", need)
        next_best = _bank("LOOP-B", "重庆应答银行", "80", need)
        owner = create_user(email=ENTERPRISE_EMAIL, name="吴会计", password=PASSWORD,
                            role="enterprise", enterprise_id=firm.id, is_enterprise_admin=True)
        create_user(email=MANAGER_EMAIL, name="钱经理", password=PASSWORD, role="bank_manager",
                    institution_id=next_best.id, phone="13983000012")
        create_user(email=ORGANIZER_EMAIL, name="永川经信委", password=PASSWORD,
                    role="organizer", district="永川区")
        push.push_need(owner, need, [silent.id], ["uscc"])  # the bank that never claims
        db.session.commit()
        return {"need_id": need.id, "silent": silent.id, "next": next_best.id}


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


def test_unclaimed_push_is_supervised_and_pushed_on(new_page, live_server, artifacts,
                                                    platform):
    need_id = platform["need_id"]
    with live_server.app.app_context():  # the cron sweep, a week after the push
        report = supervision.sweep(clock.china_today() + timedelta(days=7))
        assert len(report.unclaimed) == 1
        db.session.commit()
    organizer, firm, banker = new_page(), new_page(), new_page()
    for page in (firm, banker):
        page.on("dialog", lambda dialog: dialog.accept())
    log_in(organizer, ORGANIZER_EMAIL)
    log_in(firm, ENTERPRISE_EMAIL)
    log_in(banker, MANAGER_EMAIL)

    # finding 1: the organizer sees the unclaimed lead on the 督办 list and records a follow-up
    organizer.goto("/leads/supervision")
    row = organizer.get_by_test_id("supervision-unclaimed")
    assert "重庆沉默银行" in row.inner_text()
    organizer.get_by_label("督办情况").first.fill("已电话督促沉默银行当日安排接单")
    with organizer.expect_navigation():
        organizer.locator('[data-testid^="supervise-lead-"]').first.click()
    assert "督办情况已记录" in organizer.content()
    organizer.screenshot(path=str(artifacts / "loop-supervision.png"), full_page=True)

    # the enterprise is offered the next-best bank, the data it would receive shown, one tap
    firm.goto(f"/needs/{need_id}")
    offer = firm.get_by_test_id("next-best")
    assert "重庆沉默银行未在规定工作日内接单" in offer.inner_text()
    assert "统一社会信用代码" in offer.inner_text()
    firm.screenshot(path=str(artifacts / "loop-next-best.png"), full_page=True)
    with firm.expect_navigation():
        firm.get_by_test_id(f"push-next-{platform['next']}").click()
    assert "已推送给重庆应答银行" in firm.content()

    # finding 3: the next bank claims; a decline without contact is refused beside its field
    banker.goto("/leads/")
    banker.locator('[data-testid^="lead-row-"] a').first.click()
    with banker.expect_navigation():
        banker.get_by_test_id("claim").click()
    assert banker.locator('a[href="tel:13983000011"]').count() == 1  # finding 2: who to call
    # …and the enterprise sees who follows its need: the manager's name, bank and phone
    firm.goto(f"/needs/{need_id}")
    firm.get_by_test_id(f"progress-{platform['next']}").click()
    contact = firm.get_by_test_id("manager-contact")
    contact.wait_for()
    assert "钱经理" in contact.inner_text() and "重庆应答银行" in contact.inner_text()
    assert contact.locator('a[href="tel:13983000012"]').count() == 1
    banker.get_by_test_id("tab-decline").click()
    banker.get_by_label("未获批原因").select_option("insufficient_collateral")
    with banker.expect_navigation():
        banker.get_by_test_id("decline").click()
    assert "请先登记与企业的联系" in banker.content()
    banker.console_errors.clear()
    banker.get_by_test_id("tab-decline").click()
    banker.get_by_label("未能联系企业的原因（仅本机构和主管部门可见）").fill(
        "企业手机三次无人接听，座机为空号")
    with banker.expect_navigation():
        banker.get_by_test_id("decline").click()
    assert "审批结果已登记：未获批" in banker.content()
    banker.screenshot(path=str(artifacts / "loop-decline.png"), full_page=True)

    # the enterprise sees the decision and its reason on the progress page
    firm.goto(f"/needs/{need_id}")
    firm.get_by_test_id(f"progress-{platform['next']}").click()
    assert "抵押担保不足" in firm.content()
