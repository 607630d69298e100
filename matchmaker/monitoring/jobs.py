"""Monitoring's background jobs: the monthly-return reminders (daily, `matchmaker jobs cron`)
and the reports to 市经信委."""
from ..jobs import job
from . import returns


@job("monitoring.remind_returns", "制造业贷款月报截止前提醒")
def remind_returns(ctx) -> dict:
    return {"reminded": returns.remind()}
