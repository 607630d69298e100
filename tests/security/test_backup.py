"""Issue 19: backups were never shown. `matchmaker backup` then `matchmaker restore` into an
empty database gives every table back row for row — on SQLite (online backup API) and on
PostgreSQL (pg_dump/pg_restore) when the suite runs there."""
import shutil
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from matchmaker import backup
from matchmaker.exchange import service as exchange
from matchmaker.extensions import db as _db
from matchmaker.extensions import limiter
from tests.conftest import TEST_DATABASE_URL, make_test_app

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example.json"


@pytest.fixture
def databases(app, tmp_path):
    """A source and an empty target of the suite's kind (two scratch databases on PostgreSQL,
    named after the test database and dropped afterwards)."""
    if TEST_DATABASE_URL.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'source.sqlite3'}", f"sqlite:///{tmp_path / 'target.sqlite3'}"
        limiter.init_app(app)
        return
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    base = make_url(TEST_DATABASE_URL)
    names = [f"{base.database}_bsrc", f"{base.database}_bdst"]
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop():
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
    drop()
    admin.dispose()
    limiter.init_app(app)


def rows(url: str) -> dict[str, list]:
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {name: sorted(map(repr, conn.execute(sa.select(table)).all()))
                    for name, table in meta.tables.items()}
    finally:
        engine.dispose()


def test_backup_then_restore_into_an_empty_database_gives_every_row_back(databases, tmp_path):
    source_url, target_url = databases
    source = make_test_app(DATABASE_URL=source_url)
    with source.app_context():
        flask_migrate.upgrade()
        exchange.import_document(exchange.load_document(EXAMPLE.read_bytes()))
        _db.session.commit()
        _db.engine.dispose()
        runner = source.test_cli_runner()
        out = tmp_path / "backup.file"
        result = runner.invoke(args=["backup", "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert "backup written" in result.output and out.stat().st_size > 0

    target = make_test_app(DATABASE_URL=target_url)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code == 0, result.output
        _db.engine.dispose()

    before, after = rows(source_url), rows(target_url)
    assert set(before) == set(after) and len(before) > 20
    assert sum(len(r) for r in before.values()) > 50  # the example's platform, matched
    for table in before:
        assert after[table] == before[table], table

    with target.app_context():  # a second restore would mix a backup with live rows
        result = target.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code != 0 and "not empty" in result.output


def test_a_backup_never_overwrites_a_file(tmp_path):
    existing = tmp_path / "there.sqlite3"
    existing.write_text("keep me")
    with pytest.raises(backup.BackupError, match="exists"):
        backup.backup(f"sqlite:///{tmp_path / 'x.sqlite3'}", existing)
    assert existing.read_text() == "keep me"
