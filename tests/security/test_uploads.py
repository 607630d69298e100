"""Issue 19, uploads: a spreadsheet is refused from its zip directory, its headers and its
first rows past the cap, before the workbook is read whole (each test failed before: the old
reader loaded the whole sheet, so it reached the damage planted after the cap)."""
import io
import zipfile

import pytest

from matchmaker.enterprises import spreadsheet
from tests.security import hostile


@pytest.fixture
def organizer(client_as, db, app, tmp_path):
    app.config["SPREADSHEET_UPLOAD_DIR"] = str(tmp_path)
    client = client_as("organizer")
    db.session.commit()
    yield client
    app.config.pop("SPREADSHEET_UPLOAD_DIR")


def upload(client, data, url="/enterprises/import"):
    response = client.post(url, data={"file": (io.BytesIO(data), "企业需求.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code < 500
    return response.get_data(as_text=True)


def test_a_zip_bomb_is_refused_from_its_declared_sizes(organizer, monkeypatch):
    data = hostile.bomb(unpacked_mb=spreadsheet.MAX_UNPACKED_BYTES // 2**20 + 1)
    assert len(data) < 200 * 1024  # a small upload …

    def parse(*args, **kwargs):  # … whose XML is never parsed
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(spreadsheet, "load_workbook", parse)
    assert "文件解压后过大" in upload(organizer, data)


def test_too_many_zip_entries_are_refused(organizer):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(spreadsheet.MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"xl/media/image{n}.png", b"")
    assert "内部部件" in upload(organizer, out.getvalue())


def test_reading_stops_at_the_row_cap(organizer):
    # the sheet's XML is cut off after row 2,300: a reader that stops at 2,000 rows never sees it
    data = hostile.many_rows(2_400, broken_after=2_300)
    html = upload(organizer, data)
    assert f"一次最多导入 {spreadsheet.MAX_ROWS} 行" in html
    assert "文件已损坏" not in html


def test_headers_are_checked_before_any_row(organizer):
    headers = ["企业名称", "随便一列"]
    html = upload(organizer, hostile.many_rows(100, headers=headers, broken_after=5))
    assert "缺少列" in html and "无法识别的列：随便一列" in html
    assert "文件已损坏" not in html


def test_blank_rows_do_not_keep_the_reader_going(organizer, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_SCANNED_ROWS", 50)

    def chunks():
        yield hostile._HEAD + hostile.header_row()
        for n in range(2, 200):
            yield f'<row r="{n}"><c r="A{n}" s="0"/></row>'
        yield '<row r="'  # damage past the blank rows

    assert "含空行" in upload(organizer, hostile.xlsx(chunks()))


def test_the_whitelist_import_reads_through_the_same_bounds(client_as, db, monkeypatch):
    monkeypatch.setattr(spreadsheet, "load_workbook", None)  # never reached
    data = hostile.bomb(unpacked_mb=spreadsheet.MAX_UNPACKED_BYTES // 2**20 + 1)
    with pytest.raises(spreadsheet.SpreadsheetRejected) as refused:
        spreadsheet.read_upload("白名单.xlsx", data)
    assert "文件解压后过大" in refused.value.messages[0]
