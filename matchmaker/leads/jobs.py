"""Leads' background job: the deadline sweep (`matchmaker jobs cron` runs it hourly)."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from .. import clock
from ..audit.service import RETENTION_FLOOR_DAYS, prune_before
from ..extensions import db
from ..jobs import job
from . import supervision
from .models import Consent


@job("leads.sweep", "线索到期检查（无人认领列入督办、收回超时认领、列入督办、关闭已结束需求的线索）")
def sweep(ctx) -> dict:
    report = supervision.sweep()
    return {"summary": report.summary(), "unclaimed": len(report.unclaimed), "lapsed": len(report.lapsed),
            "escalated": len(report.escalated), "closed": len(report.closed)}


def prune_expired_records() -> dict:
    """Retention (issue 19): audit entries and revoked consents older than RETENTION_DAYS
    (never less than 183 days: 6 months, PIPL practice; the database refuses younger audit
    deletes itself) are deleted. A consent still in force is kept whatever its age."""
    days = max(int(current_app.config.get("RETENTION_DAYS", 366)), RETENTION_FLOOR_DAYS)
    cutoff = clock.now() - timedelta(days=days)
    consents = db.session.execute(delete(Consent).where(
        Consent.revoked_at.is_not(None), Consent.revoked_at < cutoff)).rowcount
    audit = prune_before(cutoff)
    return {"cutoff": cutoff.isoformat(), "audit_entries": audit, "consents": consents}


@job("retention.prune", "删除超过保存期限的审计记录和已撤回的授权", max_attempts=1)
def prune(ctx) -> dict:
    return prune_expired_records()
