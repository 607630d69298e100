"""Background jobs: enqueue work now, run it in a worker, show its progress. Flush, never
commit (the caller's transaction carries the Job row; it is dispatched once that commits, so
a worker never sees a job whose cause was rolled back).

    from matchmaker import jobs
    job = jobs.enqueue("matching.product", {"product_id": p.id}, actor=user,
                       description="更新产品的匹配结果", key=f"matching.product:{p.id}")

`key` coalesces: while a job with the same key waits in the queue, enqueue returns that one (it
reads the database when it starts, so it sees the later change too).
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from . import runner
from .models import ACTIVE, Job
from .permissions import can_retry_job
from .registry import kind as job_kind

log = logging.getLogger(__name__)

_PENDING = "matchmaker_jobs_pending"


def enqueue(kind: str, params: dict | None = None, *, actor=None, description: str | None = None,
            key: str | None = None, parent: Job | None = None) -> Job:
    """A Job row in the caller's transaction, run once that commits (JOBS_BACKEND inline:
    at once, in this transaction). A queued job of the same key is returned instead, locked
    until the caller commits (active_job; one another transaction holds is passed over)."""
    spec = job_kind(kind)
    if key is not None:
        waiting = db.session.scalar(select(Job).where(Job.key == key, Job.status == "queued")
                                    .order_by(Job.id).limit(1)
                                    .with_for_update(skip_locked=True))
        if waiting is not None:
            return waiting
    job = Job(kind=kind, params=dict(params or {}), description=(description or spec.label)[:200],
              key=key, started_by_id=getattr(actor, "id", None),
              parent_id=parent.id if parent is not None else None, status="queued",
              progress=0, attempts=0, created_at=clock.now())
    db.session.add(job)
    db.session.flush()
    if runner.backend_name() == "inline":
        if parent is not None:  # run once the parent's own function returned
            db.session.info.setdefault(runner.INLINE_CHILDREN, []).append(job)
        else:
            runner.run_inline(job)
    else:
        db.session.info.setdefault(_PENDING, []).append((job.id, spec.timeout))
    return job


def run_now(kind: str, params: dict | None = None, *, actor=None,
            description: str | None = None) -> Job:
    """The CLI in the foreground: commit a job and run it (and what it enqueues) here."""
    job = enqueue(kind, params, actor=actor, description=description)
    if runner.backend_name() == "inline":
        return job
    db.session.info.pop(_PENDING, None)
    db.session.commit()
    runner.run_here(job.id)
    return db.session.get(Job, job.id, populate_existing=True)


def commit_and_run_here() -> None:
    """The CLI: commit, then run what this transaction enqueued here and now (the seed's
    scenes need the import's matches; a command should end with its work done)."""
    pending = db.session.info.pop(_PENDING, [])
    db.session.commit()
    for job_id, _timeout in pending:
        runner.run_here(job_id)


@sa_event.listens_for(Session, "after_commit")
def _dispatch_committed(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    app = current_app._get_current_object()
    for job_id, timeout in pending:
        runner.dispatch(app, job_id, timeout)


@sa_event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session) -> None:
    session.info.pop(_PENDING, None)


@guarded(can_retry_job, "job", message="只能重试失败的任务")
def retry(actor, job: Job) -> Job:
    """An admin runs a failed job again (from the start: jobs are written to be re-run)."""
    if job.children_total:
        raise ServiceError("该任务由多个部分组成，请重试失败的部分")
    job.status, job.error, job.progress, job.finished_at = "queued", None, 0, None
    job.message = "管理员已重新排队"
    db.session.flush()
    record(actor, "job.retried", job, kind=job.kind, attempts=job.attempts)
    db.session.info.setdefault(_PENDING, []).append((job.id, job_kind(job.kind).timeout))
    if runner.backend_name() == "inline":
        db.session.info.pop(_PENDING, None)
        runner.run_inline(job)
    return job


# --- reading -----------------------------------------------------------------------------------

def jobs_page(status: str | None, page: int, per_page: int = 30):
    query = select(Job).order_by(Job.id.desc())
    if status:
        query = query.where(Job.status == status)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def counts() -> dict[str, int]:
    from sqlalchemy import func

    return {status: n for status, n in db.session.execute(
        select(Job.status, func.count(Job.id)).group_by(Job.status))}


def in_progress(key: str) -> bool:
    """The latest job of this key is queued or running, or a part of it is (a failed part an
    admin retried: the parent stays failed until its last part is done)."""
    latest = db.session.scalar(select(Job).where(Job.key == key)
                               .order_by(Job.id.desc()).limit(1))
    if latest is None:
        return False
    return latest.status in ACTIVE or db.session.scalar(
        select(Job.id).where(Job.parent_id == latest.id, Job.status.in_(ACTIVE)).limit(1)
    ) is not None


def active_job(key: str, *, queued_only: bool = False) -> Job | None:
    """The queued (or running) job of this key, if any (a page shows "正在更新" meanwhile).
    queued_only: the caller leaves its change to that job, so the row is locked until the
    caller commits (on PostgreSQL): a worker's claim waits, and the job, which reads what to
    do once claimed, sees the change; seen unlocked, it could start just before the commit.
    A row another transaction holds (a worker claiming it, a long job that joined it) is
    passed over, never waited for: the caller then starts a job of its own."""
    statuses = ("queued",) if queued_only else ACTIVE
    query = (select(Job).where(Job.key == key, Job.status.in_(statuses))
             .order_by(Job.id.desc()).limit(1))
    return db.session.scalar(query.with_for_update(skip_locked=True) if queued_only else query)
