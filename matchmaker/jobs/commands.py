"""`matchmaker jobs …`: the RQ worker, and what an operator needs when one died."""
import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from . import runner
from .models import Job

log = logging.getLogger(__name__)


@click.group("jobs")
def jobs_group():
    """后台任务：RQ worker、恢复中断的任务、查看队列。"""


@jobs_group.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
@with_appcontext
def worker_command(burst):
    """Run jobs from Redis (MATCHMAKER_REDIS_URL); start one or more beside gunicorn."""
    from rq.worker import SimpleWorker

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("MATCHMAKER_REDIS_URL is not set: jobs run inside the web "
                                   "process, no worker is needed")
    runner._APP = app
    queue = runner._rq_queue(app)
    queue.connection.ping()  # fail now, loudly, when Redis is down
    runner.recover()
    db.session.remove()
    # SimpleWorker: no fork per job, so the matcher and the need index stay warm
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, logging_level="WARNING")


# what cron ran before (README "Jobs to run from cron"), as jobs: recorded, retryable, visible
PERIODIC = (("leads.sweep", "5 * * * *"), ("whitelists.sweep", "20 1 * * *"),
            ("needs.expire", "40 1 * * *"), ("institutions.reprice_lpr", "10 1 * * *"),
            ("notifications.digest", "0 8 * * *"), ("matching.all", "30 2 * * *"),
            ("monitoring.remind_returns", "0 9 * * *"), ("monitoring.reports_due", "30 9 * * *"),
            ("retention.prune", "15 3 * * 0"), ("monitoring.refresh", "*/15 * * * *"))


@jobs_group.command("cron")
@with_appcontext
def cron_command():
    """Enqueue the periodic jobs on their schedule (Beijing-time cron lines in UTC+8 hosts;
    RQ's cron scheduler, beside the workers). Without Redis, keep the cron commands."""
    from rq.cron import CronScheduler

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("MATCHMAKER_REDIS_URL is not set: run the `matchmaker … "
                                   "sweep` commands from the system cron instead")
    queue = runner._rq_queue(app)
    runner._APP = app
    scheduler = CronScheduler(connection=queue.connection, logging_level="WARNING")
    for kind, line in PERIODIC:
        scheduler.register(runner.periodic, queue.name, args=(kind,), cron=line)
    scheduler.start()


@jobs_group.command("run")
@click.argument("kind")
@with_appcontext
def run_command(kind):
    """Run one job kind now, here (e.g. `matchmaker jobs run leads.sweep`)."""
    from . import service
    from .registry import REGISTRY

    if kind not in REGISTRY:
        raise click.UsageError(f"unknown job kind {kind}; known: {', '.join(sorted(REGISTRY))}")
    job = service.run_now(kind)
    click.echo(f"job #{job.id} {job.status}: {job.result or job.error}")
    if job.status != "done":
        raise SystemExit(1)


@jobs_group.command("recover")
@with_appcontext
def recover_command():
    """Requeue jobs whose worker died (also done at every worker start)."""
    click.echo(f"{runner.recover()} job(s) dispatched again")


@jobs_group.command("list")
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed"]))
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def list_command(status, limit):
    """The latest jobs."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    for job in db.session.scalars(query):
        click.echo(f"#{job.id:<6} {job.status:<8} {job.progress:>3}%  {job.kind:<28} "
                   f"attempts={job.attempts}  {job.error or job.message or ''}")


COMMANDS = [jobs_group]
