"""Spreadsheet collection: the template's drop-downs, upload → preview with each row's errors,
merge or create for look-alike companies, all-or-nothing commit, and every rejected file."""
import html as html_lib
import io
import logging
import re
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from matchmaker.audit.models import AuditEntry
from matchmaker.clock import china_today
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.enterprises.spreadsheet import CODE_SHEET, COLUMNS, HELP_SHEET, SHEET
from tests.factories import EnterpriseFactory, InstitutionFactory, valid_uscc
from tests.helpers import assert_audited

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def row(n, **overrides):
    """A good row: a small Yongchuan manufacturer asking for working capital."""
    values = {"name": f"重庆导入测试{n}号机械有限公司", "uscc": valid_uscc(500000 + n),
              "district": "永川区", "industry": "C34 通用设备制造业", "cluster": "智能装备及智能制造（五千亿级）",
              "employees": 80, "revenue_wan": 3200, "founded": "2015-03-01", "has_bank_loan": "是",
              "tax_credit_grade": "A级", "tag1": "专精特新中小企业", "contact_name": "刘会计",
              "contact_phone": "023-49000000", "purpose": "流动资金", "loan_kind": "新增贷款",
              "amount_wan": 200, "term_months": 12, "gm_credit": "是", "consent_to_share": "是",
              "consent_basis": f"企业授权书 YC-2026-{n:03d}"}
    values.update(overrides)
    return values


def workbook(rows, *, sheet=SHEET, columns=None, formula=None):
    """An .xlsx with the template's headers (or `columns`) and these rows."""
    columns = columns or [c.header for c in COLUMNS]
    keys = {c.header: c.key for c in COLUMNS}
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(columns)
    for values in rows:
        ws.append([values.get(keys.get(h)) for h in columns])
    if formula:
        ws[formula] = "=1+1"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, data, filename="企业需求.xlsx"):
    return client.post("/enterprises/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def payload_of(response) -> str:
    match = re.search(r'name="payload" type="hidden" value="([^"]+)"',
                      response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:3000]
    return html_lib.unescape(match.group(1))


def commit(client, response, **choices):
    data = {"payload": payload_of(response)}
    data.update({f"choice_{k.removeprefix('row')}": v for k, v in choices.items()})
    return client.post("/enterprises/import/commit", data=data)


def counts(db):
    return (db.session.scalar(select(func.count(Enterprise.id))),
            db.session.scalar(select(func.count(Need.id))),
            db.session.scalar(select(func.count(AuditEntry.id))))


@pytest.fixture(autouse=True)
def stash_dir(app, tmp_path):
    """Uploads wait for their commit here, not under the repository's instance/."""
    app.config["SPREADSHEET_UPLOAD_DIR"] = str(tmp_path)
    yield tmp_path
    app.config.pop("SPREADSHEET_UPLOAD_DIR")


@pytest.fixture
def organizer(client_as, db):
    client = client_as("organizer")
    db.session.commit()  # commit views roll back on refusal: keep the organizer
    return client


# --- the template ------------------------------------------------------------------------------

def test_template_has_a_drop_down_for_every_code_column(organizer):
    InstitutionFactory(name="重庆银行")
    response = organizer.get("/enterprises/import/template.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == [SHEET, CODE_SHEET, HELP_SHEET]
    ws = wb[SHEET]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    lists = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1
             for dv in ws.data_validations.dataValidation if dv.type == "list"}
    for index, column in enumerate(COLUMNS, start=1):
        if column.kind in ("code", "bool", "industry", "lender"):
            letter = ws.cell(row=1, column=index).column_letter
            assert letter in lists, column.header
    code_values = {c.value for col in wb[CODE_SHEET].iter_cols() for c in col}
    for expected in ("永川区", "流动资金", "首贷（从未获得银行贷款）", "是", "否",
                     "专精特新中小企业", "C36 汽车制造业", "智能装备及智能制造（五千亿级）", "重庆银行"):
        assert expected in code_values


def test_district_organizer_template_lists_only_their_district(client_as, db):
    client = client_as("organizer", district="璧山区")
    wb = load_workbook(io.BytesIO(client.get("/enterprises/import/template.xlsx").data))
    codes = wb[CODE_SHEET]
    districts = next(col for col in codes.iter_cols() if col[0].value == "所在区县")
    assert [c.value for c in districts[1:] if c.value] == ["璧山区"]


def test_filled_template_imports(db, organizer):
    wb = load_workbook(io.BytesIO(organizer.get("/enterprises/import/template.xlsx").data))
    ws = wb[SHEET]
    keys = {c.header: c.key for c in COLUMNS}
    values = row(1)
    for index, cell in enumerate(ws[1], start=1):
        ws.cell(row=2, column=index, value=values.get(keys[cell.value]))
    out = io.BytesIO()
    wb.save(out)
    preview = upload(organizer, out.getvalue())
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    assert commit(organizer, preview).status_code == 302
    assert db.session.scalar(select(Enterprise).where(Enterprise.name == values["name"]))


# --- good rows ---------------------------------------------------------------------------------

def test_good_rows_preview_then_commit(db, organizer):
    lender = InstitutionFactory(name="重庆农村商业银行")
    due = (china_today() + timedelta(days=60)).isoformat()
    rows = [row(1), row(2, purpose=None, loan_kind=None, amount_wan=None, term_months=None,
                        gm_credit=None, consent_to_share=None, consent_basis=None),
            row(3, loan_kind="续贷（现有贷款到期接续）", current_lender="重庆农村商业银行",
                renewal_due=due, gm_credit=None, gm_mortgage="是", district="永川",
                industry="C3670", tag2="高新技术企业")]
    before = counts(db)
    preview = upload(organizer, workbook(rows))
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "新建企业 3 家" in text and "将发布需求 2 条" in text and "仅登记企业" in text
    assert counts(db) == before  # a preview writes nothing
    response = commit(organizer, preview)
    assert response.status_code == 302
    first = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(500001)))
    assert first.district == "永川区" and first.industry == "C34" and first.tags == ["specialized_sme"]
    assert first.cluster == "intelligent_equipment" and first.tax_credit_grade == "A"
    need = db.session.scalar(select(Need).where(Need.enterprise_id == first.id))
    assert need.status == "published" and need.guarantee_modes == ["credit"]
    assert re.fullmatch(r"N-\d{8}-\d{4}", need.ref) and need.consent_to_share
    assert_audited("need.created", need, via="spreadsheet")
    assert_audited("enterprise.created", first, via="spreadsheet")
    third = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(500003)))
    renewal = db.session.scalar(select(Need).where(Need.enterprise_id == third.id))
    assert renewal.loan_kind == "renewal" and renewal.current_lender_id == lender.id
    assert third.tags == ["specialized_sme", "high_tech"] and third.industry == "C3670"
    assert counts(db)[:2] == (before[0] + 3, before[1] + 2)


