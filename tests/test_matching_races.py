"""A job's writer and a need's own edit on two connections, for real (PostgreSQL).

The writer locks the states it checks (`_Writer._written_since`, FOR UPDATE in id order): an
edit written but not yet committed is waited for and then seen, so the job ranks that need
again with its new facts instead of failing on the unique key or writing the old facts over
the edit. The suite's `db` fixture rolls back one connection, which two threads cannot share,
and audit rows cannot be deleted: this test builds its own database and drops it after.
"""
import json
import os
import threading
import time
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from matchmaker.enterprises.models import Need
from matchmaker.exchange.service import import_document
from matchmaker.extensions import db
from matchmaker.matching import adapters, queries, service
from tests.conftest import TEST_DATABASE_URL, make_test_app

EXAMPLE = Path(__file__).parent / "data" / "example.json"

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="SQLite: one writer at a time, the second connection waits for the whole job")


@pytest.fixture
def own_database():
    """(app, its database URL): a fresh database migrated and holding the example document,
    every need matched and committed; dropped at the end."""
    base = make_url(TEST_DATABASE_URL)
    name = f"{base.database}_race_{os.getpid()}"  # two runs on one server keep apart
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    app = make_test_app(DATABASE_URL=url)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            import_document(json.loads(EXAMPLE.read_text(encoding="utf-8")))
            db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _waits_on_a_lock(app, timeout: float = 10.0) -> bool:
    """Whether a connection to this app's database comes to wait on a row lock (PostgreSQL's
    own account, pg_stat_activity) within `timeout` seconds."""
    with app.app_context():
        name = db.engine.url.database
    watcher = create_engine(make_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    try:
        with watcher.connect() as conn:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"
                                    " AND wait_event_type = 'Lock'"), {"name": name}):
                    return True
                time.sleep(0.05)
        return False
    finally:
        watcher.dispose()


def _shown(need_ids) -> dict:
    """need id -> its shown (product, score) as stored, and as a full ranking would store."""
    matcher = service.current_matcher()
    facts, _ = adapters.load_need_facts(db.session, Need.id.in_(need_ids))
    full = {r.need.id: [(k.product_id, k.score) for k in r.ranking.keys[:service.SHOWN]]
            for r in matcher.match_all(facts, top=service.SHOWN, reserve=service.RESERVE)}
    stored = {n: [(m.product_id, float(m.score)) for m in queries.matches_for_need(
        db.session.get(Need, n), top=service.SHOWN)] for n in need_ids}
    return {n: (stored[n], full[n]) for n in need_ids}


def test_a_job_writing_waits_for_a_need_edit_not_yet_committed_and_ranks_it_again(
        own_database):
    app = own_database
    with app.app_context():
        ids = sorted(db.session.scalars(select(Need.id)))
        edited = ids[len(ids) // 2]
        db.session.rollback()
    edit_written, edit_may_commit = threading.Event(), threading.Event()
    job_done = threading.Event()
    failures: list = []

    def job():
        """A full recompute's part: its states and facts read before the edit."""
        try:
            with app.app_context():
                epoch, matcher = service.current_epoch(), service.current_matcher()
                facts, _, seen = service.facts_seen(None)
                edit_written.wait(10)
                service.recompute_needs(facts, matcher, epoch, seen=seen)  # waits for the edit
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)
        finally:
            job_done.set()

    def edit():
        """The need's owner: a much larger amount, written but held uncommitted a while."""
        try:
            with app.app_context():
                need = db.session.get(Need, edited)
                need.amount_wan = need.amount_wan * 40
                service.refresh_need(need)
                db.session.flush()
                edit_written.set()
                edit_may_commit.wait(10)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
            edit_written.set()

    threads = [threading.Thread(target=job), threading.Thread(target=edit)]
    for thread in threads:
        thread.start()
    try:
        assert edit_written.wait(10)
        assert _waits_on_a_lock(app)  # the job's writer waits on the edit's lock
        assert not job_done.is_set()
    finally:
        edit_may_commit.set()
        for thread in threads:
            thread.join(30)
    assert not failures, failures
    with app.app_context():
        assert db.session.get(Need, edited).amount_wan > 0
        found = _shown(ids)
        assert found[edited][0] == found[edited][1]  # the edit's facts, ranked again
        assert all(stored == full for stored, full in found.values())
        assert all(f.fresh for f in service.freshness(ids).values())


def test_a_change_made_while_a_core_group_refresh_runs_waits_for_it(own_database):
    """The core-enterprise groups enter the matcher, not the needs' facts: the refresh of
    the supply-chain needs moves the epoch first and holds it until it commits, so a
    product's change made meanwhile gets a later epoch and its job reads the needs as the
    refresh left them (else the job could judge them by the groups as they were)."""
    app = own_database
    refreshed, may_commit, changed = threading.Event(), threading.Event(), threading.Event()
    epochs: dict = {}
    failures: list = []

    def group_saved():
        try:
            with app.app_context():
                service.recompute_supply_chain_later()
                epochs["refresh"] = service.current_epoch()
                refreshed.set()
                may_commit.wait(10)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
            refreshed.set()

    def product_edited():
        try:
            with app.app_context():
                epochs["change"] = service.mark_stale(product_ids=[1])
                db.session.commit()
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            changed.set()

    first = threading.Thread(target=group_saved)
    first.start()
    try:
        assert refreshed.wait(10)
        second = threading.Thread(target=product_edited)
        second.start()
        assert _waits_on_a_lock(app, timeout=5)  # the change waits for the refresh's basis row
        assert not changed.is_set()
    finally:
        may_commit.set()
        first.join(30)
    second.join(30)
    assert not failures, failures
    assert epochs["change"] > epochs["refresh"]
