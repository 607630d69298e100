"""Notify users in the app (the bell) and, when asked, by e-mail. Flush, never commit.

E-mail is queued on the session and sent only after the transaction commits (an
`after_commit` hook): a request that fails and rolls back never mails about something that
did not happen. SMTP is optional (matchmaker.mail writes .eml files to instance/outbox
without it). Messages carry ids, statuses and product names, never credit data or contacts:
mail leaves the platform.
"""
import logging
from datetime import datetime, timedelta

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..accounts.models import User
from ..accounts.permissions import is_signed_in
from ..audit.service import record
from ..extensions import db
from ..guards import guarded
from ..mail import send_mail
from ..types import utcnow
from .models import Notification, NotificationPreference
from .permissions import owns_notification

log = logging.getLogger(__name__)
PENDING = "matchmaker.pending_mail"
SUBJECT_PREFIX = "【银企融资对接平台】"


def notify(user: User, kind: str, message: str, link: str | None = None,
           email: bool = False) -> Notification | None:
    """One bell entry for the user; with email=True also a mail, sent once the caller's
    transaction commits. Inactive users are skipped (None)."""
    if user is None or not user.active:
        return None
    note = Notification(user_id=user.id, kind=kind, message=message[:255], link=link)
    db.session.add(note)
    if email and user.email:
        note.emailed_at = utcnow()
        _queue_mail(user.email, SUBJECT_PREFIX + message[:60], _mail_body(message, link))
    return note


def notify_all(users, kind: str, message: str, link: str | None = None,
               email: bool = False) -> int:
    return sum(1 for user in users if notify(user, kind, message, link, email) is not None)


def _absolute(link: str | None) -> str | None:
    if not link:
        return None
    if has_request_context():
        return request.host_url.rstrip("/") + link
    base = current_app.config.get("BASE_URL") if has_app_context() else None
    return (base.rstrip("/") + link) if base else link


def _mail_body(message: str, link: str | None) -> str:
    lines = [message, ""]
    if link:
        lines += ["查看详情：" + _absolute(link), ""]
    lines.append("此邮件由银企融资对接平台自动发送，请勿直接回复。可在平台“消息通知”页设置每日摘要。")
    return "\n".join(lines)


def _queue_mail(to: str, subject: str, body: str) -> None:
    db.session.info.setdefault(PENDING, []).append((to, subject, body))


@sa_event.listens_for(Session, "after_commit")
def _send_queued(session) -> None:
    pending = session.info.pop(PENDING, None)
    for to, subject, body in pending or ():
        try:
            send_mail(to, subject, body)
        except OSError:  # SMTP down: the bell entry stands; the digest will carry it
            log.exception("notification mail could not be sent")


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_queued(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(PENDING, None)


# --- reading -------------------------------------------------------------------------------

def user_notifications(user):
    return (select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(),
                      Notification.id.desc()))


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


@guarded(owns_notification, "note", message="这条消息不是发给您的")
def mark_read(actor, note: Notification) -> Notification:
    if note.read_at is None:
        note.read_at = utcnow()
    return note


@guarded(is_signed_in, message="请先登录")
def mark_all_read(actor) -> int:
    result = db.session.execute(update(Notification)
                                .where(Notification.user_id == actor.id,
                                       Notification.read_at.is_(None))
                                .values(read_at=utcnow()))
    return result.rowcount


# --- the daily digest ----------------------------------------------------------------------

def preference(user) -> NotificationPreference:
    return db.session.get(NotificationPreference, user.id) or NotificationPreference(
        user_id=user.id, daily_digest=False)


@guarded(is_signed_in, message="请先登录")
def set_daily_digest(actor, enabled: bool) -> NotificationPreference:
    pref = db.session.get(NotificationPreference, actor.id)
    if pref is None:
        pref = NotificationPreference(user_id=actor.id, daily_digest=enabled)
        db.session.add(pref)
    before = pref.daily_digest if pref.daily_digest is not None else False
    pref.daily_digest = enabled
    pref.updated_at = utcnow()
    db.session.flush()
    record(actor, "notification_preference.updated", _PreferenceSubject(actor.id),
           daily_digest=enabled, before=before)
    return pref


class _PreferenceSubject:
    """The preference row is keyed by user; the audit row names the user's id."""

    __tablename__ = "notification_preferences"

    def __init__(self, user_id: int):
        self.id = user_id


def send_digests(now: datetime | None = None) -> int:
    """One mail per opted-in active user with the notifications that arrived since their last
    digest (at most a day back for the first one); users with nothing new get no mail."""
    now = now or utcnow()
    sent = 0
    prefs = db.session.scalars(select(NotificationPreference).join(NotificationPreference.user)
                               .where(NotificationPreference.daily_digest.is_(True),
                                      User.active.is_(True))
                               .order_by(NotificationPreference.user_id)).all()
    for pref in prefs:
        since = pref.last_digest_at or now - timedelta(days=1)
        notes = db.session.scalars(select(Notification).where(
            Notification.user_id == pref.user_id, Notification.created_at > since,
            Notification.created_at <= now).order_by(Notification.created_at)).all()
        pref.last_digest_at = now
        if not notes:
            continue
        _queue_mail(pref.user.email, f"{SUBJECT_PREFIX}每日摘要：{len(notes)}条新消息",
                    _digest_body(notes))
        sent += 1
    db.session.flush()
    log.info("daily digest queued for %s user(s)", sent)
    return sent


def _digest_body(notes) -> str:
    lines = [f"您有 {len(notes)} 条新消息：", ""]
    for note in notes:
        when = clock.china_time(note.created_at, "%m-%d %H:%M")
        lines.append(f"· {when} {note.message}")
        if note.link:
            lines.append(f"  {_absolute(note.link)}")
    lines += ["", "如不再需要每日摘要，可在平台“消息通知”页关闭。"]
    return "\n".join(lines)
