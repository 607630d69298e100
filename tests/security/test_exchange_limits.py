"""Issue 19, exchange documents: a document nested 10,000 deep crashed the upload page (500)
and the CLI (a RecursionError traceback); now both answer one `format:` line, as they do for
a document over the size limit."""
import html
import io
import json

import pytest

from matchmaker.exchange import service
from tests.security import hostile


@pytest.fixture
def admin(client_as, db, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_UPLOAD_DIR", str(tmp_path / "uploads"))
    client = client_as("admin")
    db.session.commit()
    return client


def upload(client, raw: bytes):
    response = client.post("/admin/exchange/", data={"document": (io.BytesIO(raw), "deep.json")},
                           content_type="multipart/form-data")
    assert response.status_code < 500
    return html.unescape(response.get_data(as_text=True))


DEEP = "文件格式（format）：嵌套超过 16 层"  # the page's Chinese line (the CLI's: "format: …")


def test_a_deeply_nested_upload_gets_a_format_error(admin):
    assert DEEP in upload(admin, hostile.nested_json(10_000))


def test_nesting_under_the_interpreters_limit_is_refused_too(admin):
    # 200 levels parse fine: the depth is checked after parsing, before anything walks it
    assert DEEP in upload(admin, hostile.nested_json(200))


def test_a_document_over_the_size_limit_gets_a_format_error(admin, app, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_BYTES", 1024)
    raw = json.dumps({"format": "matchmaker-exchange/1", "needs": [], "x": "y" * 2000}).encode()
    assert "文件格式（format）：文件大小 0.0 MB，超过 0 MB 的上限" in upload(admin, raw)


@pytest.mark.parametrize("depth", [10_000, 17])
def test_the_cli_answers_a_deep_document_with_a_format_line(app, db, tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_bytes(hostile.nested_json(depth))
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "format: nested deeper than 16 levels" in result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output


def test_the_cli_refuses_an_oversized_file_before_reading_it(app, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_BYTES", 10)
    path = tmp_path / "big.json"
    path.write_text('{"format": "matchmaker-exchange/1"}')
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("file was read"))
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 1 and "format: document is" in result.output


def test_a_real_document_is_not_too_deep():
    doc = {"format": "matchmaker-exchange/1",
           "products": [{"ref": "P-1", "purposes": ["working_capital"]}]}
    assert service.load_document(json.dumps(doc)) == doc
    assert not service._deeper_than(doc, 4) and service._deeper_than(doc, 3)
