"""A finance manager registers the company in headless Chromium, logs out through the user menu,
logs back in and lands on the enterprise home. Screenshot: test-artifacts/register.png."""
import re

import pytest

from tests.factories import valid_uscc

pytestmark = pytest.mark.browser

COMPANY = "重庆浏览器注册精工有限公司"
EMAIL = "browser.finance@liangjiang.cn"
PASSWORD = "browser-pass-2026"


def test_register_log_out_and_back_in(new_page, artifacts):
    page = new_page()
    page.goto("/register")
    page.get_by_label("企业名称（与营业执照一致）").fill(COMPANY)
    page.get_by_label("统一社会信用代码").fill(valid_uscc(770001))
    page.get_by_label("所在区县").select_option("永川区")
    page.get_by_label("所属行业（国民经济行业分类）").fill("C34")
    page.get_by_label("从业人员（人）").fill("60")
    page.get_by_label("上年营业收入（万元）").fill("1800")
    page.get_by_label("成立日期").fill("2015-03-20")
    page.get_by_label("您的姓名").fill("周会计")
    page.get_by_label("手机号码").fill("139 8300 0002")
    page.get_by_label("登录邮箱").fill(EMAIL)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    page.wait_for_url(re.compile(r"/home$"))
    assert page.get_by_role("heading", level=1).inner_text() == COMPANY

    page.get_by_role("button", name=re.compile("周会计")).click()  # the user menu (Bootstrap JS)
    page.get_by_test_id("logout").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert "您已退出登录" in page.locator(".alert").inner_text()
    page.goto("/home")
    page.wait_for_url(re.compile(r"/login\?next="))  # the session really ended

    page.get_by_label("邮箱", exact=True).fill(EMAIL)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))
    assert page.get_by_role("heading", level=1).inner_text() == COMPANY
    assert "企业工作台" in page.title()
    page.screenshot(path=str(artifacts / "register.png"), full_page=True)
    assert page.console_errors == []  # a CSP violation would show here
