"""Running jobs: claim the row, call the registered function, record the outcome.

Where a committed job goes (`dispatch`, called after the enqueuing transaction commits):
- RQ, when MATCHMAKER_REDIS_URL is set: `matchmaker jobs worker` processes run it (SimpleWorker:
  no fork per job, so the matcher and the need index stay warm between jobs). Redis
  unreachable at that moment: a warning is logged and the job runs in-process instead.
- a worker thread inside this process otherwise (the embedded default: nothing to set up),
  with its own app context and session.
- a local list drained by `run_here` (the CLI in the foreground).
Tests use JOBS_BACKEND = "inline": the job runs at once inside the caller's transaction.

Claiming is one UPDATE … WHERE status = 'queued', so a job delivered twice (a re-dispatch after
a restart, two gunicorn workers recovering at once) runs once. A worker that dies mid-job leaves
its row `running`; `recover()` (at every worker and runner start, and on the admin jobs page)
requeues it — its work up to the last commit is consistent and the job is written to be run
again — or fails it after JobKind.max_attempts.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import queue
import socket
import threading
import traceback
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from .. import clock
from ..errors import ServiceError
from ..extensions import JOB_RUNNING, SQLITE_BUSY_MS, db
from .models import Job
from .registry import kind as job_kind

log = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"
STALE_AFTER = timedelta(minutes=15)  # a running job silent this long lost its worker
ORPHAN_AFTER = timedelta(minutes=2)  # a queued job waiting this long may have lost its queue
RQ_ENTRY = "matchmaker.jobs.runner.rq_entry"
_APP = None  # set by `matchmaker jobs worker` for rq_entry
_local = threading.local()  # the foreground queue of run_here
INLINE_CHILDREN = "matchmaker_jobs_inline_children"


# --- where jobs go ------------------------------------------------------------------------------

def backend_name(app=None) -> str:
    app = app or current_app
    configured = app.config.get("JOBS_BACKEND") or "auto"
    if configured != "auto":
        return configured
    return "rq" if app.config.get("REDIS_URL") else "thread"


def dispatch(app, job_id: int, timeout: int = 3600) -> str:
    """Send a committed job to be run; returns where it went. Emits no SQL (it runs after a
    commit, from the session's after_commit hook)."""
    foreground = getattr(_local, "queue", None)
    if foreground is not None:
        foreground.append(job_id)
        return "local"
    if backend_name(app) == "rq":
        try:
            _rq_enqueue(app, job_id, timeout)
            return "rq"
        except (RedisError, OSError) as err:  # down, refusing, timing out, auth …
            log.warning("job %s: Redis unreachable (%s); running it in-process",
                        job_id, type(err).__name__)
    _thread_runner(app).submit(job_id)
    return "thread"


def _rq_queue(app):
    from redis import Redis
    from rq import Queue

    state = app.extensions.setdefault("jobs_rq", {})
    if "queue" not in state:
        connection = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1,
                                    socket_timeout=5)
        state["queue"] = Queue(app.config.get("JOBS_QUEUE", "matchmaker"),
                               connection=connection)
    return state["queue"]


def worker_count(app=None) -> int:
    """The processes taking this platform's jobs: the RQ workers on its queue (a job split
    into parts makes about as many), 1 for the in-process runner or while Redis is down."""
    app = app or current_app
    if backend_name(app) != "rq":
        return 1
    from rq import Worker

    try:
        return max(1, Worker.count(queue=_rq_queue(app)))
    except (RedisError, OSError):
        return 1


def _rq_enqueue(app, job_id: int, timeout: int) -> None:
    # the RQ id is unique per delivery: a retried job is a new delivery of the same row
    _rq_queue(app).enqueue(RQ_ENTRY, job_id,
                           job_id=f"matchmaker-job-{job_id}-{os.urandom(4).hex()}",
                           job_timeout=timeout, result_ttl=3600, failure_ttl=7 * 86400)


def rq_entry(job_id: int) -> None:
    """What an RQ worker calls: run the job inside the app."""
    if _APP is None:
        raise RuntimeError("run RQ workers with `matchmaker jobs worker` (it sets up the app)")
    with _APP.app_context():
        try:
            execute(job_id, "rq")
        finally:
            db.session.remove()


