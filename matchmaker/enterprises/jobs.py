"""Enterprises' background job: expiring stale needs (daily, `matchmaker jobs cron`)."""
from ..jobs import job
from . import service


@job("needs.expire", "过期失效的融资需求")
def expire(ctx) -> dict:
    return {"expired": len(service.expire_needs())}
