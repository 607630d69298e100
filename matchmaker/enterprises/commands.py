"""`matchmaker needs expire`: the daily job that expires stale published needs."""
from datetime import date

import click
from flask.cli import with_appcontext

from .. import clock
from ..extensions import db
from . import service


@click.group("needs")
def needs_group():
    """融资需求的维护命令。"""


@needs_group.command("expire")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="按此日期判断（默认今天，北京时间）")
@click.option("--dry-run", is_flag=True, help="只列出将过期的需求，不写入")
@with_appcontext
def expire_command(today, dry_run):
    """将已发布但失效的需求标记为“已过期”：续贷需求的现贷款到期日已过，或超过180天未更新。"""
    day: date = today.date() if today else clock.china_today()
    if dry_run:
        for need in service.needs_to_expire(day):
            click.echo(f"{need.ref} would expire")
        return
    expired = service.expire_needs(day)
    db.session.commit()
    for need in expired:
        click.echo(f"{need.ref} expired: {need.status_reason}")
    click.echo(f"{len(expired)} need(s) expired")


COMMANDS = (needs_group,)