def periodic(kind: str) -> None:
    """What RQ's cron scheduler enqueues: a Job row for `kind` (coalesced with one still
    waiting), dispatched to the workers like any other (a split job's parts spread out)."""
    from .service import enqueue

    if _APP is None:
        raise RuntimeError("run RQ workers with `matchmaker jobs worker` (it sets up the app)")
    with _APP.app_context():
        try:
            enqueue(kind, {}, key=f"periodic:{kind}")
            db.session.commit()
        finally:
            db.session.remove()


class _ThreadRunner:
    """One daemon thread per process, running submitted jobs one at a time."""

    def __init__(self, app):
        self.app = app
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="matchmaker-jobs", daemon=True)
        self.thread.start()

    def submit(self, job_id: int) -> None:
        self.queue.put(job_id)

    def drain(self) -> None:
        """Wait until every submitted job ran (a CLI command exits only then)."""
        if self.thread.is_alive():
            self.queue.join()

    def _loop(self) -> None:
        with self.app.app_context():
            self._safely(recover)
        while True:
            job_id = self.queue.get()
            with self.app.app_context():
                self._safely(execute, job_id, "thread")
            self.queue.task_done()

    @staticmethod
    def _safely(fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # the thread outlives any one job (execute() records its failure)
            log.exception("job runner thread: %s failed", getattr(fn, "__name__", fn))
        finally:
            db.session.remove()


_runner_lock = threading.Lock()


def _thread_runner(app) -> _ThreadRunner:
    with _runner_lock:
        runner = app.extensions.get("jobs_thread")
        if runner is None or not runner.thread.is_alive():
            runner = app.extensions["jobs_thread"] = _ThreadRunner(app)
            # a CLI command (an import, the seed) ends only once its jobs ran
            atexit.register(runner.drain)
        return runner


def run_here(job_id: int) -> None:
    """Run a committed job and every job it enqueues in this process, in the foreground (the
    CLI; never inside a request)."""
    _local.queue = [job_id]
    try:
        while _local.queue:
            execute(_local.queue.pop(0), "local")
    finally:
        _local.queue = None


# --- running one -------------------------------------------------------------------------------

class JobContext:
    """What a job function gets: progress reports, commits, its row and its starter."""

    def __init__(self, job: Job, inline: bool):
        self.job_id = job.id
        self.job = job
        self.actor = job.started_by
        self.inline = inline

    def progress(self, percent: float, message: str | None = None) -> None:
        """Shown on the page that started the job (and the admin page) while it runs."""
        values = {"progress": max(0, min(99, int(percent))), "heartbeat_at": clock.now()}
        if message is not None:
            values["message"] = message[:200]
        if self.inline:
            for name, value in values.items():
                setattr(self.job, name, value)
            return
        _side_update(self.job_id, values)

    def spawn(self, kind: str, params_list: list[dict], description: str | None = None) -> None:
        """Split the work into child jobs (run in parallel by as many workers as there are);
        the last one to finish runs this job kind's `finalize`. Call it once."""
        from .service import enqueue

        job = db.session.get(Job, self.job_id)
        job.children_total, job.children_done = len(params_list), 0
        job.message = f"分{len(params_list)}部分进行"
        db.session.flush()
        for params in params_list:
            enqueue(kind, params, actor=self.actor, description=description, parent=job)

    def commit(self) -> None:
        """A consistent point: what the job did so far stays even if it stops now."""
        if self.inline:
            db.session.flush()
        else:
            db.session.commit()


def _side_update(job_id: int, values: dict) -> None:
    """Progress through its own connection, so the page sees it before the job commits. When
    the job's own transaction holds the row (it just split itself into parts) or, on SQLite,
    the only write lock or a read snapshot, the update is skipped rather than waited for."""
    engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and db.session().in_transaction():
        # the job has read in its own transaction: a commit here would leave it a stale WAL
        # snapshot, and its first write would fail at once ("database is locked")
        log.debug("job %s: progress not written (the job's transaction is open)", job_id)
        return
    try:
        with engine.connect() as conn:
            if sqlite:  # on the driver's connection: before the (IMMEDIATE) BEGIN waits
                conn.connection.driver_connection.execute("PRAGMA busy_timeout = 20")
            else:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            try:
                conn.execute(update(Job).where(Job.id == job_id).values(**values))
                conn.commit()
            finally:
                if sqlite:
                    conn.rollback()
                    # the connection goes back to the pool: the web waits as long as ever
                    conn.connection.driver_connection.execute(
                        f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
    except (OperationalError, DBAPIError):
        log.debug("job %s: progress not written (database busy)", job_id)


def claim(job_id: int, backend: str) -> Job | None:
    """queued -> running, atomically; None when another worker has it or it is gone."""
    now = clock.now()
    done = db.session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now,
                finished_at=None, worker=WORKER, backend=backend, error=None, progress=0),
        execution_options={"synchronize_session": False})
    if done.rowcount != 1:
        db.session.rollback()
        return None
    db.session.commit()
    return db.session.get(Job, job_id, populate_existing=True)


