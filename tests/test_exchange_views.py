"""The admin's upload page: access, upload → preview → confirm, errors, export download."""
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.audit.models import AuditEntry
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.exchange.service import export_document, import_document
from matchmaker.institutions.models import Institution, Product
from tests.conftest import ROLES
from tests.factories import EnterpriseFactory
from tests.helpers import assert_audited

DATA = Path(__file__).parent / "data"
UPLOAD, CONFIRM, EXPORT = "/admin/exchange/", "/admin/exchange/confirm", "/admin/exchange/export"
BASIS = "企业书面授权书 YB-2026-001 至 YB-2026-002"


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


@pytest.fixture(autouse=True)
def job_files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_FILES_DIR", str(tmp_path / "job_files"))


@pytest.fixture
def admin(client_as, db):
    client = client_as("admin")
    db.session.commit()  # views roll back on refusal; the admin must survive that
    return client


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def upload(client, raw: bytes, filename: str = "example.json"):
    return client.post(UPLOAD, data={"document": (io.BytesIO(raw), filename)},
                       content_type="multipart/form-data")


def example_bytes(changes: dict | None = None) -> bytes:
    """example.json, with {(section, index, field): value} changes."""
    doc = json.loads((DATA / "example.json").read_text(encoding="utf-8"))
    for (section, index, name), value in (changes or {}).items():
        doc[section][index][name] = value
    return json.dumps(doc, ensure_ascii=False).encode()


def token_in(html: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


# --- access -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", [UPLOAD])
def test_get_pages_are_for_admins_only(client_as, role, url):
    response = client_as(role).get(url)
    if role == "admin":
        assert response.status_code == 200
    elif role == "anonymous":
        assert response.status_code in (302, 303)
        assert "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", [UPLOAD, CONFIRM, EXPORT])
def test_posts_are_for_admins_only(client_as, db, role, url):
    client = client_as(role)
    response = client.post(url, data={"token": "x" * 32})
    if role == "admin":
        assert response.status_code in (302, 400)  # no file / no pending upload
    elif role == "anonymous":
        assert response.status_code in (302, 303)
        assert "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403
    assert count(db, Product) == 0


def test_admin_menu_links_to_the_upload_page(admin):
    assert f'href="{UPLOAD}"' in admin.get("/home").get_data(as_text=True)


# --- upload, preview, confirm ---------------------------------------------------------------

