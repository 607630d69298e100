"""Dated policy figures (LPR, subsidy programs, platform settings) and the working-day
calendar's overrides: data an administrator edits, never constants."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .. import vocab
from ..extensions import db
from ..types import RATE, utcnow


class ReferenceRate(db.Model):
    """Loan Prime Rate quotes; the one in force on a day is the latest effective_from <= day."""

    __tablename__ = "reference_rates"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    rate: Mapped[Decimal] = mapped_column(RATE)
    effective_from: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN ('lpr_1y', 'lpr_5y')", name="kind"),
        CheckConstraint("rate >= 0", name="rate"),
        UniqueConstraint("kind", "effective_from", name="uq_reference_rates_kind_day"),
    )


class SubsidyProgram(db.Model):
    """A policy support program with its settings (shares, caps) and validity dates."""

    __tablename__ = "subsidy_programs"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    label: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(128))
    rule_text: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict] = mapped_column(JSON)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        CheckConstraint(vocab.sql_in("code", "subsidy_programs"), name="code"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from",
                        name="dates"),
    )


class Setting(db.Model):
    """Editable platform settings (claim limit K, event targets …), JSON values by key."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | int | float | str] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WorkdayOverride(db.Model):
    """A day whose working status the administrator sets by hand: for years the
    chinese-calendar package does not know yet (国务院办公厅 publishes each year's holidays in
    the preceding autumn), or to correct it."""

    __tablename__ = "workday_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