def test_loan_kind_defaults_from_has_bank_loan(db, organizer):
    preview = upload(organizer, workbook([row(1, has_bank_loan="否", loan_kind=None)]))
    commit(organizer, preview)
    assert db.session.scalar(select(Need.loan_kind)) == "first_loan"


# --- bad rows ----------------------------------------------------------------------------------

def test_bad_rows_listed_with_row_and_column_and_nothing_written(db, organizer):
    rows = [row(1),
            row(2, uscc="91500000MA0000000X"),
            row(3, district="成都市", amount_wan=0),
            row(4, term_months=400, gm_credit=None),
            row(5, purpose="炒股", employees="很多"),
            row(6, loan_kind="首贷（从未获得银行贷款）"),
            row(7, loan_kind="续贷（现有贷款到期接续）"),
            row(8, name=None, founded="去年")]
    before = counts(db)
    response = upload(organizer, workbook(rows))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for expected in ("第3行「统一社会信用代码」：统一社会信用代码校验位错误",
                     "第4行「所在区县」：“成都市”不是重庆市的区县",
                     "第4行「融资金额（万元）」：融资金额必须大于0",
                     "第5行「期限（月）」：期限不能超过360个月（30年）",
                     "第5行「担保方式：信用」：请至少选择一种可提供的担保方式",
                     "第6行「融资用途」：“炒股”不在可选列表中",
                     "第6行「从业人员（人）」：应为整数",
                     "第7行「贷款类型」：企业信息中登记为已有银行贷款，不能选择“首贷”",
                     "第8行「现贷款机构」：续贷请选择现贷款机构",
                     "第8行「现贷款到期日」：续贷请填写现贷款到期日",
                     "第9行「企业名称」：必填", "第9行「成立日期」：日期格式应为 YYYY-MM-DD"):
        assert expected in text, expected
    assert "第2行" not in text  # the good row has no error
    assert re.search(r'<button[^>]*disabled[^>]*data-testid="commit"', text)
    response = commit(organizer, upload(organizer, workbook(rows)))
    assert response.status_code == 400
    assert "没有写入任何数据" in response.get_data(as_text=True)
    assert counts(db) == before


