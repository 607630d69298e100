"""Background jobs: the Job row, the status endpoint, the admin page, retries, and the three
ways a job runs (inline in tests, a thread in-process, RQ on Redis), crashes included."""
import gc
import logging
import os
import threading
import time

import flask_migrate
import pytest
from redis.exceptions import RedisError
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import OperationalError

from matchmaker import clock, jobs
from matchmaker.extensions import db as _db
from matchmaker.guards import Forbidden
from matchmaker.jobs import enqueue, files, job, runner, service
from matchmaker.jobs.models import Job
from tests.conftest import make_test_app
from tests.factories import user_for_role
from tests.helpers import assert_audited

CALLS: list = []


@job("test.add", "测试：加法")
def _add(ctx, a, b):
    ctx.progress(50, "正在相加")
    ctx.commit()
    CALLS.append((a, b))
    return {"sum": a + b}


@job("test.fail", "测试：失败")
def _fail(ctx, why):
    raise RuntimeError(why)


@job("test.part", "测试：一部分")
def _part(ctx, part):
    CALLS.append(("part", part))


def _finalize_parts(ctx, parts):
    CALLS.append(("finalized", parts))
    return {"parts": parts}


@job("test.parts", "测试：分部分", finalize=_finalize_parts)
def _parts(ctx, parts):
    ctx.spawn("test.part", [{"part": part} for part in range(parts)])


@job("test.gc", "测试：垃圾回收阈值")
def _gc_thresholds(ctx):
    CALLS.append(gc.get_threshold())


@job("test.file", "测试：导出文件")
def _file(ctx, text):
    return {"file": files.save(ctx, text.encode("utf-8"), "报表.txt", "text/plain")}


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


@pytest.fixture
def job_files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_FILES_DIR", str(tmp_path / "job_files"))
    return tmp_path / "job_files"


# --- inline (the test configuration) ---------------------------------------------------------

def test_enqueue_runs_and_records_the_result(db):
    admin = user_for_role("admin")
    row = enqueue("test.add", {"a": 2, "b": 3}, actor=admin)
    assert row.status == "done" and row.progress == 100
    assert row.result == {"sum": 5} and row.attempts == 1 and row.started_by_id == admin.id
    assert row.message == "正在相加" and row.description == "测试：加法"


def test_a_failing_job_records_why_and_undoes_its_work(db):
    row = enqueue("test.fail", {"why": "磁盘已满"})
    assert row.status == "failed"
    assert "RuntimeError: 磁盘已满" in row.error and row.finished_at is not None


def test_admin_retries_a_failed_job_and_it_is_audited(db):
    admin = user_for_role("admin")
    row = enqueue("test.fail", {"why": "一次"})
    row.kind, row.params = "test.add", {"a": 1, "b": 1}  # the cause is fixed meanwhile
    service.retry(admin, row)
    assert row.status == "done" and row.attempts == 2 and row.error is None
    assert_audited("job.retried", row)


def test_only_admins_retry_and_only_failed_jobs(db):
    row = enqueue("test.fail", {"why": "x"})
    with pytest.raises(Forbidden):
        service.retry(user_for_role("organizer"), row)
    done = enqueue("test.add", {"a": 1, "b": 2})
    with pytest.raises(Forbidden):
        service.retry(user_for_role("admin"), done)


def test_a_waiting_job_with_the_same_key_absorbs_a_second_enqueue(db, app):
    app.config["JOBS_BACKEND"] = "thread"  # nothing runs before the commit
    try:
        first = enqueue("test.add", {"a": 1, "b": 1}, key="k:1")
        second = enqueue("test.add", {"a": 9, "b": 9}, key="k:1")
        other = enqueue("test.add", {"a": 1, "b": 1}, key="k:2")
        _db.session.info.pop(service._PENDING, None)  # never dispatched: rolled back below
    finally:
        app.config["JOBS_BACKEND"] = "inline"
    assert first.id == second.id != other.id


