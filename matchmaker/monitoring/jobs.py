"""Monitoring's background jobs: the monthly-return reminders (daily, `matchmaker jobs cron`)
and the reports to 市经信委."""
from ..jobs import job
from . import report, returns, snapshots


@job("monitoring.remind_returns", "制造业贷款月报截止前提醒")
def remind_returns(ctx) -> dict:
    return {"reminded": returns.remind()}


@job("monitoring.report", "生成监测报告（报市经信委）", timeout=1800, max_attempts=2)
def make_report(ctx, kind: str, start: str, district: str | None = None) -> dict:
    from datetime import date

    ctx.progress(10, "正在汇总指标")
    made = report.generate(ctx.actor, kind, date.fromisoformat(start), district)
    return {"report": made.id, "filename": made.filename}


@job("monitoring.reports_due", "生成到期的月报、季报")
def reports_due(ctx) -> dict:
    made = [report.generate(None, kind, start).filename for kind, start in report.due_reports()]
    return {"made": made}


@job("monitoring.refresh", "更新监测督导数据", timeout=1800)
def refresh_snapshots(ctx, warm: bool = True) -> dict:
    """From cron (warm: the standard views too) and when leads change (warm=False)."""
    return snapshots.refresh(max_age=snapshots.max_age_setting(), warm=warm,
                             commit=ctx.commit)
