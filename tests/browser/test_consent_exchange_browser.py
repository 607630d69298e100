"""Issue 17, findings 5 and 6 in a browser, two people each.

Finding 5: an organizer imports a needs spreadsheet whose row says 同意向金融机构展示 = 是;
without a 同意依据 the row is refused beside the column, with one it imports; the firm's user
logs in, is told, sees on the need page who recorded the consent and on what basis, and
withdraws it in one tap.

Finding 6: an administrator exports the platform (a funded 首贷 among its needs) through the
upload page, and another platform's administrator imports that file through its upload page:
the funded 首贷 imports, created funded. A damaged copy of the file shows its errors in
Chinese (record, field's Chinese name, reason) beside the upload.
Screenshots: test-artifacts/consent-*.png, exchange-*.png."""
import json
import threading
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import flask_migrate
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.serving import make_server

from matchmaker.accounts.service import create_user
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.enterprises.spreadsheet import COLUMNS, SHEET
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from matchmaker.leads.models import Consent
from tests.browser.test_loop_browser import log_in
from tests.browser.test_pages_browser import axe_violations
from tests.conftest import make_test_app
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
ORGANIZER_EMAIL = "consent-organizer@example.com"
FIRM_EMAIL = "consent-cfo@example.com"
ADMIN_EMAIL = "exchange-admin@example.com"
BASIS = "永川区经信委收存企业授权书 YC-2026-017"
FIRM_NAME = "重庆双桥精工机械有限公司"
FIRM_USCC = valid_uscc(990917)


def _product(bank, ref, **fields):
    product = Product(ref=ref, institution_id=bank.id, name=f"{bank.name}流动资金贷",
                      status="published", version=1, amount_min_wan=Decimal(50),
                      amount_max_wan=Decimal(1000), term_min_months=6, term_max_months=36,
                      rate_min=Decimal("3.2"), rate_max=Decimal("4.6"), **fields)
    product.purposes = ["working_capital"]
    product.guarantee_modes = ["credit"]
    db.session.add(product)
    return product


@pytest.fixture(scope="module")
def platform(live_server, tmp_path_factory):
    app = live_server.app
    for key in ("SPREADSHEET_UPLOAD_DIR", "EXCHANGE_UPLOAD_DIR", "JOB_FILES_DIR"):
        app.config[key] = str(tmp_path_factory.mktemp(key.lower()))
    with app.app_context():
        bank = Institution(ref="B-CONSENT", name="重庆永川农商银行", kind="bank")
        db.session.add(bank)
        db.session.flush()
        _product(bank, "P-CONSENT")
        firm = Enterprise(ref="E-CONSENT", name=FIRM_NAME, uscc=FIRM_USCC, district="永川区",
                          industry="C3484", employees=90, revenue_wan=Decimal(5200),
                          founded=date(2014, 3, 1), has_bank_loan=True,
                          contact_name="蒋会计", contact_phone="13983000031")
        # a 首贷 funded on the platform: the firm now holds a bank loan, the need its day
        funded_firm = Enterprise(ref="E-FUNDED", name="重庆首贷精密模具有限公司",
                                 uscc=valid_uscc(990918), district="永川区", industry="C3525",
                                 employees=40, revenue_wan=Decimal(1800),
                                 founded=date(2019, 6, 1), has_bank_loan=True)
        db.session.add_all([firm, funded_firm])
        db.session.flush()
        funded = Need(ref="N-FUNDED-FIRST", enterprise_id=funded_firm.id,
                      purpose="working_capital", loan_kind="first_loan",
                      amount_wan=Decimal(200), term_months=12, created=date(2026, 11, 2),
                      status="funded", funded_on=date(2026, 11, 20))
        funded.guarantee_modes = ["credit"]
        db.session.add(funded)
        create_user(email=ORGANIZER_EMAIL, name="刘科长", password=PASSWORD, role="organizer",
                    district="永川区", organization="永川区经济和信息化委员会")
        create_user(email=FIRM_EMAIL, name="蒋会计", password=PASSWORD, role="enterprise",
                    enterprise_id=firm.id, is_enterprise_admin=True)
        create_user(email=ADMIN_EMAIL, name="平台运维", password=PASSWORD, role="admin")
        db.session.commit()
    return {"bank": "重庆永川农商银行"}


def _fill_template(path, rows):
    """The downloaded template with these rows (column key -> cell text) from row 2."""
    wb = load_workbook(path)
    ws = wb[SHEET]
    keys = {c.header: c.key for c in COLUMNS}
    for offset, values in enumerate(rows):
        for index, cell in enumerate(ws[1], start=1):
            key = keys.get(cell.value)
            if key in values:
                ws.cell(row=2 + offset, column=index, value=values[key])
    wb.save(path)