def test_formula_cell_is_a_row_error(db, organizer):
    amount = get_column_letter([c.key for c in COLUMNS].index("amount_wan") + 1)
    data = workbook([row(1)], formula=f"{amount}2")  # 融资金额 of the first data row
    response = upload(organizer, data)
    text = response.get_data(as_text=True)
    assert "第2行「融资金额（万元）」：含公式" in text
    before = counts(db)
    assert commit(organizer, response).status_code == 400
    assert counts(db) == before


def test_value_starting_with_equals_is_a_formula(db, organizer):
    wb = load_workbook(io.BytesIO(workbook([row(1)])))
    cell = wb[SHEET]["A2"]
    cell.value = '=HYPERLINK("x")'
    cell.data_type = "s"  # stored as text, still a formula to whoever opens it in Excel
    out = io.BytesIO()
    wb.save(out)
    assert "第2行「企业名称」：含公式" in upload(organizer, out.getvalue()).get_data(as_text=True)


# --- files rejected as a whole ----------------------------------------------------------------------

@pytest.mark.parametrize("data,filename,message", [
    (workbook([row(1)], sheet="Sheet1"), "x.xlsx", "找不到名为“融资需求”的工作表（文件中的工作表：Sheet1）"),
    (workbook([row(1)], columns=[c.header for c in COLUMNS if c.key != "uscc"]), "x.xlsx",
     "缺少列：统一社会信用代码"),
    (workbook([row(1)], columns=[c.header for c in COLUMNS] + ["备注"]), "x.xlsx",
     "无法识别的列：备注"),
    (workbook([]), "x.xlsx", "没有数据"),
    ("企业名称,统一社会信用代码\n".encode(), "x.csv", "文件不是 Excel（.xlsx）文件"),
    (b"not a zip at all", "x.xlsx", "文件不是 Excel（.xlsx）文件"),
    (b"PK\x03\x04broken", "x.xlsx", "文件不是 Excel（.xlsx）文件"),
    (b"\xd0\xcf\x11\xe0 old excel", "x.xls", "不支持旧版 .xls 格式"),
], ids=["wrong-sheet", "missing-column", "unknown-column", "empty", "csv", "not-zip",
        "broken-zip", "xls"])
