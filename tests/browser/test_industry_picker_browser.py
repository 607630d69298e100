"""The industry picker in headless Chromium: an enterprise finds 汽车零部件及配件制造 (C3670)
by typing part of its name, its pinyin initials or its code, chooses it with the keyboard or
the mouse, and registers with it. Screenshot: test-artifacts/industry-picker.png."""
import re

import pytest

from tests.factories import valid_uscc

pytestmark = pytest.mark.browser

CLASS = "C3670"
PATH = "制造业 › 汽车制造业 › 汽车零部件及配件制造"


def open_list(page, field, typed):
    field.fill("")
    field.press_sequentially(typed, delay=30)
    listbox = page.get_by_role("listbox", name="国民经济行业分类")
    option = listbox.get_by_role("option").filter(has_text=re.compile(rf"^{CLASS}\s*汽车零部件及配件制造"))
    option.wait_for()
    assert field.get_attribute("aria-expanded") == "true"
    return listbox, option


def test_find_the_class_by_name_initials_and_code(new_page, artifacts):
    page = new_page()
    page.goto("/register")
    field = page.get_by_role("combobox", name="所属行业（国民经济行业分类）")
    assert field.get_attribute("aria-controls") == "industry-listbox"

    # part of the Chinese name, chosen with the keyboard: the class is the first option
    listbox, option = open_list(page, field, "汽车零部件")
    field.press("ArrowDown")
    assert field.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    page.screenshot(path=str(artifacts / "industry-picker.png"), full_page=False)
    field.press("Enter")
    assert field.input_value() == CLASS
    assert field.get_attribute("aria-expanded") == "false"
    assert PATH in page.locator("[data-industry-chosen]").inner_text()

    # pinyin initials, chosen with the mouse
    listbox, option = open_list(page, field, "qclbj")
    option.click()
    assert field.input_value() == CLASS and listbox.is_hidden()

    # the digits of the code; Escape closes the list and keeps what was typed
    listbox, option = open_list(page, field, "3670")
    assert listbox.get_by_role("option").first.get_attribute("data-code") == CLASS
    field.press("Escape")
    assert listbox.is_hidden() and field.input_value() == "3670"
    assert page.console_errors == []


def test_register_with_a_class_found_by_initials(new_page):
    page = new_page()
    page.goto("/register")
    page.get_by_label("企业名称（与营业执照一致）").fill("重庆拾取器汽车配件有限公司")
    page.get_by_label("统一社会信用代码").fill(valid_uscc(770101))
    page.get_by_label("所在区县").select_option("永川区")
    field = page.get_by_role("combobox", name="所属行业（国民经济行业分类）")
    _, option = open_list(page, field, "qclbj")
    option.click()
    page.get_by_label("从业人员（人）").fill("60")
    page.get_by_label("上年营业收入（万元）").fill("1800")
    page.get_by_label("成立日期").fill("2015-03-20")
    page.get_by_label("您的姓名").fill("吴会计")
    page.get_by_label("手机号码").fill("139 8300 0068")
    page.get_by_label("登录邮箱").fill("picker.finance@example.com")
    page.get_by_label("设置密码").fill("picker-pass-2026")
    page.get_by_label("确认密码").fill("picker-pass-2026")
    page.get_by_role("button", name="注册").click()
    page.wait_for_url(re.compile(r"/home$"))
    assert "汽车零部件及配件制造" in page.locator("main").inner_text()
    assert page.console_errors == []