# While a job runs, the cyclic garbage collector runs on every 50,000 net allocations, not
# 700: a recompute allocates rows by the million while the matcher's hundreds of thousands
# of objects stay alive, and each collection walked them (about a fifth of the CPU of an
# import's jobs at 1,000 × 4,000: 2.8 of 13.0 s; 0.5 s so). Garbage is still collected.
RELAXED_GC = (50_000, 50, 1_000)
_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "saved": None}


@contextlib.contextmanager
def relaxed_gc():
    """Process-wide (the thresholds are): the last of overlapping jobs restores them."""
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["saved"] = gc.get_threshold()
            gc.set_threshold(*RELAXED_GC)
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0:
                gc.set_threshold(*_gc_state["saved"])


def execute(job_id: int, backend: str) -> str | None:
    """Claim, run and record one job (own transactions). Returns its final status."""
    writing = JOB_RUNNING.set(True)  # SQLite: its transactions take the write lock first
    try:
        return _execute(job_id, backend)
    finally:
        # the job's row, read again once recorded, began a transaction (IMMEDIATE on SQLite)
        # that nothing ends here: the CLI running jobs in its process (run_here) held the
        # write lock until its next commit. Everything the job wrote is committed by now.
        db.session.rollback()
        JOB_RUNNING.reset(writing)


def _execute(job_id: int, backend: str) -> str | None:
    job = claim(job_id, backend)
    if job is None:
        return None
    spec = job_kind(job.kind)
    ctx = JobContext(job, inline=False)
    log.info("job %s (%s) started on %s", job.id, job.kind, backend)
    try:
        with relaxed_gc():
            result = spec.fn(ctx, **(job.params or {}))
        db.session.commit()
    except Exception as err:  # noqa: BLE001 whatever a job raises is recorded on its row
        db.session.rollback()
        _record_failure(job_id, err)
        return "failed"
    return _record_success(job_id, result)


def run_inline(job: Job) -> str:
    """Tests: run now, inside the caller's transaction (a failure undoes only the job's work)."""
    spec = job_kind(job.kind)
    job.status, job.attempts, job.backend, job.worker = "running", job.attempts + 1, "inline", WORKER
    job.started_at = job.heartbeat_at = clock.now()
    db.session.flush()
    try:
        with db.session.begin_nested():
            result = spec.fn(JobContext(job, inline=True), **(job.params or {}))
    except Exception as err:  # noqa: BLE001 whatever a job raises is recorded on its row
        job.status, job.error, job.finished_at = "failed", describe(err), clock.now()
        db.session.flush()
        return "failed"
    _finish(job, result)
    db.session.flush()
    children = db.session.info.pop(INLINE_CHILDREN, [])
    for child in children:
        run_inline(child)
    _child_finished(job, inline=True)
    return job.status


def describe(err: Exception) -> str:
    """The reason a job failed, as the admin page shows it (Chinese when the service said)."""
    if isinstance(err, ServiceError):
        return err.message
    return f"{type(err).__name__}: {err}"[:2000]