def test_rejected_files(db, organizer, data, filename, message):
    before = counts(db)
    response = upload(organizer, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts(db) == before


def test_file_over_the_spreadsheet_limit(db, organizer):
    big = b"PK\x03\x04" + b"\0" * (5 * 1024 * 1024 + 10)
    response = upload(organizer, big)
    assert response.status_code == 400
    assert "文件过大（5.0 MB）：上传的 Excel 文件不能超过 5.0 MB" in response.get_data(as_text=True)


def test_limit_is_configurable(app, db, organizer):
    app.config["SPREADSHEET_MAX_BYTES"] = 1024
    try:
        response = upload(organizer, workbook([row(1)]))
    finally:
        del app.config["SPREADSHEET_MAX_BYTES"]
    assert "不能超过 1 KB" in response.get_data(as_text=True)


def test_fifty_megabyte_file_gets_a_clear_chinese_message(db, organizer):
    response = upload(organizer, b"\0" * (50 * 1024 * 1024))
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "文件过大（50.0 MB）：上传的 Excel 文件不能超过 5.0 MB" in text
    assert "下载 Excel 模板" in text  # the upload page again, not a bare error page


def test_fifty_megabyte_file_with_csrf_on(app, db, organizer):
    """CSRF protection reads the form before any view: the 413 still lands on the import page."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = upload(organizer, b"\0" * (50 * 1024 * 1024))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 413
    assert "上传的 Excel 文件不能超过 5.0 MB" in response.get_data(as_text=True)


# --- duplicates --------------------------------------------------------------------------------------

def test_same_uscc_updates_existing_without_erasing(db, organizer):
    existing = EnterpriseFactory(uscc=valid_uscc(500001), name="重庆导入测试1号机械有限公司",
                                 contact_phone="13900000000", employees=50)
    response = upload(organizer, workbook([row(1, contact_phone=None, employees=90)]))
    text = response.get_data(as_text=True)
    assert "更新已有企业" in text and "统一社会信用代码与“重庆导入测试1号机械有限公司”相同" in text
    assert commit(organizer, response).status_code == 302
    assert existing.employees == 90 and existing.contact_phone == "13900000000"
    assert db.session.scalar(select(func.count(Enterprise.id))) == 1
    entry = assert_audited("enterprise.updated", existing, via="spreadsheet")
    assert entry.details["changes"]["employees"] == ["50人", "90人"]


def test_same_uscc_under_another_name_is_flagged_with_both_names(db, organizer):
    EnterpriseFactory(uscc=valid_uscc(500001), name="重庆抢注贸易有限公司", district="永川区")
    EnterpriseFactory(uscc=valid_uscc(500002), name="导入测试2号机械公司", district="永川区")
    db.session.commit()
    html = upload(organizer, workbook([row(1), row(2)])).get_data(as_text=True)
    assert html.count('data-testid="name-differs"') == 1  # 2号: the same company, tolerantly
    assert "平台登记为“重庆抢注贸易有限公司”，文件中为“重庆导入测试1号机械有限公司”" in html


def test_similar_name_needs_a_choice_then_merges(db, organizer):
    existing = EnterpriseFactory(name="重庆市导入测试1号机械有限公司", uscc=valid_uscc(777))
    db.session.commit()  # the refused commit rolls back
    response = upload(organizer, workbook([row(1, name="重庆导入测试1号机械有限责任公司")]))
    text = response.get_data(as_text=True)
    assert "名称与已有企业相近" in text and f'value="merge:{existing.id}"' in text
    before = counts(db)
    refused = commit(organizer, response)
    assert refused.status_code == 400 and counts(db) == before
    assert "请选择" in refused.get_data(as_text=True)
    done = commit(organizer, response, row2=f"merge:{existing.id}")
    assert done.status_code == 302
    need = db.session.scalar(select(Need))
    assert need.enterprise_id == existing.id
    assert existing.name == "重庆市导入测试1号机械有限公司" and existing.uscc == valid_uscc(777)


def test_similar_name_can_be_created_as_another_company(db, organizer):
    EnterpriseFactory(name="重庆导入测试1号机械有限公司", uscc=valid_uscc(777))
    response = upload(organizer, workbook([row(1, name="重庆导入测试1号机械制造有限公司")]))
    assert commit(organizer, response, row2="create").status_code == 302
    assert db.session.scalar(select(func.count(Enterprise.id))) == 2


def test_different_names_are_not_flagged(db, organizer):
    EnterpriseFactory(name="重庆长江轴承股份有限公司")
    text = upload(organizer, workbook([row(1)])).get_data(as_text=True)
    assert "名称与已有企业相近" not in text


def test_same_company_twice_in_file(db, organizer):
    rows = [row(1), row(1, purpose="技术改造与设备更新", amount_wan=500, term_months=36,
                        description="购置数控机床五台，总投资600万元")]
    response = upload(organizer, workbook(rows))
    assert "与第2行为同一企业" in response.get_data(as_text=True)
    assert commit(organizer, response).status_code == 302
    assert counts(db)[:2] == (1, 2)


def test_same_uscc_twice_with_different_data_is_an_error(db, organizer):
    rows = [row(1), row(1, employees=999)]
    text = upload(organizer, workbook(rows)).get_data(as_text=True)
    assert "第3行：与第2行统一社会信用代码相同，但企业信息不一致（从业人员（人））" in text


# --- district organizers -------------------------------------------------------------------------------

def test_district_organizer_imports_only_their_district(db, client_as):
    client = client_as("organizer", district="永川区")
    EnterpriseFactory(uscc=valid_uscc(500002), district="璧山区")
    db.session.commit()
    text = upload(client, workbook([row(1, district="璧山区"), row(2)])).get_data(as_text=True)
    assert "第2行「所在区县」：您只能导入本区县（永川区）的企业" in text
    assert "第3行「统一社会信用代码」：该企业已在平台登记于其他区县" in text


# --- the signed preview -----------------------------------------------------------------------------

def test_tampered_or_foreign_payload_is_refused(db, organizer, client_as):
    response = upload(organizer, workbook([row(1)]))
    payload = payload_of(response)
    tampered = organizer.post("/enterprises/import/commit", data={"payload": payload[:-3] + "abc"})
    assert tampered.status_code == 400 and "预览数据无效" in tampered.get_data(as_text=True)
    other = client_as("organizer")
    db.session.commit()
    foreign = other.post("/enterprises/import/commit", data={"payload": payload})
    assert foreign.status_code == 400
    assert db.session.scalar(select(func.count(Enterprise.id))) == 0


def test_commit_removes_the_waiting_rows_and_cannot_run_twice(db, organizer, stash_dir):
    response = upload(organizer, workbook([row(1)]))
    assert len(list(stash_dir.glob("*.json"))) == 1
    assert commit(organizer, response).status_code == 302
    assert list(stash_dir.glob("*.json")) == []
    again = commit(organizer, response)
    assert again.status_code == 400 and "已提交" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Need.id))) == 1


def test_stale_previews_are_swept(db, organizer, stash_dir):
    import os
    import time

    old = stash_dir / ("0" * 32 + ".json")
    old.write_text("{}")
    os.utime(old, (time.time() - 3 * 3600, time.time() - 3 * 3600))
    upload(organizer, workbook([row(1)]))
    assert not old.exists()


def test_logs_carry_no_names_or_uscc(db, organizer, caplog):
    caplog.set_level(logging.INFO)
    response = upload(organizer, workbook([row(1)]))
    commit(organizer, response)
    assert valid_uscc(500001) not in caplog.text
    assert "重庆导入测试1号" not in caplog.text


# --- every trade, and 资产总额 where the sector's size rule reads it (issue 14) ----------------

def test_any_trade_imports_and_a_builder_needs_its_assets(db, organizer):
    rows = [row(1, industry="I6513 应用软件开发", cluster=None, name="重庆导入测试软件有限公司"),
            row(2, industry="E4790", name="重庆导入测试建筑有限公司"),
            row(3, industry="6513", name="重庆导入测试信息有限公司"),
            row(4, industry="C3699")]
    text = upload(organizer, workbook(rows)).get_data(as_text=True)
    assert "第3行「资产总额（万元）」：建筑业按资产总额划分企业规模，请填写资产总额（万元）" in text
    assert "第5行「行业代码」：行业代码无效" in text
    assert "第2行" not in text and "第4行" not in text
    rows[1]["assets_wan"] = 5000
    preview = upload(organizer, workbook(rows[:3]))
    assert commit(organizer, preview).status_code == 302
    soft = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(500001)))
    build = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(500002)))
    third = db.session.scalar(select(Enterprise).where(Enterprise.uscc == valid_uscc(500003)))
    assert soft.industry == "I6513" and third.industry == "I6513"
    assert build.industry == "E4790" and build.assets_wan == 5000


def test_template_lists_every_class_of_every_section(organizer):
    wb = load_workbook(io.BytesIO(organizer.get("/enterprises/import/template.xlsx").data))
    code_values = {c.value for col in wb[CODE_SHEET].iter_cols() for c in col}
    for expected in ("C3670 汽车零部件及配件制造", "I6513 应用软件开发", "E4790 其他房屋建筑业"):
        assert expected in code_values
    headers = [c.value for c in wb[SHEET][1]]
    assert "资产总额（万元）" in headers


def test_ownership_column_imports_and_an_older_template_without_it_still_does(db, organizer):
    # 控股类型 (the bridge fund's 大型民营 branch reads it): by label or code, blank = unknown
    rows = [row(1, ownership="民营（私人控股）"), row(2, ownership="state"), row(3)]
    preview = upload(organizer, workbook(rows))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    assert commit(organizer, preview).status_code == 302
    owners = dict(db.session.execute(select(Enterprise.name, Enterprise.ownership)).all())
    assert [owners[row(n)["name"]] for n in (1, 2, 3)] == ["private", "state", None]
    bad = upload(organizer, workbook([row(4, ownership="个体")]))
    assert "“个体”不在可选列表中" in html_lib.unescape(bad.get_data(as_text=True))
    older = [c.header for c in COLUMNS if c.key != "ownership"]
    preview = upload(organizer, workbook([row(5)], columns=older))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]


def test_an_updated_firm_has_its_open_needs_matched_again(db, organizer):
    # a 双百 large firm, imported without ownership: the bridge is matched to be verified;
    # the sheet states 国有控股, and its open need is matched again without the bridge
    from matchmaker.matching import queries
    from matchmaker.matching import service as matching
    from tests.test_policy_programmes import LARGE, _bridge_market, _bridge_need, _verified

    _bridge_market()
    firm = EnterpriseFactory(uscc=valid_uscc(500001), **LARGE)
    _verified(firm, "double_hundred")
    need = _bridge_need(firm)
    matching.refresh_need(need)
    assert sorted(m.product.ref for m in queries.matches_for_need(need)) == ["P-BRIDGE",
                                                                               "P-LOAN"]
    db.session.commit()
    sheet = row(1, name=firm.name, industry="C3670", employees=1500, revenue_wan=60000,
                founded=firm.founded.isoformat(), tag1="“双百”企业", ownership="国有控股",
                purpose=None, loan_kind=None, amount_wan=None, term_months=None,
                gm_credit=None, consent_to_share=None, consent_basis=None)
    preview = upload(organizer, workbook([sheet]))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    response = commit(organizer, preview)
    assert response.status_code == 302, re.findall(r"第\d+行[^<]*", html_lib.unescape(
        response.get_data(as_text=True)))
    assert firm.ownership == "state"
    assert [m.product.ref for m in queries.matches_for_need(need)] == ["P-LOAN"]
