"""A new finance manager registers the company and fills the needs form, on a 390-pixel phone
and on an office PC; the live checks speak Chinese, the conditional fields appear when they
apply, core-enterprise names are suggested while typing, and the need page follows.
Screenshots: test-artifacts/need-form-mobile.png and need-form-desktop.png."""
import itertools
import re

import pytest

from matchmaker.extensions import db
from matchmaker.institutions.models import CoreEnterprise, CoreEnterpriseAlias
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
_numbers = itertools.count(880001)


@pytest.fixture(scope="module")
def core_list(live_server):
    with live_server.app.app_context():
        if not db.session.query(CoreEnterprise).filter_by(name="重庆长安汽车股份有限公司").first():
            core = CoreEnterprise(name="重庆长安汽车股份有限公司")
            core.aliases = [CoreEnterpriseAlias(alias="长安汽车", confirmed=True)]
            db.session.add_all([core, CoreEnterprise(name="赛力斯集团股份有限公司")])
            db.session.commit()


def register(page, company: str) -> None:
    """Registers through /register as a new user would, ending on the enterprise home."""
    n = next(_numbers)
    page.goto("/register")
    page.get_by_label("企业名称（与营业执照一致）").fill(company)
    page.get_by_label("统一社会信用代码").fill(valid_uscc(n))
    page.get_by_label("所在区县").select_option("永川区")
    page.get_by_label("所属行业（国民经济行业分类）").fill("C34")
    page.get_by_label("从业人员（人）").fill("85")
    page.get_by_label("上年营业收入（万元）").fill("3200")
    page.get_by_label("成立日期").fill("2014-06-18")
    page.get_by_label("您的姓名").fill("陈会计")
    page.get_by_label("手机号码").fill(f"139{n % 100000000:08d}")
    page.get_by_label("手机号码").fill("13983000003")
    page.get_by_label("登录邮箱").fill(f"finance{n}@example.com")
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    page.wait_for_url(re.compile(r"/home$"))


def feedback(page, field: str):
    return page.locator(f'.invalid-feedback[data-field="{field}"]')


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_need_form_on_a_phone(new_page, live_server, artifacts, core_list):
    page = new_page(viewport=(390, 844), is_mobile=True, has_touch=True)
    register(page, "重庆手机填表精密机械有限公司")
    page.get_by_test_id("home-new-need").click()
    page.wait_for_url(re.compile(r"/needs/new$"))
    assert no_horizontal_scroll(page)

    # a company without a bank loan starts as 首贷; renewal fields stay hidden
    assert page.locator("#loan_kind-0").is_checked()
    assert page.locator("#renewal-fields").is_hidden()

    page.get_by_text("供应链融资（订单、应收账款、存货）").click()
    core = page.get_by_label("核心企业（您主要供货的大客户）")
    assert core.is_visible()
    core.press_sequentially("长安", delay=60)
    suggestion = page.locator('[data-suggest-list="core_enterprise"] button').first
    suggestion.wait_for()
    assert "重庆长安汽车股份有限公司" in suggestion.inner_text()
    suggestion.click()
    assert core.input_value() == "重庆长安汽车股份有限公司"
    page.wait_for_timeout(400)  # past the typing debounce: the list must stay closed
    assert page.locator('[data-suggest-list="core_enterprise"]').is_hidden()

    amount = page.get_by_label("融资金额", exact=True)
    amount.fill("0")
    amount.blur()
    assert feedback(page, "amount_wan").inner_text() == "融资金额必须大于0"
    amount.fill("300")
    assert feedback(page, "amount_wan").inner_text() == ""
    term = page.get_by_label("期限", exact=True)
    term.fill("400")
    term.blur()
    assert feedback(page, "term_months").inner_text() == "期限不能超过360个月（30年）"
    term.fill("12")

    # submitting without a guarantee mode is stopped in the page, in Chinese
    page.get_by_test_id("submit-need").click()
    assert "请至少选择一种可提供的担保方式" in feedback(page, "guarantee_modes").inner_text()
    assert page.url.endswith("/needs/new")

    page.get_by_text("信用（无抵押无担保）").click()
    page.get_by_text("同意平台将本需求").click()
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "need-form-mobile.png"), full_page=True)

    page.get_by_test_id("submit-need").click()
    page.wait_for_url(re.compile(r"/needs/\d+$"))
    assert re.fullmatch(r"N-\d{8}-\d{4}", page.get_by_test_id("need-ref").inner_text())
    assert page.get_by_test_id("need-status").inner_text() == "已发布"
    page.get_by_role("heading", name="需求动态").click()  # folded below the next step
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "创建融资需求" in timeline and "草稿 → 已发布" in timeline
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "need-page-mobile.png"), full_page=True)

    # the profile form checks the USCC's check character as one types
    page.goto("/enterprise/edit")
    uscc = page.get_by_label("统一社会信用代码")
    good = uscc.input_value()
    uscc.fill(good[:-1] + ("0" if good[-1] != "0" else "1"))
    uscc.blur()
    assert f"校验位错误，应为 {good[-1]}" in feedback(page, "uscc").inner_text()
    uscc.fill(good)
    assert feedback(page, "uscc").inner_text() == ""
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "profile-form-mobile.png"), full_page=True)
    assert page.console_errors == []


