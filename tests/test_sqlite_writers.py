"""The embedded default: the web and a job (an RQ worker beside gunicorn, or a thread) write
the same SQLite file. A request that may write, and a job, take the write lock when their
transaction begins; begun as a read, their first write after another connection committed
failed at once with "database is locked" (a login beside a product's matching job)."""
import sqlite3
import threading

import flask_migrate
import pytest
from sqlalchemy import text

from matchmaker.extensions import JOB_RUNNING
from matchmaker.extensions import db as _db
from tests.conftest import make_test_app


@pytest.fixture
def file_app(tmp_path):
    path = tmp_path / "writers.sqlite3"
    app = make_test_app(DATABASE_URL=f"sqlite:///{path}")
    with app.app_context():
        flask_migrate.upgrade()
        _db.session.execute(text("INSERT INTO settings (key, value, updated_at) VALUES ('probe', '1', '2026-01-01 00:00:00')"))
        _db.session.commit()
    app.config["TEST_PATH"] = path
    return app


def _other_writer(path, done: list) -> threading.Thread:
    """Another connection (the worker) that writes and commits while the request is open."""
    def write():
        conn = sqlite3.connect(path, timeout=10)
        conn.execute("UPDATE settings SET value = '2' WHERE key = 'probe'")
        conn.commit()
        conn.close()
        done.append(True)
    return threading.Thread(target=write)


def _read_then_write(app, context) -> None:
    with context:
        _db.session.execute(text("SELECT value FROM settings WHERE key = 'probe'")).scalar()
        done: list = []
        other = _other_writer(app.config["TEST_PATH"], done)
        other.start()
        other.join(0.5)  # it commits now unless this transaction holds the lock
        _db.session.execute(text("UPDATE settings SET value = '3' WHERE key = 'probe'"))
        _db.session.commit()
        other.join()
        assert done == [True]  # it waited for this commit, then wrote
        _db.session.remove()


def test_a_post_that_read_first_still_writes_beside_another_writer(file_app):
    with file_app.app_context():
        _read_then_write(file_app, file_app.test_request_context("/login", method="POST"))
        value = _db.session.execute(text("SELECT value FROM settings WHERE key = 'probe'"))
        assert str(value.scalar()) == "2"  # the other writer came second


def test_a_job_that_read_first_still_writes_beside_another_writer(file_app):
    token = JOB_RUNNING.set(True)
    try:
        with file_app.app_context():
            _read_then_write(file_app, file_app.app_context())
    finally:
        JOB_RUNNING.reset(token)


def test_a_get_does_not_hold_the_write_lock(file_app):
    """Pages are read by the hundred a second: they never wait on a job's write."""
    with file_app.test_request_context("/", method="GET"):
        _db.session.execute(text("SELECT value FROM settings WHERE key = 'probe'")).scalar()
        conn = sqlite3.connect(file_app.config["TEST_PATH"], timeout=0)
        conn.execute("UPDATE settings SET value = '4' WHERE key = 'probe'")
        conn.commit()  # no wait: the GET's transaction holds no lock
        conn.close()
        _db.session.rollback()
        _db.session.remove()


def test_a_job_run_here_leaves_no_write_lock_behind(file_app):
    """The CLI runs jobs in its own process (run_here) and goes on: once the job is recorded,
    another process writes at once. Reading the finished job's row again began a transaction
    IMMEDIATE (the job's context still set), held until the CLI's next commit: a benchmark's
    SQL join after `match --all` failed with "database is locked"."""
    from matchmaker import jobs
    from matchmaker.jobs.models import Job

    file_app.config["JOBS_BACKEND"] = "thread"  # enqueued, not run inside the transaction
    with file_app.app_context():
        job = jobs.enqueue("matching.reach")
        _db.session.info.pop(jobs.service._PENDING, None)  # run here, not on the backend
        _db.session.commit()
        jobs.runner.run_here(job.id)
        assert _db.session.get(Job, job.id).status == "done"
        conn = sqlite3.connect(file_app.config["TEST_PATH"], timeout=0)
        conn.execute("UPDATE settings SET value = '5' WHERE key = 'probe'")
        conn.commit()  # no wait: nothing holds the write lock
        conn.close()
        _db.session.remove()