@pytest.mark.parametrize("left_to", [
    lambda: service.active_job("k:lock", queued_only=True),  # a change leaves its work to it
    lambda: enqueue("test.add", {"a": 9, "b": 9}, key="k:lock"),  # a second enqueue joins it
], ids=["active_job", "enqueue"])
def test_a_queued_job_a_change_joins_is_not_claimed_before_that_change_commits(app, left_to):
    """Else a worker could start it just before the commit and read what to do without the
    change, which would then wait for the next job of its kind."""
    with app.app_context():
        if _db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite: the change's own earlier write already keeps a claim waiting")
        waiting = Job(kind="test.add", params={"a": 1, "b": 1}, key="k:lock", status="queued",
                      description="测试", progress=0, attempts=0, created_at=clock.now())
        _db.session.add(waiting)
        _db.session.commit()
        try:
            assert left_to().id == waiting.id
            with _db.engine.connect() as worker:
                worker.execute(text("SET lock_timeout = '200ms'"))
                with pytest.raises(OperationalError):  # the claim's UPDATE waits for the lock
                    worker.execute(update(Job).where(Job.id == waiting.id,
                                                     Job.status == "queued")
                                   .values(status="running"))
            # another change meanwhile passes it over, never waits: it starts its own job
            other: list = []

            def another_change():
                with app.app_context():
                    other.append(service.active_job("k:lock", queued_only=True))
                    _db.session.rollback()
            thread = threading.Thread(target=another_change)
            thread.start()
            thread.join(timeout=10)
            assert not thread.is_alive() and other == [None]
            _db.session.commit()
            assert runner.claim(waiting.id, "thread") is not None
        finally:
            _db.session.rollback()
            _db.session.execute(delete(Job).where(Job.id == waiting.id))
            _db.session.commit()


def test_children_finish_then_the_parent_finalizes(db):
    parent = enqueue("test.parts", {"parts": 3})
    assert parent.status == "done" and parent.children_done == 3 == parent.children_total
    assert CALLS == [("part", 0), ("part", 1), ("part", 2), ("finalized", 3)]
    assert parent.result == {"parts": 3}


# --- pages -------------------------------------------------------------------------------------

def test_status_endpoint_shows_own_job_and_hides_others(db, app):
    manager = user_for_role("bank_admin")
    row = enqueue("test.add", {"a": 1, "b": 2}, actor=manager)
    own = app.test_client(user=manager).get(f"/jobs/{row.id}/status")
    assert own.status_code == 200
    assert own.json["status"] == "done" and own.json["progress"] == 100
    assert own.json["result"] == {"sum": 3}
    assert app.test_client(user=user_for_role("bank_admin")).get(
        f"/jobs/{row.id}/status").status_code == 404
    assert app.test_client(user=user_for_role("admin")).get(
        f"/jobs/{row.id}/status").status_code == 200


def test_an_export_jobs_file_is_downloaded_by_its_starter_and_admins_only(db, app, job_files):
    organizer = user_for_role("organizer")
    row = enqueue("test.file", {"text": "白名单对接情况"}, actor=organizer)
    assert row.status == "done" and row.result["file"]["size"] == len("白名单对接情况".encode())
    own = app.test_client(user=organizer)
    status = own.get(f"/jobs/{row.id}/status").json
    assert status["download"] == f"/jobs/{row.id}/download"
    response = own.get(status["download"])
    assert response.status_code == 200 and response.get_data(as_text=True) == "白名单对接情况"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert 'data-testid="job-download"' in own.get(f"/home?job={row.id}").get_data(as_text=True)
    assert app.test_client(user=user_for_role("admin")).get(
        f"/jobs/{row.id}/download").status_code == 200
    for other in ("organizer", "bank_admin", "enterprise"):  # another user's job: no such job
        assert app.test_client(user=user_for_role(other)).get(
            f"/jobs/{row.id}/download").status_code == 404
    anonymous = app.test_client().get(f"/jobs/{row.id}/download")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_no_download_before_the_file_is_made_or_after_it_is_gone(db, app, job_files):
    admin = user_for_role("admin")
    client = app.test_client(user=admin)
    failed = enqueue("test.fail", {"why": "x"}, actor=admin)
    plain = enqueue("test.add", {"a": 1, "b": 1}, actor=admin)
    made = enqueue("test.file", {"text": "x"}, actor=admin)
    files.path_for(made.id).unlink()  # deleted after FILE_MAX_AGE
    for row in (failed, plain, made):
        assert client.get(f"/jobs/{row.id}/download").status_code == 404
        assert "download" not in client.get(f"/jobs/{row.id}/status").json
    assert "job-download d-none" in client.get(f"/admin/jobs?job={plain.id}").get_data(as_text=True)