def test_upload_previews_then_confirm_imports(admin, db, upload_dir):
    response = upload(admin, example_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "将新增（3）" in html and 'data-action="created">P-TECH-01<' in html
    assert "确认导入" in html
    assert count(db, Institution) == 0  # a preview writes nothing
    assert len(list(upload_dir.glob("*.json"))) == 1

    assert 'data-testid="import-consents"' in html  # N-01, N-03 share: recorded on behalf
    refused = admin.post(CONFIRM, data={"token": token_in(html)})
    assert refused.status_code == 400 and count(db, Institution) == 0
    assert "代企业登记授权须注明依据" in refused.text.split('data-field="consent_basis"')[1][:200]
    response = admin.post(CONFIRM, data={"token": token_in(refused.text), "consent_basis": BASIS})
    assert response.status_code == 302 and "job=" in response.headers["Location"]
    assert (count(db, Institution), count(db, Product), count(db, Enterprise),
            count(db, Need)) == (2, 3, 2, 3)
    assert list(upload_dir.glob("*.json")) == []  # deleted once imported
    entry = assert_audited("exchange.imported")
    assert entry.actor.role == "admin"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="job-progress"' in page and "导入完成" in page and "已完成" in page


def test_preview_shows_updates_with_their_fields(admin, db):
    import_document(json.loads(example_bytes()))
    db.session.commit()
    html = upload(admin, example_bytes({("needs", 0, "amount_wan"): 900})).get_data(
        as_text=True)
    assert 'data-action="updated">N-01</code>：amount_wan' in html
    assert "保持不变（2）" in html  # the other needs


def test_preview_flags_a_stored_enterprise_under_another_companys_name(admin, db):
    import_document(json.loads(example_bytes()))
    db.session.commit()
    html = upload(admin, example_bytes({("enterprises", 0, "name"): "重庆冒名贸易有限公司",
                                        ("enterprises", 1, "name"): "示例食品有限公司"})
                  ).get_data(as_text=True)
    assert html.count('data-testid="renamed"') == 1  # 示例食品 is the same company, tolerantly
    assert "E-01</code>：平台登记为“重庆示例精密机械有限公司”，文件中为“重庆冒名贸易有限公司”" in html


def test_a_uscc_held_under_another_name_names_both(admin, db):
    EnterpriseFactory(ref="E-OTHER", uscc="91500116MA5U12340K", name="重庆抢注科技有限公司")
    db.session.commit()
    html = upload(admin, example_bytes()).get_data(as_text=True)
    assert ("已被平台上的企业 E-OTHER 使用（平台登记名称“重庆抢注科技有限公司”，"
            "文件中为“重庆示例精密机械有限公司”）") in html


def test_a_file_without_changes_needs_no_import(admin, db, upload_dir):
    import_document(json.loads(example_bytes()))
    db.session.commit()
    response = upload(admin, example_bytes())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "无需导入" in html and "确认导入" not in html
    assert list(upload_dir.glob("*.json")) == []


def test_an_invalid_file_shows_every_error_and_offers_no_import(admin, db, upload_dir):
    raw = example_bytes({("enterprises", 0, "uscc"): "91500116MA5U12340A",
                         ("products", 0, "purposes"): ["bogus"]})
    response = upload(admin, raw)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "文件中有 2 处错误，未导入任何数据" in html
    # Chinese, with the record's ref and the field's Chinese name; the CLI's path beside it
    assert "企业 E-01「统一社会信用代码（uscc）」：统一社会信用代码校验位错误，应为 K" in html
    assert "金融产品 P-TECH-01「融资用途（purposes）」：代码“bogus”不在融资用途代码表" in html
    assert "<code class=\"text-body small ms-1\">enterprises E-01 uscc</code>" in html
    assert "check character" not in html and "unknown code" not in html
    assert "确认导入" not in html
    assert list(upload_dir.glob("*.json")) == []
    assert count(db, Institution) == 0


def test_a_file_that_is_not_json_is_explained(admin):
    response = upload(admin, b"name,uscc\n")
    assert response.status_code == 400
    assert "文件：不是有效的 JSON（第 1 行第 1 列" in response.get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({}, "请选择要上传的文件"),
    ({"document": (io.BytesIO(b"{}"), "demo.csv")}, "只能上传 .json 文件"),
])
def test_the_form_refuses_a_missing_or_wrong_file(admin, data, message):
    response = admin.post(UPLOAD, data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_413_in_chinese(admin, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = upload(admin, b" " * 4096 + example_bytes())
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)


def test_confirm_needs_the_token_of_this_sessions_upload(admin, client_as, db, upload_dir):
    token = token_in(upload(admin, example_bytes()).get_data(as_text=True))
    other_admin = client_as("admin")
    db.session.commit()
    response = other_admin.post(CONFIRM, data={"token": token, "consent_basis": BASIS})
    assert response.status_code == 302
    assert count(db, Institution) == 0
    assert "上传的文件已失效" in other_admin.get(UPLOAD).get_data(as_text=True)


@pytest.mark.parametrize("token", ["../../etc/passwd", "short", ""])
def test_confirm_refuses_malformed_tokens(admin, db, token):
    upload(admin, example_bytes())
    assert admin.post(CONFIRM, data={"token": token}).status_code == 302
    assert count(db, Institution) == 0


def test_confirm_twice_imports_once(admin, db):
    token = token_in(upload(admin, example_bytes()).get_data(as_text=True))
    admin.post(CONFIRM, data={"token": token, "consent_basis": BASIS})
    audits = count(db, AuditEntry)
    assert admin.post(CONFIRM, data={"token": token, "consent_basis": BASIS}).status_code == 302
    assert count(db, AuditEntry) == audits


def test_confirm_rechecks_against_the_platform_as_it_is_now(admin, db, upload_dir):
    token = token_in(upload(admin, example_bytes()).get_data(as_text=True))
    EnterpriseFactory(ref="E-OTHER", uscc="91500116MA5U12340K")  # registered meanwhile
    db.session.commit()
    response = admin.post(CONFIRM, data={"token": token, "consent_basis": BASIS})
    assert response.status_code == 302  # to the upload page, where the job shows why
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "失败" in page and "未导入任何数据" in page
    assert "企业 E-01「统一社会信用代码（uscc）」：已被平台上的企业 E-OTHER 使用" in page
    assert count(db, Institution) == 0 and count(db, Enterprise) == 1
    assert list(upload_dir.glob("*.json")) == []


# --- export download ------------------------------------------------------------------------

def test_export_is_a_job_whose_file_downloads_the_platforms_data_and_is_audited(admin, db):
    import_document(json.loads(example_bytes()))
    db.session.commit()
    started = admin.post(EXPORT)
    assert started.status_code == 302 and "?job=" in started.headers["Location"]
    page = admin.get(started.headers["Location"]).get_data(as_text=True)
    assert "已开始导出" in page and 'data-testid="job-progress"' in page
    job_id = int(started.headers["Location"].split("job=")[1])
    status = admin.get(f"/jobs/{job_id}/status").json
    assert status["status"] == "done" and "导出完成" in status["message"]
    response = admin.get(status["download"])
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "filename=matchmaker-export-" in response.headers["Content-Disposition"]
    assert json.loads(response.get_data(as_text=True)) == export_document()
    assert "示例农村商业银行" in response.get_data(as_text=True)
    assert assert_audited("exchange.exported").details["needs"] == 3


def test_upload_page_links_to_the_export(admin):
    html = admin.get(UPLOAD).get_data(as_text=True)
    assert f'action="{EXPORT}"' in html and 'enctype="multipart/form-data"' in html
