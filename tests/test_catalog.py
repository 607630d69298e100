"""The public 金融超市: filters, sorts, tolerant search, product page with the worked cost
example, and the organizers' Excel 产品手册."""
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from matchmaker.catalog import service as catalog
from matchmaker.clock import china_today
from matchmaker.policy.models import Setting, SubsidyProgram
from tests.conftest import ROLES
from tests.factories import InstitutionFactory, ProductFactory
from tests.helpers import assert_audited


def names(response) -> list[str]:
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    return [chunk.split('<div class="fw-semibold">')[1].split("</div>")[0]
            for chunk in html.split('data-testid="product"')[1:]]


@pytest.fixture
def shelf(db):
    """A small, varied catalogue."""
    bank = InstitutionFactory(name="重庆农村商业银行", kind="bank", districts=[])
    local = InstitutionFactory(name="永川区某村镇银行", kind="bank", districts=["永川区"])
    guarantor = InstitutionFactory(name="重庆三峡融资担保集团", kind="guarantee", districts=[])
    base = datetime(2026, 1, 1, tzinfo=UTC)
    made = [
        ProductFactory(institution=bank, name="知识产权质押贷", purposes=["rnd"],
                       guarantee_modes=["pledge"], rate_min=Decimal("3.6"), rate_max=Decimal("4.6"),
                       amount_max_wan=Decimal(3000), published_at=base),
        ProductFactory(institution=bank, name="技改专项贷", purposes=["tech_upgrade"],
                       guarantee_modes=["credit", "mortgage"], rate_min=Decimal("3.1"),
                       term_max_months=60, tags_any=["specialized_sme"],
                       published_at=base + timedelta(days=1)),
        ProductFactory(institution=local, name="首贷通", loan_kinds=["first_loan"],
                       rate_min=Decimal("3.9"), amount_max_wan=Decimal(300),
                       published_at=base + timedelta(days=2)),
        ProductFactory(institution=guarantor, name="技改担保贷", purposes=["tech_upgrade"],
                       guarantee_modes=["guarantee"], rate_min=Decimal("3.3"),
                       districts=["璧山区"], published_at=base + timedelta(days=3)),
        ProductFactory(institution=bank, name="流动资金贷（暂停）", status="paused"),
        ProductFactory(institution=bank, name="草稿产品", status="draft", version=0),
    ]
    return made


@pytest.mark.parametrize("query, expected", [
    ("", {"知识产权质押贷", "技改专项贷", "首贷通", "技改担保贷"}),
    ("purpose=tech_upgrade", {"技改专项贷", "技改担保贷"}),
    ("guarantee_mode=credit", {"技改专项贷", "首贷通"}),
    ("institution_kind=guarantee", {"技改担保贷"}),
    ("loan_kind=first_loan", {"知识产权质押贷", "技改专项贷", "首贷通", "技改担保贷"}),
    ("loan_kind=renewal", {"知识产权质押贷", "技改专项贷", "技改担保贷"}),
    ("district=永川区", {"知识产权质押贷", "技改专项贷", "首贷通"}),   # 技改担保贷: 璧山区 only
    ("district=璧山", {"知识产权质押贷", "技改专项贷", "技改担保贷"}),   # short form accepted
    ("amount=2000", {"知识产权质押贷"}),
    ("amount=500&term=48", {"技改专项贷"}),
    ("tag=specialized_sme", {"技改专项贷"}),
    ("purpose=tech_upgrade&guarantee_mode=guarantee", {"技改担保贷"}),
])
def test_filters(client, shelf, query, expected):
    assert set(names(client.get(f"/catalog/?{query}"))) == expected


