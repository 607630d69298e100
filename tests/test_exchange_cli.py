"""`matchmaker import`, `matchmaker export` and `matchmaker seed` through the Flask CLI runner."""
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.enterprises.models import Need
from matchmaker.institutions.models import Institution

DATA = Path(__file__).parent / "data"
BASIS = ["--consent-basis", "企业授权书 2026-001 至 2026-003"]


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_commits_and_prints_a_summary(runner, db):
    result = runner.invoke(args=["import", str(DATA / "example.json"), *BASIS])
    assert result.exit_code == 0, result.output
    assert "institutions: 2 created, 0 updated, 0 unchanged" in result.stdout
    assert (count(db, Institution), count(db, Need)) == (2, 3)

    again = runner.invoke(args=["import", str(DATA / "example.json"), *BASIS])
    assert again.exit_code == 0
    assert "needs: 0 created, 0 updated, 3 unchanged" in again.stdout


def test_import_of_an_invalid_file_prints_every_error_and_writes_nothing(runner, db, tmp_path):
    doc = json.loads((DATA / "example.json").read_text(encoding="utf-8"))
    doc["enterprises"][0]["uscc"] = "91500116MA5U12340A"
    doc["products"][0]["amount_max_wan"] = "3000"
    result = runner.invoke(args=["import", str(write(tmp_path / "bad.json", doc))])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "products P-TECH-01 amount_max_wan: must be a number",
        "enterprises E-01 uscc: check character should be K",
        "import rejected: 2 error(s), nothing written"]
    assert result.stdout == ""
    assert count(db, Institution) == 0


def test_import_reasons_in_chinese_keep_the_field_path(runner, db, tmp_path):
    doc = json.loads((DATA / "example.json").read_text(encoding="utf-8"))
    doc["enterprises"][0]["uscc"] = "91500116MA5U12340A"
    doc["needs"][0]["purpose"] = "stocks"
    result = runner.invoke(args=["import", str(write(tmp_path / "bad.json", doc)), "--lang", "zh"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "enterprises E-01 uscc: 统一社会信用代码校验位错误，应为 K",
        "needs N-01 purpose: 代码“stocks”不在融资用途代码表（purposes）中"]


def test_import_recording_consents_needs_their_basis(runner, db):
    result = runner.invoke(args=["import", str(DATA / "example.json")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(
        "consent_basis: 2 need(s) set consent_to_share on their enterprises' behalf")
    assert count(db, Need) == 0
    result = runner.invoke(args=["import", str(DATA / "example.json"), *BASIS])
    assert result.exit_code == 0, result.output
    shared = db.session.scalars(select(Need).where(Need.consent_to_share.is_(True))).all()
    assert len(shared) == 2
    assert {n.consent_basis for n in shared} == {BASIS[1]}
    assert {n.consent_recorded_by_id for n in shared} == {None}  # the command line: no user
    assert all(n.consent_recorded_at is not None for n in shared)


def test_import_of_a_file_that_is_not_json(runner, db, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("document: not valid JSON")


def test_import_of_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["import", str(tmp_path / "nope.json")])
    assert result.exit_code == 2


def test_export_to_stdout_is_utf8_json(runner, db):
    runner.invoke(args=["import", str(DATA / "example.json"), *BASIS])
    result = runner.invoke(args=["export"])
    assert result.exit_code == 0
    assert "示例农村商业银行" in result.stdout  # ensure_ascii=False
    assert result.stdout.startswith('{\n "format": "matchmaker-exchange/1",\n "institutions": [')
    doc = json.loads(result.stdout)
    assert [n["ref"] for n in doc["needs"]] == ["N-01", "N-02", "N-03"]


def test_export_sections_to_a_file(runner, db, tmp_path):
    runner.invoke(args=["import", str(DATA / "example.json"), *BASIS])
    out = tmp_path / "out.json"
    result = runner.invoke(args=["export", "--sections", "products,institutions",
                                 "--output", str(out)])
    assert result.exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc) == ["format", "institutions", "products"]


def test_export_refuses_an_unknown_section(runner, db):
    result = runner.invoke(args=["export", "--sections", "banks"])
    assert result.exit_code == 2
    assert "unknown section(s): banks" in result.stderr


def test_importing_an_export_changes_nothing(runner, db, tmp_path):
    # (export -> import into an EMPTY database: tests/test_exchange.py, which can roll back
    # the uncommitted import; the command commits)
    runner.invoke(args=["import", str(DATA / "full.json"), *BASIS])
    first = runner.invoke(args=["export", "--output", str(tmp_path / "a.json")])
    assert first.exit_code == 0
    result = runner.invoke(args=["import", str(tmp_path / "a.json")])  # no consent turned on
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout and " 0 updated" in result.stdout
    assert "enterprises: 0 created, 0 updated, 2 unchanged" in result.stdout
    assert runner.invoke(args=["export"]).stdout == (tmp_path / "a.json").read_text("utf-8")


# --- seed: what it refuses, on an empty platform (what it loads: tests/test_seed_cli.py) -------

USERS = {"users": [
    {"email": "e1@demo.test", "password": "demo-enterprise-1", "name": "张三", "role": "enterprise",
     "enterprise_ref": "E-01"},
    {"email": "e2@demo.test", "password": "demo-enterprise-2", "name": "李四", "role": "enterprise",
     "enterprise_ref": "E-01"},
    {"email": "bank@demo.test", "password": "demo-bank-admin", "name": "王五", "role": "bank_admin",
     "institution_ref": "I-BANK-01"},
    {"email": "org@demo.test", "password": "demo-organizer", "name": "赵六", "role": "organizer",
     "district": "永川", "organization": "永川区经信委"},
    {"email": "admin@demo.test", "password": "demo-admin-pass", "name": "管理员", "role": "admin"},
]}


@pytest.fixture
def seeds(tmp_path):
    shutil.copy(DATA / "example.json", tmp_path / "demo.json")
    write(tmp_path / "users.json", USERS)
    return tmp_path


def test_seed_with_a_bad_user_entry_writes_nothing(runner, db, seeds):
    bad = {"users": USERS["users"] + [
        {"email": "x@demo.test", "password": "p", "name": "x", "role": "bank_manager",
         "institution_ref": "I-NOPE"},
        {"email": "y@demo.test", "password": "p", "name": "y", "role": "wizard", "team": 1}]}
    write(seeds / "users.json", bad)
    result = runner.invoke(args=["seed", "--dir", str(seeds)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "users x@demo.test institution_ref: unknown ref 'I-NOPE'",
        "users y@demo.test team: unknown field",
        ("users y@demo.test role: unknown role 'wizard' "
        "(one of enterprise, bank_manager, bank_admin, organizer, admin, applicant)")]
    assert (count(db, Institution), count(db, User)) == (0, 0)


def test_seed_without_demo_json_fails_clearly(runner, db, tmp_path):
    result = runner.invoke(args=["seed", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "demo.json not found" in result.stderr


def test_seed_refuses_a_bad_core_enterprise_list_and_writes_nothing(runner, db, seeds):
    from matchmaker.institutions.models import Institution

    write(seeds / "core_enterprises.json", {"core_enterprises": [
        {"name": "某核心企业", "uscc": "91500000MA5U12340X"}]})
    result = runner.invoke(args=["seed", "--dir", str(seeds)])
    assert result.exit_code != 0
    assert "core_enterprises.json" in result.output
    assert count(db, Institution) == 0
