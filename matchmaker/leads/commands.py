"""`matchmaker leads sweep`: the job cron runs (daily, or hourly: it is idempotent)."""
import click
from flask.cli import with_appcontext

from .. import clock
from ..extensions import db
from . import supervision


@click.group("leads")
def leads_group():
    """线索的维护命令。"""


@leads_group.command("sweep")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="按此日期判断是否超时（默认今天，北京时间）")
@with_appcontext
def sweep_command(today):
    """将推送后超时无人认领的线索列入督办、收回超时未联系的认领、将超过审批时限的线索列入督办并通知机构管理员、关闭已结束需求的线索。"""
    day = today.date() if today else clock.china_today()
    report = supervision.sweep(day)
    db.session.commit()
    for lead in report.unclaimed:
        click.echo(f"lead {lead.id}: unclaimed since the push (claim due {lead.claim_due})")
    for claim in report.lapsed:
        click.echo(f"lead {claim.lead_id}: claim {claim.id} lapsed (contact due {claim.contact_due})")
    for claim in report.escalated:
        click.echo(f"lead {claim.lead_id}: claim {claim.id} escalated "
                   f"(decision due {claim.decision_due})")
    for lead in report.closed:
        click.echo(f"lead {lead.id}: closed (need {lead.need.status})")
    click.echo(report.summary())


COMMANDS = (leads_group,)
