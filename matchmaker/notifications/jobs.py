"""Notifications' background job: the daily digest (`matchmaker jobs cron`)."""
from ..jobs import job
from . import service


@job("notifications.digest", "发送每日消息摘要", max_attempts=1)
def digest(ctx) -> dict:
    return {"sent": service.send_digests()}