@pytest.mark.parametrize("query, message", [
    ("purpose=space", "无效的融资用途"), ("amount=abc", "金额应为大于0的数字"),
    ("amount=-5", "金额应为大于0的数字"), ("term=0", "期限应为大于0的整数"),
    ("district=成都", "无效的区县"), ("amount=NaN", "金额应为大于0的数字"),
])
def test_bad_filter_values_are_explained_and_ignored(client, shelf, query, message):
    response = client.get(f"/catalog/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<div class="invalid-feedback">{message}' in html
    assert len(names(response)) == 4


@pytest.mark.parametrize("sort, order", [
    ("rate_asc", ["技改专项贷", "技改担保贷", "知识产权质押贷", "首贷通"]),
    ("newest", ["技改担保贷", "首贷通", "技改专项贷", "知识产权质押贷"]),
    ("amount_desc", ["知识产权质押贷", "技改专项贷", "技改担保贷", "首贷通"]),
])
def test_sorts(client, shelf, sort, order):
    assert names(client.get(f"/catalog/?sort={sort}")) == order


@pytest.mark.parametrize("q, found", [
    ("知识产权质押贷", "知识产权质押贷"),      # exact
    ("知识产权", "知识产权质押贷"),            # part of the name
    ("知识产权质压贷", "知识产权质押贷"),      # a wrong character (homophone typed in pinyin)
    ("知识产全质押贷", "知识产权质押贷"),      # a wrong character
    ("知识产权抵押贷", "知识产权质押贷"),      # a wrong word
    ("zscq", "知识产权质押贷"),               # pinyin initials
    ("ZSCQZYD", "知识产权质押贷"),            # all initials, upper case
    ("zhishichanquan", "知识产权质押贷"),      # full pinyin
    ("zhishichanqun", "知识产权质押贷"),       # full pinyin with a typo
    ("jgzxd", "技改专项贷"),
    ("农村商业银行", "知识产权质押贷"),         # the institution's name
])
def test_search_finds_by_name_typo_and_pinyin(client, shelf, q, found):
    assert found in names(client.get(f"/catalog/?q={q}"))


@pytest.mark.parametrize("q, absent", [
    ("流动资金", "知识产权质押贷"), ("zscq", "技改专项贷"), ("汽车", "知识产权质押贷"),
    ("zz", "知识产权质押贷"),
])
def test_search_does_not_match_unrelated_names(client, shelf, q, absent):
    assert absent not in names(client.get(f"/catalog/?q={q}"))


def test_search_ranks_closer_names_first_and_keeps_filters(client, shelf):
    assert names(client.get("/catalog/?q=技改"))[:2] == ["技改专项贷", "技改担保贷"]
    assert names(client.get("/catalog/?q=jg&institution_kind=guarantee")) == ["技改担保贷"]


def test_search_never_shows_unpublished_products(client, shelf):
    assert names(client.get("/catalog/?q=草稿产品")) == []
    assert names(client.get("/catalog/?q=流动资金贷")) == []


def test_empty_result_says_what_to_do(client, shelf):
    html = client.get("/catalog/?q=完全不存在的东西").get_data(as_text=True)
    assert 'data-testid="empty-state"' in html and "拼音首字母" in html


def test_pagination_with_and_without_search(client, db):
    bank = InstitutionFactory()
    for n in range(25):
        ProductFactory(institution=bank, name=f"设备更新贷{n:02d}号")
    assert len(names(client.get("/catalog/"))) == 20
    assert len(names(client.get("/catalog/?page=2"))) == 5
    assert len(names(client.get("/catalog/?q=sbgxd&page=2"))) == 5
    html = client.get("/catalog/?q=sbgxd").get_data(as_text=True)
    assert "q=sbgxd" in html.split('aria-label="分页"')[1]  # page links keep the search
    assert names(client.get("/catalog/?page=9")) == []


def test_name_score_unit_cases():
    assert catalog.name_score("zscq", "知识产权质押贷") >= 95
    assert catalog.name_score("知识产权质压贷", "知识产权质押贷") >= catalog.FUZZY_CUTOFF
    assert catalog.name_score("信用贷", "知识产权质押贷") < catalog.FUZZY_CUTOFF
    assert catalog.name_score("", "知识产权质押贷") == 0
    assert catalog.name_keys("E融贷-科技版").initials == "erdkjb"


# --- product page ------------------------------------------------------------------------------

def test_product_page_states_conditions_in_plain_chinese(client, db):
    bank = InstitutionFactory(name="重庆银行", districts=["永川区"])
    product = ProductFactory(institution=bank, name="专精特新贷", tags_any=["specialized_sme"],
                             sizes=["small"], min_years=Decimal(2), loan_kinds=["first_loan"],
                             tax_credit_grades=["A", "B"], industries=["C36"])
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    for text in ("10万元至1000万元", "6至36个月", "3.2%至4.5%", "须具备以下资质之一：专精特新中小企业",
                 "小型企业", "成立满2年", "纳税信用等级为A级或B级", "C36 汽车制造业",
                 "适用于首贷（从未获得银行贷款）", "重庆银行", "服务区域：永川区"):
        assert text in html, text


def test_worked_example_applies_tech_upgrade_interest(client, db):
    product = ProductFactory(name="技改专项贷", purposes=["tech_upgrade"],
                             subsidy_programs=["tech_upgrade_interest"])
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    # geometric middle of 10–1000万元 = 100万元; 12 months; midpoint rate (3.2+4.5)/2 = 3.85 %
    assert "金额 <strong>100 万元</strong>" in html and "12 个月" in html
    assert "按产品利率区间3.20%–4.50%的中值3.85%估算" in html
    assert "技改专项贷款贴息：按实际利率3.85%的50%贴息，年贴息额1.93万元（未超过每年1000万元上限）" in html
    assert "3.85% → <strong class=\"text-success\">1.93%</strong>" in html


def test_worked_example_caps_tech_upgrade_interest_at_1000_wan(client, db):
    product = ProductFactory(name="重大技改项目贷", purposes=["tech_upgrade"],
                             amount_min_wan=Decimal(30000), amount_max_wan=Decimal(100000),
                             rate_min=Decimal(4), rate_max=Decimal(4),
                             term_min_months=36, term_max_months=120,
                             subsidy_programs=["tech_upgrade_interest"])
    example = catalog.worked_example(product, china_today())
    assert (example.amount_wan, example.term_months) == (Decimal(55000), 36)
    (case,) = example.cases
    rule = case.estimate.applied[0]
    assert rule.saving_wan_per_year == Decimal("1000.00")
    assert "超过每年1000万元上限，按每年1000.00万元贴息" in rule.text_zh
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "超过每年1000万元上限" in html


def test_worked_example_guarantee_fee_is_the_guarantors_and_programs_do_not_stack(client, db):
    product = ProductFactory(name="技改贷", purposes=["tech_upgrade"],
                             guarantee_modes=["guarantee"],
                             subsidy_programs=["equipment_renewal_relending",
                                               "tech_upgrade_interest", "guarantee_fee_subsidy"])
    example = catalog.worked_example(product, china_today())
    titles = [c.title for c in example.cases]
    assert titles == ["用于技术改造与设备更新的贷款", "用于技术改造与设备更新的贷款",
                      "由融资担保机构担保的技术改造与设备更新贷款", "同时符合以上各项条件"]
    tech, relending, fee, both = (c.estimate for c in example.cases)
    assert tech.rate_after == Decimal("2.93")     # 3.85 % × 50 % + 1 % fee
    # 3.85 % + 1 % guarantee fee; relending takes 2.5 points; the fee subsidy is the guarantor's
    assert relending.rate_before == Decimal("4.85") and relending.rate_after == Decimal("2.35")
    assert fee.rate_after == Decimal("4.85") and fee.applied == ()
    # 技改贴息 and 再贷款贴息 do not stack: the better one (2.5 points) is taken
    assert both.rate_after == Decimal("2.35")
    assert [a.code for a in both.applied] == ["equipment_renewal_relending"]
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "补助给担保机构，不直接降低企业成本" in html
    assert "设备更新改造专项再贷款财政贴息：贴息2.5个百分点" in html
    assert "不与设备更新改造专项再贷款财政贴息叠加享受" in html


def test_worked_example_follows_the_programs_as_administrators_set_them(client, db):
    program = db.session.query(SubsidyProgram).filter_by(code="tech_upgrade_interest").one()
    program.settings = {"share_of_rate": 0.3, "cap_wan_per_year": 1000}
    fee = db.session.get(Setting, "guarantee_fee_rate")
    fee.value = 0.8
    product = ProductFactory(purposes=["tech_upgrade"], subsidy_programs=["tech_upgrade_interest"])
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "按实际利率3.85%的30%贴息" in html
    program.effective_to = china_today() - timedelta(days=1)
    program.effective_from = china_today() - timedelta(days=30)
    db.session.flush()
    html = client.get(f"/catalog/products/{product.id}").get_data(as_text=True)
    assert "技改专项贷款贴息：" not in html     # expired: not in force, not drawn


def test_worked_example_of_a_programme_with_an_or_takes_its_first_kind_of_enterprise(db):
    # the bridge fund: 制造业中小微企业 first; the waiver for a verified 专精特新 one
    fund = InstitutionFactory(kind="bridge_fund")
    product = ProductFactory(institution=fund, rate_min=Decimal("3.6"), rate_max=Decimal("3.6"),
                             subsidy_programs=["bridge_fee_waiver"])
    (case,) = catalog.worked_example(product, china_today()).cases
    assert case.title == "专精特新中小企业（经核验）"
    assert case.estimate.rate_after == Decimal("0.00") and case.notes == []
    # an administrator makes the fund serve only large private 双百 firms outside
    # manufacturing: the example follows the first kind it names, and still applies
    program = db.session.query(SubsidyProgram).filter_by(code="bridge_fee_waiver").one()
    program.eligibility = {"institution_kinds": ["bridge_fund"], "any_of": [
        {"industries": ["F"], "sizes": ["large"], "tags": ["double_hundred"],
         "ownership": ["private"]}]}
    program.settings = {**program.settings, "waiver_tags": ["double_hundred"]}
    db.session.flush()
    (case,) = catalog.worked_example(product, china_today()).cases
    assert case.estimate.rate_after == Decimal("0.00"), case.notes


def test_worked_example_explains_a_program_the_product_cannot_draw(db):
    product = ProductFactory(purposes=["working_capital"], subsidy_programs=["tech_upgrade_interest"])
    (case,) = catalog.worked_example(product, china_today()).cases
    assert case.estimate.applied == ()
    assert case.notes == ["技改专项贷款贴息：融资用途不在支持范围内（限技术改造与设备更新）"]


def test_each_row_notes_only_its_own_program(db):
    guarantor = InstitutionFactory(kind="guarantee")
    product = ProductFactory(institution=guarantor, purposes=["tech_upgrade"],
                             guarantee_modes=["guarantee"],
                             subsidy_programs=["tech_upgrade_interest", "guarantee_fee_subsidy"])
    tech, fee = catalog.worked_example(product, china_today()).cases
    assert tech.notes == []
    assert len(fee.notes) == 1 and "补助给担保机构" in fee.notes[0]


def test_worked_example_counts_only_confirmed_programmes(db):
    product = ProductFactory(purposes=["tech_upgrade"], subsidy_programs=["tech_upgrade_interest"],
                             confirmed=False)
    assert catalog.worked_example(product, china_today()).cases == []


def test_typical_loan():
    class P:
        amount_min_wan, amount_max_wan = Decimal(10), Decimal(1000)
        term_min_months, term_max_months = 24, 60
    assert catalog.typical_loan(P) == (Decimal(100), 24)
    P.amount_min_wan, P.amount_max_wan = Decimal(1), Decimal(5)
    assert catalog.typical_loan(P) == (Decimal("2.2"), 24)


def test_unpublished_product_page(client_as, db):
    bank = InstitutionFactory()
    product = ProductFactory(institution=bank, status="paused")
    db.session.commit()
    assert client_as("anonymous").get(f"/catalog/products/{product.id}").status_code == 404
    assert client_as("enterprise").get(f"/catalog/products/{product.id}").status_code == 404
    assert client_as("bank_manager").get(f"/catalog/products/{product.id}").status_code == 404
    own = client_as("bank_manager", institution=bank).get(f"/catalog/products/{product.id}")
    assert own.status_code == 200 and "仅本机构与组织方可见" in own.get_data(as_text=True)
    assert client_as("organizer").get(f"/catalog/products/{product.id}").status_code == 200
    assert client_as("anonymous").get("/catalog/products/999999").status_code == 404


def test_never_published_product_has_no_versions(client, db):
    product = ProductFactory(status="draft", version=0)
    assert client.get(f"/catalog/products/{product.id}/versions/0").status_code == 404
    assert client.get(f"/catalog/products/{product.id}/versions/1").status_code == 404


# --- access ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_catalogue_is_public(client_as, db, role):
    product = ProductFactory()
    from matchmaker.institutions.service import publish_version

    product.version = 0
    publish_version(product, None)
    client = client_as(role)
    assert client.get("/catalog/").status_code == 200
    assert client.get(f"/catalog/products/{product.id}").status_code == 200
    assert client.get(f"/catalog/products/{product.id}/versions/1").status_code == 200


@pytest.fixture
def job_files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_FILES_DIR", str(tmp_path / "job_files"))


@pytest.mark.parametrize("role", ROLES)
def test_export_access(client_as, db, role, job_files):
    ProductFactory()
    client = client_as(role)
    response = client.post("/catalog/export", data={"group": "purpose"})
    if role in ("organizer", "admin"):
        assert response.status_code == 302 and "job=" in response.headers["Location"]
        download = _download(client, response)
        assert download.headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml")
    elif role == "anonymous":
        assert response.status_code in (302, 303)
    else:
        assert response.status_code == 403


def test_export_link_only_for_organizers(client_as, db):
    assert "导出产品手册" in client_as("organizer").get("/catalog/").get_data(as_text=True)
    assert "导出产品手册" not in client_as("enterprise").get("/catalog/").get_data(as_text=True)


# --- Excel 产品手册 ---------------------------------------------------------------------------

def _download(client, started):
    """The export job's file, from the page it returns to (the job ran inline in tests)."""
    job_id = int(started.headers["Location"].split("job=")[1])
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="job-progress"' in page and "导出产品手册" in page
    status = client.get(f"/jobs/{job_id}/status").json
    assert status["status"] == "done", status
    response = client.get(status["download"])
    assert response.status_code == 200
    return response


def _workbook(client, group):
    started = client.post("/catalog/export", data={"group": group})
    assert started.status_code == 302
    return load_workbook(io.BytesIO(_download(client, started).data))


def _sheet_names(sheet) -> list[str]:
    return [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)]


