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
    """A policy support programme as data an administrator writes (issue 15): who qualifies
    (`eligibility`), what it pays (`benefit`, `basis` and the figures in `settings`), to whom
    (`payee`), when (`effective_from`/`_to`), with what it stacks, and the sentence of the
    document it implements. Every edit is a new `version`, its snapshot kept in
    SubsidyProgramVersion. The calculator is institutions/subsidies.py."""

    __tablename__ = "subsidy_programs"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    label: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(128))          # the document (文号) and article
    rule_text: Mapped[str] = mapped_column(Text)               # the rule in plain Chinese
    quote: Mapped[str] = mapped_column(Text, default="")       # the sentence it implements
    how_to_apply: Mapped[str] = mapped_column(Text, default="")
    benefit: Mapped[str] = mapped_column(String(16), default="rate_share")
    payee: Mapped[str] = mapped_column(String(16), default="enterprise")
    basis: Mapped[str] = mapped_column(String(8), default="year")
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict)
    stacks_with: Mapped[list] = mapped_column(JSON, default=list)
    settings: Mapped[dict] = mapped_column(JSON)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from",
                        name="dates"),
        CheckConstraint("benefit IN ('rate_share', 'rate_points', 'fee_share', 'use_fee')",
                        name="benefit"),
        CheckConstraint("payee IN ('enterprise', 'guarantor')", name="payee"),
        CheckConstraint("basis IN ('year', 'day')", name="basis"),
        CheckConstraint("version >= 1", name="version"),
    )

    def in_force(self, day: date) -> bool:
        """True on every day from effective_from to effective_to, both included (as the
        calculator's record, institutions.subsidies.SubsidyProgram.in_force)."""
        return self.effective_from <= day and (self.effective_to is None
                                               or day <= self.effective_to)


class SubsidyProgramVersion(db.Model):
    """What a programme said from one edit to the next: the snapshot of every field."""

    __tablename__ = "subsidy_program_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programs.id"), index=True)
    version: Mapped[int]
    snapshot: Mapped[dict] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (UniqueConstraint("program_id", "version",
                                       name="uq_subsidy_program_versions_program_version"),)


class ProgramConfirmation(db.Model):
    """An organizer's confirmation that a product's loans can draw a programme. A bank's
    declaration (the product's subsidy_programs) is only a request: the calculator counts a
    programme for a product only when it is both declared and confirmed here."""

    __tablename__ = "program_confirmations"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    program_code: Mapped[str] = mapped_column(String(48), primary_key=True)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


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
