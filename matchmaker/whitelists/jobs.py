"""Whitelists' background job: the answer-deadline sweep (daily, `matchmaker jobs cron`)."""
from ..jobs import job
from . import answers


@job("whitelists.sweep", "白名单反馈到期检查")
def sweep(ctx) -> dict:
    report = answers.sweep()
    return {"summary": report.summary(), "escalated": len(report.escalated)}