def test_export_groups_by_purpose_with_a_product_under_each_purpose(client_as, db, job_files):
    ProductFactory(name="综合授信", purposes=["working_capital", "tech_upgrade"])
    ProductFactory(name="研发贷", purposes=["rnd"])
    ProductFactory(name="停售产品", purposes=["rnd"], status="paused")
    organizer = client_as("organizer")
    book = _workbook(organizer, "purpose")
    assert book.sheetnames == ["目录", "流动资金", "技术改造与设备更新", "研发与科技成果转化"]
    assert _sheet_names(book["流动资金"]) == ["综合授信"]
    assert _sheet_names(book["技术改造与设备更新"]) == ["综合授信"]
    assert _sheet_names(book["研发与科技成果转化"]) == ["研发贷"]
    assert book["流动资金"]["A2"].value == "产品名称"
    assert_audited("product_pool.exported", grouping="purpose")


def test_export_groups_by_cluster_from_industries_and_core_enterprises(client_as, db, job_files):
    from matchmaker.institutions.models import CoreEnterprise

    db.session.add(CoreEnterprise(name="重庆京东方光电科技有限公司", cluster="new_display"))
    ProductFactory(name="汽车零部件贷", industries=["C36"])
    ProductFactory(name="显示面板贷", industries=["C3974", "C39"])
    ProductFactory(name="京东方链贷", core_enterprises=["京东方光电科技"])  # written short
    ProductFactory(name="家具贷", industries=["C21"])
    ProductFactory(name="普惠贷")
    ProductFactory(name="制造业贷", industries=["C"])
    book = _workbook(client_as("admin"), "cluster")
    assert _sheet_names(book["智能网联新能源汽车（万亿级）"]) == ["汽车零部件贷"]
    assert _sheet_names(book["新一代电子信息制造业（万亿级）"]) == ["显示面板贷"]
    assert _sheet_names(book["新型显示（千亿级）"]) == ["京东方链贷", "显示面板贷"]
    assert _sheet_names(book["其他制造业"]) == ["家具贷"]
    assert _sheet_names(book["通用产品（不限行业）"]) == ["普惠贷", "制造业贷"]  # pinyin order
    index = {row[0]: row[1] for row in book["目录"].iter_rows(min_row=3, values_only=True)}
    assert index["新型显示（千亿级）"] == 2