def test_a_page_reached_with_its_job_shows_a_progress_bar(db, app):
    admin = user_for_role("admin")
    row = enqueue("test.fail", {"why": "数据库不可用"}, actor=admin)
    page = app.test_client(user=admin).get(f"/admin/jobs?job={row.id}")
    html = page.get_data(as_text=True)
    assert 'data-testid="job-progress"' in html and "js/jobs.js" in html
    assert "数据库不可用" in html
    other = app.test_client(user=user_for_role("organizer")).get(f"/?job={row.id}")
    assert 'data-testid="job-progress"' not in other.get_data(as_text=True)


def test_admin_jobs_page_lists_failed_jobs_with_a_retry_button(db, app):
    admin = user_for_role("admin")
    failed = enqueue("test.fail", {"why": "超时"})
    enqueue("test.add", {"a": 1, "b": 1})
    client = app.test_client(user=admin)
    html = client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert html.count('data-testid="job-row"') == 1 and "超时" in html and "重试" in html
    failed.kind, failed.params = "test.add", {"a": 0, "b": 0}
    response = client.post(f"/admin/jobs/{failed.id}/retry")
    assert response.status_code == 302
    assert _db.session.get(Job, failed.id).status == "done"
    assert client.post("/admin/jobs/987654/retry").status_code == 404


# --- the thread and RQ backends, against their own database -----------------------------------

@pytest.fixture
def file_app(tmp_path):
    """An app on its own SQLite file whose jobs run outside the test transaction."""
    app = make_test_app(DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
                        JOBS_BACKEND="auto")
    with app.app_context():
        flask_migrate.upgrade()
    return app


def _wait(app, job_id, timeout=60.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            row = _db.session.get(Job, job_id)
            if row.finished or time.monotonic() > deadline:
                _db.session.expunge(row)
                return row
            _db.session.remove()
        time.sleep(0.05)


def test_thread_backend_runs_after_commit_and_not_after_rollback(file_app):
    with file_app.app_context():
        enqueue("test.add", {"a": 5, "b": 5})
        _db.session.rollback()
        job_id = enqueue("test.add", {"a": 2, "b": 2}).id
        _db.session.commit()
    row = _wait(file_app, job_id)
    assert row.status == "done" and row.backend == "thread" and row.result == {"sum": 4}
    with file_app.app_context():
        assert len(_db.session.scalars(select(Job)).all()) == 1
    assert (5, 5) not in CALLS


def test_redis_down_falls_back_to_the_thread_with_a_warning(file_app, caplog):
    file_app.config["REDIS_URL"] = "redis://127.0.0.1:1/7"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="matchmaker.jobs.runner"):
        with file_app.app_context():
            job_id = enqueue("test.add", {"a": 1, "b": 2}).id
            _db.session.commit()
        row = _wait(file_app, job_id)
    assert row.status == "done" and row.backend == "thread"
    assert "Redis unreachable" in caplog.text


def test_redis_down_the_web_keeps_working_and_the_export_runs_in_process(file_app, tmp_path,
                                                                          caplog):
    """Issue 13: with Redis unreachable a page that starts a job answers as usual; the job
    runs in the web process and its file downloads."""
    from tests.conftest import Client

    file_app.config["REDIS_URL"] = "redis://127.0.0.1:1/7"  # nothing listens there
    file_app.config["JOB_FILES_DIR"] = str(tmp_path / "job_files")
    file_app.test_client_class = Client
    with file_app.app_context():
        admin = user_for_role("admin")
        _db.session.commit()
        client = file_app.test_client(user=admin)
        _db.session.rollback()  # no read transaction of ours may hold SQLite's lock
        with caplog.at_level(logging.WARNING, logger="matchmaker.jobs.runner"):
            started = client.post("/admin/exchange/export")
        assert started.status_code == 302 and "job=" in started.headers["Location"]
        job_id = int(started.headers["Location"].split("job=")[1])
        _db.session.remove()
    row = _wait(file_app, job_id)
    assert row.status == "done" and row.backend == "thread", row.error
    assert "Redis unreachable" in caplog.text
    with file_app.app_context():
        assert client.get(started.headers["Location"]).status_code == 200
        response = client.get(f"/jobs/{job_id}/download")
        assert response.status_code == 200 and response.json["format"] == "matchmaker-exchange/1"