def _row(**cells):
    values = {"name": FIRM_NAME, "uscc": FIRM_USCC, "district": "永川区",
              "industry": "C3484", "employees": 90, "revenue_wan": 5200,
              "founded": "2014-03-01", "purpose": "流动资金", "amount_wan": 200,
              "term_months": 12, "gm_credit": "是", "consent_to_share": "是"}
    values.update(cells)
    return values


def _readable(page):
    """No sideways scrolling, no serious or critical axe-core violation (as the pages test)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []


def _upload_sheet(page, path):
    page.goto("/enterprises/import")
    page.get_by_label("Excel 文件（.xlsx，按平台模板填写）").set_input_files(str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()


def test_a_consent_recorded_on_the_firms_behalf_is_named_and_withdrawn(
        new_page, live_server, artifacts, platform, tmp_path):
    organizer, firm = new_page(), new_page(viewport=(390, 844), is_mobile=True, has_touch=True)
    for page in (organizer, firm):
        page.on("dialog", lambda dialog: dialog.accept())
    log_in(organizer, ORGANIZER_EMAIL)

    # the organizer fills the platform's template: 同意 = 是 but no basis is refused beside it
    organizer.goto("/enterprises/import")
    with organizer.expect_download() as download:
        organizer.get_by_test_id("template-link").click()
    sheet = tmp_path / "needs.xlsx"
    download.value.save_as(sheet)
    _fill_template(sheet, [_row()])
    _upload_sheet(organizer, sheet)
    errors = organizer.get_by_test_id("row-errors").inner_text()
    assert "第2行「同意依据」：代企业登记授权须注明依据（如企业签署的书面授权书编号）" in errors
    assert organizer.get_by_test_id("commit").is_disabled()
    _readable(organizer)
    organizer.screenshot(path=str(artifacts / "consent-sheet-no-basis.png"), full_page=True)

    _fill_template(sheet, [_row(consent_basis=BASIS)])
    _upload_sheet(organizer, sheet)
    assert BASIS in organizer.get_by_test_id("row-consent-2").inner_text()
    assert "以您的名义代企业登记授权" in organizer.get_by_test_id("import-consents").inner_text()
    _readable(organizer)
    organizer.screenshot(path=str(artifacts / "consent-sheet-preview.png"), full_page=True)
    with organizer.expect_navigation():
        organizer.get_by_test_id("commit").click()
    assert "发布需求 1 条" in organizer.content()

    with live_server.app.app_context():
        need = db.session.scalar(select(Need).join(Enterprise).where(
            Enterprise.uscc == FIRM_USCC))
        need_id = need.id
        given = db.session.scalars(select(Consent).where(Consent.need_id == need_id)).all()
        assert [(c.basis, c.scope) for c in given] == [
            (BASIS, ["name", "district", "industry", "size", "contacts"])]

    # the firm is told, and its need page names who recorded the consent and on what basis
    log_in(firm, FIRM_EMAIL)
    firm.goto("/notifications/")
    assert "刘科长（永川区经济和信息化委员会）代贵企业登记了授权" in firm.content()
    firm.goto(f"/needs/{need_id}")
    box = firm.get_by_test_id("consent-on-behalf")
    text = box.inner_text()
    assert "刘科长（永川区经济和信息化委员会）" in text and BASIS in text
    assert "统一社会信用代码" not in text  # nothing optional went on its behalf
    box.scroll_into_view_if_needed()
    _readable(firm)
    firm.screenshot(path=str(artifacts / "consent-need-page.png"), full_page=True)
    with firm.expect_navigation():
        firm.get_by_test_id("withdraw-flag-consent").click()
    assert "已撤回授权：1家机构将不能再查看本需求" in firm.content()
    assert firm.get_by_test_id("consent-on-behalf").count() == 0
    assert firm.get_by_test_id("consent-revoked").count() == 1
    firm.screenshot(path=str(artifacts / "consent-withdrawn.png"), full_page=True)
    with live_server.app.app_context():
        assert db.session.scalar(select(Consent.revoke_reason).where(
            Consent.need_id == need_id)) == "withdrawn"
    assert not organizer.console_errors and not firm.console_errors


# --- finding 6 --------------------------------------------------------------------------------

@contextmanager
def _another_platform(tmp_path):
    """A second, empty platform on its own port and SQLite file, with one administrator."""
    app = make_test_app(DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}",
                        WTF_CSRF_ENABLED=True, SERVER_NAME=None, TESTING=False,
                        EXCHANGE_UPLOAD_DIR=str(tmp_path / "uploads"),
                        JOB_FILES_DIR=str(tmp_path / "job_files"))
    with app.app_context():
        flask_migrate.upgrade()
        create_user(email=ADMIN_EMAIL, name="另一平台管理员", password=PASSWORD, role="admin")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="other-platform", daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _upload(page, path):
    page.goto("/admin/exchange/")
    page.get_by_label("交换文件（matchmaker-exchange/1，JSON 格式，不超过 20 MB）").set_input_files(
        str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()


def test_an_export_imports_into_another_platform_and_a_bad_copy_says_why_in_chinese(
        browser, new_page, live_server, artifacts, platform, tmp_path):
    with live_server.app.app_context():  # a need shared with the banks: its basis is asked
        need = db.session.scalar(select(Need).where(Need.ref == "N-FUNDED-FIRST"))
        shared = Need(ref="N-SHARED", enterprise_id=need.enterprise_id,
                      purpose="working_capital", loan_kind="new", amount_wan=Decimal(80),
                      term_months=6, created=date(2026, 12, 1), status="published",
                      consent_to_share=True)
        shared.guarantee_modes = ["credit"]
        db.session.add(shared)
        db.session.commit()
    here = new_page()
    log_in(here, ADMIN_EMAIL)
    here.goto("/admin/exchange/")
    with here.expect_navigation():
        here.get_by_test_id("export-link").click()
    here.get_by_test_id("job-download").wait_for(state="visible")
    with here.expect_download() as download:
        here.get_by_test_id("job-download").click()
    exported = tmp_path / "export.json"
    download.value.save_as(exported)
    doc = json.loads(exported.read_text(encoding="utf-8"))
    [funded] = [n for n in doc["needs"] if n["ref"] == "N-FUNDED-FIRST"]
    assert funded["loan_kind"] == "first_loan" and funded["funded_on"] == "2026-11-20"

    with _another_platform(tmp_path) as (other_app, other_url):
        context = browser.new_context(viewport={"width": 1366, "height": 900},
                                      base_url=other_url, locale="zh-CN")
        there = context.new_page()
        there.on("dialog", lambda dialog: dialog.accept())
        try:
            log_in(there, ADMIN_EMAIL)
            _upload(there, exported)
            assert there.locator('[data-action="created"]', has_text="N-FUNDED-FIRST").count()
            assert "N-SHARED" in there.get_by_test_id("import-consents").inner_text()
            _readable(there)
            there.get_by_label("代企业登记授权的依据").fill("原平台登记的企业授权书（随导出文件移交）")
            there.screenshot(path=str(artifacts / "exchange-reimport-preview.png"),
                             full_page=True)
            with there.expect_navigation():
                there.get_by_test_id("confirm-import").click()
            progress = there.get_by_test_id("job-progress")
            assert "导入完成" in progress.inner_text()
            there.screenshot(path=str(artifacts / "exchange-reimported.png"), full_page=True)
            with other_app.app_context():
                copy = db.session.scalar(select(Need).where(Need.ref == "N-FUNDED-FIRST"))
                assert (copy.status, copy.loan_kind, copy.funded_on) == (
                    "funded", "first_loan", date(2026, 11, 20))
                assert db.session.scalar(select(Need.consent_basis).where(
                    Need.ref == "N-SHARED")) == "原平台登记的企业授权书（随导出文件移交）"

            # a damaged copy: a mistyped USCC, and the funded 首贷 sent again under a new ref
            # without its funded_on (under its own ref the platform keeps the funding it
            # recorded, so only a need it does not know can be refused as a 首贷)
            bad = json.loads(exported.read_text(encoding="utf-8"))
            firm = next(e for e in bad["enterprises"] if e["ref"] == "E-CONSENT")
            firm["uscc"] = firm["uscc"][:-1] + ("0" if firm["uscc"][-1] != "0" else "1")
            again = dict(next(n for n in bad["needs"] if n["ref"] == "N-FUNDED-FIRST"),
                         ref="N-FIRST-AGAIN")
            again.pop("funded_on")
            bad["needs"].append(again)
            damaged = tmp_path / "damaged.json"
            damaged.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
            _upload(there, damaged)
            errors = there.get_by_test_id("import-errors").inner_text()
            assert "未导入任何数据" in errors
            assert "企业 E-CONSENT「统一社会信用代码（uscc）」：统一社会信用代码校验位错误" in errors
            assert ("融资需求 N-FIRST-AGAIN「贷款类型（loan_kind）」：企业 E-FUNDED 已有银行贷款"
                    in errors)
            assert "check character" not in errors and "is not possible" not in errors
            assert there.get_by_test_id("confirm-import").count() == 0
            _readable(there)
            there.screenshot(path=str(artifacts / "exchange-bad-file.png"), full_page=True)
        finally:
            context.close()
    assert not here.console_errors
