"""Notification rows (one per user and event) and each user's delivery preference.

The preference lives in its own table so that the users table stays as the accounts domain
designed it.
"""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # an action code such as lead.claimed
    # the text shown and mailed: ids, statuses and product names only, never credit data
    message: Mapped[str] = mapped_column(String(255))
    link: Mapped[str | None] = mapped_column(String(255))  # a path inside the platform
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    user = relationship("User")

    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationPreference(db.Model):
    """Whether the user wants one e-mail a day listing what arrived since the last one."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    last_digest_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user = relationship("User")
