"""An institution admin creates and publishes a product in the browser; a visitor, not logged
in, finds it in the 金融超市 by its pinyin initials and reads its worked cost example, which
counts the declared 贴息 only once an organizer has confirmed it.
Screenshots: test-artifacts/catalog-search.png and catalog-product.png."""
import re

import pytest

from matchmaker.accounts.service import create_user
from matchmaker.extensions import db
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
NAME = "鲲鹏知识产权质押贷"   # initials kpzscqzyd: no other product shares them
ORGANIZER = "catalog-organizer@example.com"
SUBSIDY = "技改专项贷款贴息：按实际利率4.00%的50%贴息"


@pytest.fixture(scope="module")
def bank_admin(live_server):
    from matchmaker.institutions.models import Institution

    with live_server.app.app_context():
        bank = Institution(ref="B-BROWSER-CAT", name="重庆鲲鹏银行", kind="bank")
        db.session.add(bank)
        db.session.flush()
        create_user(email="catalog-admin@example.com", name="产品经理", password=PASSWORD,
                    role="bank_admin", institution_id=bank.id)
        create_user(email=ORGANIZER, name="经信委王科长", password=PASSWORD, role="organizer")
        db.session.commit()
    return "catalog-admin@example.com"


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


def test_publish_then_find_by_pinyin(new_page, live_server, artifacts, bank_admin):
    admin = new_page()
    log_in(admin, bank_admin)
    admin.goto("/institution/products/new")
    # fixed rate by default: the LPR spread fields are hidden until LPR pricing is chosen
    assert admin.get_by_label("最低加点（基点，可为负）").is_hidden()
    admin.get_by_label("定价方式").select_option("lpr_1y")
    assert admin.get_by_label("最低加点（基点，可为负）").is_visible()
    assert admin.get_by_label("最低年利率（%）").is_hidden()
    admin.get_by_label("定价方式").select_option("fixed")

    admin.get_by_label("产品名称").fill(NAME)
    # touch-friendly pickers: checkboxes, no Ctrl-click multi-select
    assert admin.locator("select[multiple]").count() == 0
    for code in ("rnd", "tech_upgrade"):
        admin.locator(f'input[name="purposes"][value="{code}"]').check()
    admin.locator('input[name="guarantee_modes"][value="pledge"]').check()
    admin.get_by_label("最低额度（万元）").fill("20")
    admin.get_by_label("最高额度（万元）").fill("10")          # contradicts: refused
    admin.get_by_label("最短期限（月）").fill("6")
    admin.get_by_label("最长期限（月）").fill("36")
    admin.get_by_label("最低年利率（%）").fill("3.4")
    admin.get_by_label("最高年利率（%）").fill("4.6")
    admin.locator('input[name="subsidy_programs"][value="tech_upgrade_interest"]').check()
    admin.get_by_role("button", name="保存").click()
    error = admin.locator('.invalid-feedback[data-field="amount_max_wan"]')
    assert error.inner_text() == "最高额度不能低于最低额度"
    assert any("400" in e for e in admin.console_errors)   # the refused POST, expected
    admin.console_errors.clear()

    admin.get_by_label("最高额度（万元）").fill("2000")
    admin.get_by_role("button", name="保存").click()
    admin.wait_for_url(re.compile(r"/institution/products/\d+$"))
    admin.get_by_test_id("publish").click()
    assert "产品已发布" in admin.locator(".alert-success").inner_text()
    assert admin.get_by_test_id("status").inner_text() == "已发布"

    # a change to a published product is previewed before it is published
    product_url = admin.url
    admin.goto(product_url + "/edit")
    admin.get_by_label("产品说明").fill("科技型企业知识产权质押，线上申请")
    admin.get_by_test_id("preview-product").click()
    changes = admin.get_by_test_id("product-changes").inner_text()
    assert "产品说明" in changes and "线上申请" in changes and "年利率" not in changes
    admin.get_by_test_id("confirm-publish").click()
    admin.wait_for_url(re.compile(r"/institution/products/\d+$"))
    assert "第2版" in admin.locator(".alert-success").inner_text()

    visitor = new_page()
    visitor.goto("/catalog/")
    visitor.get_by_test_id("search").fill("kpzscq")
    visitor.get_by_role("button", name="筛选").click()
    results = visitor.get_by_test_id("product")
    assert results.count() == 1 and NAME in results.first.inner_text()
    visitor.screenshot(path=str(artifacts / "catalog-search.png"), full_page=True)
    results.first.click()
    example = visitor.get_by_test_id("worked-example")
    assert SUBSIDY not in example.inner_text()  # declared by the bank, not yet confirmed
    public_url = visitor.url

    organizer = new_page()
    log_in(organizer, ORGANIZER)
    organizer.goto("/admin/policy/confirmations")
    row = organizer.get_by_test_id("pending").locator("tr", has_text=NAME)
    row.get_by_role("button", name="确认适用").click()
    assert "已确认该产品适用此项政策" in organizer.locator(".alert-success").inner_text()

    visitor.goto(public_url)
    assert SUBSIDY in visitor.get_by_test_id("worked-example").inner_text()
    visitor.screenshot(path=str(artifacts / "catalog-product.png"), full_page=True)
    assert admin.console_errors == [] and visitor.console_errors == []
    assert organizer.console_errors == []


def test_sort_change_reloads_the_list(new_page, live_server):
    page = new_page()
    page.goto("/catalog/")
    page.get_by_label("排序").select_option("rate_asc")
    page.wait_for_url(re.compile(r"sort=rate_asc"))
    assert page.get_by_label("排序").input_value() == "rate_asc"
    assert page.console_errors == []