def _record_failure(job_id: int, err: Exception) -> None:
    log.warning("job %s failed: %s", job_id, type(err).__name__)
    log.debug("job %s traceback:\n%s", job_id, traceback.format_exc())
    job = db.session.get(Job, job_id, populate_existing=True)
    job.status, job.error, job.finished_at = "failed", describe(err), clock.now()
    if job.parent_id is not None:
        parent = db.session.get(Job, job.parent_id)
        if parent is not None and parent.status == "running":
            parent.status, parent.finished_at = "failed", clock.now()
            parent.error = f"第{job.params.get('part', '?')}部分失败：{job.error}"[:2000]
    db.session.commit()


def _record_success(job_id: int, result) -> str:
    job = db.session.get(Job, job_id, populate_existing=True)
    _finish(job, result)
    db.session.commit()
    _child_finished(job, inline=False)
    return job.status


def _finish(job: Job, result) -> None:
    if job.children_total and job.children_done < job.children_total:
        # its children carry on; the last one to finish completes it (see _child_finished)
        job.status, job.worker = "running", None
        job.message = job.message or "等待各部分完成"
    else:
        job.status, job.progress, job.finished_at = "done", 100, clock.now()
    job.result = result if isinstance(result, dict) else ({"value": result}
                                                           if result is not None else None)


def _child_finished(job: Job, inline: bool) -> None:
    """Count a finished child on its parent; the last one runs the parent's finalize step."""
    if job.parent_id is None:
        return
    row = db.session.execute(
        update(Job).where(Job.id == job.parent_id)
        .values(children_done=Job.children_done + 1)
        .returning(Job.children_done, Job.children_total)).one()
    if not inline:
        db.session.commit()
    done, total = row
    parent = db.session.get(Job, job.parent_id, populate_existing=True)
    parent.progress = min(99, int(100 * done / max(total, 1)))
    parent.message = f"已完成{done}/{total}部分"
    if done < total:
        db.session.flush() if inline else db.session.commit()
        return
    spec = job_kind(parent.kind)
    try:
        result = spec.finalize(JobContext(parent, inline), **(parent.params or {})) \
            if spec.finalize else parent.result
    except Exception as err:
        if inline:
            raise
        db.session.rollback()
        _record_failure(parent.id, err)
        return
    parent.status, parent.progress, parent.finished_at = "done", 100, clock.now()
    parent.error = None
    parent.result = result if isinstance(result, dict) else parent.result
    db.session.flush() if inline else db.session.commit()


# --- after a crash ------------------------------------------------------------------------------

def recover() -> int:
    """Requeue the jobs whose worker died under them (its process is gone, or it has been
    silent for STALE_AFTER), or fail them after max_attempts; re-dispatch queued jobs nobody
    holds. Returns how many were touched."""
    now = clock.now()
    running = db.session.scalars(select(Job).where(Job.status == "running",
                                                   Job.children_total == 0)).all()
    touched = []
    for job in running:
        if not _lost(job, now):
            continue
        if job.attempts >= _max_attempts(job):
            job.status, job.finished_at = "failed", now
            job.error = "处理该任务的进程已停止，且已达到最多重试次数"
        else:
            job.status, job.worker = "queued", None
            job.message = "处理进程已停止，任务重新排队"
            touched.append(job.id)
    if backend_name() == "thread":
        # queued rows whose in-memory queue died with its process (claiming makes a second
        # delivery of a job still waiting elsewhere harmless)
        touched += db.session.scalars(select(Job.id).where(
            Job.status == "queued", Job.created_at < now - ORPHAN_AFTER)).all()
    db.session.commit()
    app = current_app._get_current_object()
    for job_id in dict.fromkeys(touched):
        dispatch(app, job_id)
    if touched:
        log.info("jobs recovered: %d dispatched again", len(touched))
    return len(touched)


def _lost(job: Job, now) -> bool:
    host, _, pid = (job.worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
        return True
    beat = job.heartbeat_at or job.started_at
    return beat is None or now - beat > STALE_AFTER


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _max_attempts(job: Job) -> int:
    try:
        return job_kind(job.kind).max_attempts
    except LookupError:
        return 1