def test_a_job_whose_worker_died_is_requeued_then_failed(file_app):
    with file_app.app_context():
        file_app.config["JOBS_BACKEND"] = "thread"
        row = Job(kind="test.add", params={"a": 1, "b": 1}, description="x", status="running",
                  attempts=1, worker=f"{runner.WORKER.rpartition(':')[0]}:{_dead_pid()}")
        spent = Job(kind="test.add", params={"a": 1, "b": 1}, description="y",
                    status="running", attempts=3, worker=row.worker)
        _db.session.add_all([row, spent])
        _db.session.commit()
        ids = row.id, spent.id
        assert runner.recover() >= 1
    assert _wait(file_app, ids[0]).status == "done"
    lost = _wait(file_app, ids[1])
    assert lost.status == "failed" and "进程已停止" in lost.error


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _redis_url() -> str | None:
    url = os.environ.get("MATCHMAKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except (RedisError, OSError):
        return None
    return url


def test_rq_worker_runs_the_job_from_redis(file_app):
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis reachable (MATCHMAKER_TEST_REDIS_URL): RQ path not exercised")
    from rq.worker import SimpleWorker

    file_app.config.update(REDIS_URL=url, JOBS_QUEUE=f"matchmaker-test-{os.getpid()}")
    with file_app.app_context():
        job_id = enqueue("test.add", {"a": 20, "b": 22}).id
        _db.session.commit()
        queue = runner._rq_queue(file_app)
        assert queue.count == 1
        runner._APP = file_app
        try:
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
        finally:
            runner._APP = None
            queue.delete(delete_jobs=True)
    row = _wait(file_app, job_id, timeout=1)
    assert row.status == "done" and row.backend == "rq" and row.result == {"sum": 42}


def test_run_now_runs_a_split_job_and_its_parts_in_the_foreground(file_app):
    """The CLI path (`match --all` without Redis): each part commits on its own."""
    with file_app.app_context():
        row = jobs.run_now("test.parts", {"parts": 2})
        assert row.status == "done" and row.result == {"parts": 2}
        parts = _db.session.scalars(select(Job).where(Job.parent_id == row.id)).all()
        assert [p.status for p in parts] == ["done", "done"]
        assert {p.backend for p in parts} == {"local"}
    assert CALLS == [("part", 0), ("part", 1), ("finalized", 2)]


def test_a_job_runs_with_the_relaxed_collector_and_the_process_gets_its_own_back(file_app):
    before = gc.get_threshold()
    with file_app.app_context():
        assert jobs.run_now("test.gc").status == "done"
    assert CALLS == [runner.RELAXED_GC] and gc.get_threshold() == before
    with runner.relaxed_gc():  # overlapping jobs (threads): the last one restores
        with runner.relaxed_gc():
            assert gc.get_threshold() == runner.RELAXED_GC
        assert gc.get_threshold() == runner.RELAXED_GC
    assert gc.get_threshold() == before


def test_every_periodic_job_is_registered_and_runs_from_the_cli(app, db):
    from matchmaker.jobs.commands import PERIODIC
    from matchmaker.jobs.registry import REGISTRY

    assert {kind for kind, _line in PERIODIC} <= set(REGISTRY)
    result = app.test_cli_runner().invoke(args=["jobs", "run", "leads.sweep"])
    assert result.exit_code == 0, result.output
    assert "done" in result.output
    row = _db.session.scalar(select(Job).where(Job.kind == "leads.sweep"))
    assert row.status == "done" and "summary" in row.result
    unknown = app.test_cli_runner().invoke(args=["jobs", "run", "no.such"])
    assert unknown.exit_code != 0 and "unknown job kind" in unknown.output