def test_need_form_on_a_desktop(new_page, live_server, artifacts, core_list):
    page = new_page(viewport=(1366, 900))
    register(page, "重庆电脑填表智能装备有限公司")
    page.goto("/needs/new")

    # the loan kind is folded (preset from the profile); a renewal needs a current loan: the
    # page says so before the server does
    assert page.locator("#renewal-fields").is_hidden()
    page.locator("#more-fields summary").click()
    page.get_by_text("续贷", exact=True).click()
    assert "续贷须有正在使用的银行贷款" in feedback(page, "loan_kind").inner_text()
    assert page.locator("#renewal-fields").is_visible()
    page.get_by_text("新增贷款", exact=True).click()
    assert page.locator("#renewal-fields").is_hidden()
    assert feedback(page, "loan_kind").inner_text() == ""

    page.get_by_text("技术改造与设备更新").click()
    assert "项目说明" in page.locator("#description-label").inner_text()
    page.get_by_label("融资金额", exact=True).fill("800")
    page.get_by_label("期限", exact=True).fill("36")
    page.get_by_text("抵押", exact=True).click()
    page.get_by_label("可接受的最高年利率（选填）").fill("4.2")
    page.get_by_test_id("submit-need").click()
    assert "请简要说明项目" in feedback(page, "description").inner_text()
    assert page.url.endswith("/needs/new")

    page.locator("#description").fill("购置五轴联动加工中心3台，总投资1000万元，建设期6个月")
    page.screenshot(path=str(artifacts / "need-form-desktop.png"), full_page=True)
    page.get_by_test_id("submit-need").click()
    page.wait_for_url(re.compile(r"/needs/\d+$"))
    assert "技术改造与设备更新" in page.get_by_test_id("need-title").inner_text()
    assert "购置五轴联动加工中心" in page.content()
    assert page.console_errors == []


def test_server_checks_the_same_rules_when_script_is_off(browser, live_server, core_list):
    """Without JavaScript the server still refuses a bad need, beside the field."""
    context = browser.new_context(base_url=live_server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        register(page, "重庆无脚本填表科技有限公司")
        page.goto("/needs/new")
        page.get_by_label("融资金额", exact=True).fill("0")
        page.get_by_label("期限", exact=True).fill("12")
        page.get_by_test_id("submit-need").click()
        assert "融资金额必须大于0" in feedback(page, "amount_wan").inner_text()
        assert "请选择融资用途" in feedback(page, "purpose").inner_text()
    finally:
        context.close()


def test_import_page_stops_a_fifty_megabyte_file_before_upload(new_page, live_server,
                                                              tmp_path):
    """The organizer's upload page refuses an oversized file in the browser, in Chinese."""
    from matchmaker.accounts.models import User
    from tests.factories import _HASH

    email = f"organizer{next(_numbers)}@example.com"
    with live_server.app.app_context():
        db.session.add(User(email=email, name="区经信委", role="organizer", password_hash=_HASH))
        db.session.commit()
    big = tmp_path / "全区企业.xlsx"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    page = new_page(viewport=(390, 844), is_mobile=True)
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))
    page.goto("/enterprises/import")
    page.locator('input[type="file"]').set_input_files(str(big))
    page.get_by_role("button", name="上传并预览").click()
    message = page.locator('.invalid-feedback[data-field="file"]')
    assert "文件过大（50.0 MB）：上传的 Excel 文件不能超过 5.0 MB" in message.inner_text()
    assert page.url.endswith("/enterprises/import")
    assert no_horizontal_scroll(page)
