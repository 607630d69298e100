"""`matchmaker notifications digest`: the daily e-mail digest (cron, once a day)."""
import click
from flask.cli import with_appcontext

from ..extensions import db
from . import service


@click.group("notifications")
def notifications_group():
    """消息通知的维护命令。"""


@notifications_group.command("digest")
@with_appcontext
def digest_command():
    """向开启“每日摘要”的用户发送一封邮件，列出上次摘要以来的新消息（没有新消息则不发）。"""
    sent = service.send_digests()
    db.session.commit()  # the mails go out once this commits
    click.echo(f"{sent} digest(s) sent")


COMMANDS = (notifications_group,)
