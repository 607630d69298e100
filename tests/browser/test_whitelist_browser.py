"""A small whitelist batch from upload to a bank's answer, two people in two browsers: the
city organizer creates the batch, uploads the district's spreadsheet (one firm consented, one
did not), commits it, generates the proposal and pushes; the bank's account manager finds the
entry under 白名单, claims the lead, logs the first call, approves, records the disbursement;
the organizer's progress page shows it, with the chart drawn. Screenshots:
test-artifacts/whitelist-*.png."""
import re
from decimal import Decimal

import pytest

from matchmaker.accounts.service import create_user
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from tests.factories import PASSWORD
from tests.test_spreadsheet_import import row, workbook

pytestmark = pytest.mark.browser
ORGANIZER_EMAIL = "whitelist-city@example.com"
MANAGER_EMAIL = "whitelist-manager@example.com"
BANK = "重庆白名单测试银行"


@pytest.fixture(scope="module")
def platform(live_server, tmp_path_factory):
    """A city organizer and one bank with a published working-capital product."""
    app = live_server.app
    app.config["SPREADSHEET_UPLOAD_DIR"] = str(tmp_path_factory.mktemp("whitelist-imports"))
    with app.app_context():
        bank = Institution(ref="B-BROWSER-WL", name=BANK, kind="bank")
        db.session.add(bank)
        db.session.flush()
        product = Product(ref="P-BROWSER-WL", institution_id=bank.id, name="白名单流动资金贷",
                          status="published", version=1, amount_min_wan=Decimal(50),
                          amount_max_wan=Decimal(1000), term_min_months=6,
                          term_max_months=36, rate_min=Decimal("3.2"), rate_max=Decimal("4.6"))
        product.purposes = ["working_capital"]
        product.guarantee_modes = ["credit", "guarantee"]
        db.session.add(product)
        create_user(email=ORGANIZER_EMAIL, name="市经信委王处长", password=PASSWORD,
                    role="organizer", organization="重庆市经济和信息化委员会")
        create_user(email=MANAGER_EMAIL, name="白经理", password=PASSWORD, role="bank_manager",
                    institution_id=bank.id)
        db.session.commit()
    return {"bank": BANK}


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


def test_upload_push_answer(new_page, live_server, artifacts, platform, tmp_path):
    city, banker = new_page(), new_page()
    for page in (city, banker):
        page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    log_in(city, ORGANIZER_EMAIL)
    log_in(banker, MANAGER_EMAIL)

    # the batch
    city.get_by_role("link", name="白名单", exact=True).click()
    city.get_by_test_id("new-whitelist").click()
    city.get_by_label("白名单名称").fill("2026年第4批 制造业融资需求白名单（浏览器）")
    city.get_by_label("金融机构反馈截止日期").fill("2026-12-31")
    city.get_by_role("button", name="保存").click()
    city.wait_for_url(re.compile(r"/whitelists/\d+$"))
    assert city.get_by_test_id("status").inner_text() == "草稿"

    # the district's spreadsheet: one consenting firm, one that did not consent
    sheet = tmp_path / "永川区白名单汇总.xlsx"
    sheet.write_bytes(workbook([
        row(770001, name="重庆白名单浏览器一号机械有限公司"),
        row(770002, name="重庆白名单浏览器二号机械有限公司", consent_to_share="否",
            consent_basis=None, amount_wan=120),
    ]))
    city.get_by_test_id("import-link").click()
    city.get_by_label("推荐单位（本表各行）").fill("永川区经济和信息化委员会")
    city.get_by_label("Excel 文件（.xlsx，按平台模板填写）").set_input_files(str(sheet))
    city.get_by_test_id("upload").click()
    city.get_by_test_id("preview").wait_for()
    assert "将列入名单 2 户" in city.content()
    assert "企业未同意推送" in city.get_by_test_id("row-warnings").inner_text()
    city.screenshot(path=str(artifacts / "whitelist-preview.png"), full_page=True)
    city.get_by_test_id("commit").click()
    city.wait_for_url(re.compile(r"/whitelists/\d+$"))
    assert "导入完成：2 户企业已列入名单" in city.content()
    assert city.get_by_test_id("no-consent").count() == 1
    # the consenting row's 同意依据 is the entry's basis, with its recorder
    basis = city.locator('[data-testid^="consent-basis-"]')
    assert basis.count() == 1 and "企业授权书 YC-2026-770001" in basis.inner_text()

    # the proposal and the push
    with city.expect_navigation():
        city.get_by_test_id("propose").click()
    assert "已生成推送方案" in city.content()
    loads = city.get_by_test_id("loads").inner_text()
    assert BANK in loads
    with city.expect_navigation():
        city.get_by_test_id("push").click()
    assert "本次推送 1 条（1 家机构）" in city.content()
    assert city.get_by_test_id("status").inner_text() == "已推送"
    city.screenshot(path=str(artifacts / "whitelist-pushed.png"), full_page=True)
    whitelist_url = city.url

    # the bank: the entry under 白名单, worked on its lead page
    banker.get_by_role("link", name="白名单", exact=True).click()
    table = banker.get_by_test_id("bank-pushes")
    assert "重庆白名单浏览器一号机械有限公司" in table.inner_text()
    assert "二号" not in table.inner_text()  # never pushed: no consent
    assert "待反馈" in table.inner_text()
    table.get_by_role("link", name="反馈").first.click()  # the main action of an unanswered push
    banker.get_by_test_id("lead-link").click()
    with banker.expect_navigation():
        banker.get_by_test_id("claim").click()
    banker.locator('[data-testid="followup-form"] select[name="kind"]').select_option("call")
    with banker.expect_navigation():
        banker.get_by_test_id("save-followup").click()
    banker.get_by_label("年利率（%）").first.fill("3.85")
    with banker.expect_navigation():
        banker.get_by_test_id("approve").click()
    assert "已批准" in banker.content()

    banker.goto("/whitelists/bank")
    assert "已授信" in banker.get_by_test_id("bank-pushes").inner_text()
    banker.get_by_role("link", name="详情").first.click()
    banker.get_by_label("放款金额（万元）").fill("180")
    banker.get_by_label("年利率（%）").fill("3.80")
    with banker.expect_navigation():
        banker.get_by_test_id("record-disbursement").click()
    assert "放款情况已登记" in banker.content()
    assert banker.get_by_test_id("answer").inner_text() == "已放款"
    banker.screenshot(path=str(artifacts / "whitelist-bank.png"), full_page=True)

    # the organizer sees the answer and the progress
    city.goto(whitelist_url)
    assert "已放款" in city.get_by_test_id("entries").inner_text()
    city.get_by_test_id("progress-link").click()
    city.locator("#whitelist-chart svg").first.wait_for()
    totals = city.get_by_test_id("totals").inner_text()
    assert "180 万元" in totals and "200 万元" in totals
    city.get_by_role("button", name="按区县").click()
    assert "永川区" in city.get_by_test_id("by-district").inner_text()
    city.screenshot(path=str(artifacts / "whitelist-progress.png"), full_page=True)
    with city.expect_download() as download:
        city.get_by_test_id("export-link").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    assert city.console_errors == [] and banker.console_errors == []