@pytest.mark.parametrize("evil", ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2+3",
                                  "@SUM(A1:A2)", "=1+1"])
def test_export_keeps_text_as_text(client_as, db, evil, job_files):
    ProductFactory(name=evil, description=evil, purposes=["rnd"])
    book = _workbook(client_as("organizer"), "purpose")
    sheet = book["研发与科技成果转化"]
    for cell in (sheet["A3"], sheet["L3"]):
        assert cell.data_type == "s"
        assert cell.value == "'" + evil


def test_export_rejects_an_unknown_grouping(client_as, db):
    assert client_as("organizer").post("/catalog/export", data={"group": "colour"}).status_code == 400


def test_search_reads_descriptions_core_enterprises_and_programmes(client, db):
    bank = InstitutionFactory(name="重庆测试银行")
    with db.session.no_autoflush:
        ProductFactory(institution=bank, name="供应链e贷", purposes=["supply_chain"],
                       core_enterprises=["重庆长安汽车股份有限公司"])
        ProductFactory(institution=bank, name="绿色动力贷", purposes=["tech_upgrade"],
                       description="支持分布式光伏电站建设和储能设备购置")
        ProductFactory(institution=bank, name="设备更新贷", purposes=["tech_upgrade"],
                       subsidy_programs=["tech_upgrade_interest"])
        ProductFactory(institution=bank, name="普通流贷", purposes=["working_capital"])
    db.session.flush()
    assert names(client.get("/catalog/?q=长安")) == ["供应链e贷"]
    assert names(client.get("/catalog/?q=光伏")) == ["绿色动力贷"]
    assert names(client.get("/catalog/?q=贴息")) == ["设备更新贷"]
    assert names(client.get("/catalog/?q=光服电站")) == ["绿色动力贷"]  # same sound, typed wrong
    assert names(client.get("/catalog/?q=钢铁冶炼")) == []


def test_search_finds_a_programme_only_once_an_organizer_confirmed_it(client, client_as, db):
    # issue 15: a bank's declaration is a request; until an organizer confirms it, searching
    # 贴息 must not present the product as subsidised
    bank = InstitutionFactory(name="重庆测试银行")
    with db.session.no_autoflush:
        declared = ProductFactory(institution=bank, name="技改申报贷", purposes=["tech_upgrade"],
                                  subsidy_programs=["tech_upgrade_interest"], confirmed=False)
        ProductFactory(institution=bank, name="技改确认贷", purposes=["tech_upgrade"],
                       subsidy_programs=["tech_upgrade_interest"])
    db.session.flush()
    assert names(client.get("/catalog/?q=贴息")) == ["技改确认贷"]
    assert names(client.get("/catalog/?q=技改专项贷款贴息")) == ["技改确认贷"]
    organizer = client_as("organizer")
    db.session.commit()
    assert organizer.post(f"/admin/policy/confirmations/{declared.id}/tech_upgrade_interest"
                          "/confirm").status_code == 302
    assert sorted(names(client.get("/catalog/?q=贴息"))) == ["技改申报贷", "技改确认贷"]
