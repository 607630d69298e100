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
