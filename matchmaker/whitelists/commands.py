"""`matchmaker whitelists sweep`: the job cron runs daily (idempotent)."""
import click
from flask.cli import with_appcontext

from .. import clock
from ..extensions import db
from . import answers


@click.group("whitelists")
def whitelists_group():
    """白名单的维护命令。"""


@whitelists_group.command("sweep")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="按此日期判断是否超过反馈截止日期（默认今天，北京时间）")
@with_appcontext
def sweep_command(today):
    """将超过反馈截止日期仍未反馈的白名单推送列入督办，并通知机构管理员（每批每机构一次）。"""
    day = today.date() if today else clock.china_today()
    report = answers.sweep(day)
    db.session.commit()
    for push in report.escalated:
        click.echo(f"push {push.id}: whitelist {push.entry.whitelist_id}, institution "
                   f"{push.institution_id} escalated")
    click.echo(report.summary())


COMMANDS = (whitelists_group,)
