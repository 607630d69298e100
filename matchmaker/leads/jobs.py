"""Leads' background job: the deadline sweep (`matchmaker jobs cron` runs it hourly)."""
from ..jobs import job
from . import supervision


@job("leads.sweep", "线索到期检查（无人认领列入督办、收回超时认领、列入督办、关闭已结束需求的线索）")
def sweep(ctx) -> dict:
    report = supervision.sweep()
    return {"summary": report.summary(), "unclaimed": len(report.unclaimed), "lapsed": len(report.lapsed),
            "escalated": len(report.escalated), "closed": len(report.closed)}
