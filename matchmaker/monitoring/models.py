"""监测督导 data the organizers and banks keep: targets (with their source), off-platform
activities (路演, 银担企对接), the banks' monthly 制造业贷款 return, the bank scorecard's
criteria, and the generated reports to 市经信委."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import vocab
from ..extensions import db
from ..types import utcnow

ACTIVITY_KINDS = ("roadshow", "bank_guarantor_enterprise", "training", "other")
ACTIVITY_LABELS = {"roadshow": "路演", "bank_guarantor_enterprise": "银担企对接",
                   "training": "政策宣讲/培训", "other": "其他对接活动"}
REPORT_KINDS = ("monthly", "quarterly")
REPORT_LABELS = {"monthly": "月报", "quarterly": "季报"}


class Target(db.Model):
    """One figure the documents set a target for; `value` in the indicator's unit (% or
    家次), `direction` says whether the figure must reach it (min) or stay under it (max)."""

    __tablename__ = "monitoring_targets"
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit: Mapped[str] = mapped_column(String(8))
    direction: Mapped[str] = mapped_column(String(4), default="min")
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (CheckConstraint("direction IN ('min', 'max')", name="direction"),)


class Activity(db.Model):
    """An off-platform activity (路演, 银担企对接 …) an organizer records, so the enterprises
    served count (渝经信规范〔2024〕7号: 每年对接服务企业1000家(次)) includes it."""

    __tablename__ = "monitoring_activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(128))
    day: Mapped[date] = mapped_column(Date, index=True)
    district: Mapped[str | None] = mapped_column(String(32), index=True)  # NULL: city level
    enterprises: Mapped[int] = mapped_column(Integer)
    institutions: Mapped[int] = mapped_column(Integer, default=0)
    attendees: Mapped[str | None] = mapped_column(Text)  # names, one a line
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("kind", ACTIVITY_KINDS), name="kind"),
        CheckConstraint("enterprises >= 0 AND institutions >= 0", name="counts"),
        CheckConstraint(f"district IS NULL OR {vocab.sql_in('district', 'districts')}",
                        name="district"),
    )

    @property
    def kind_label(self) -> str:
        return ACTIVITY_LABELS[self.kind]


class BankReturn(db.Model):
    """A bank's monthly 制造业贷款 return (渝经信规范〔2024〕7号 五(五): 制造业贷款占比和增速):
    the platform cannot see a bank's whole book, so the bank files these figures."""

    __tablename__ = "monitoring_bank_returns"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month reported
    loans_total_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 各项贷款余额
    mfg_balance_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 制造业贷款余额
    mfg_increase_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 当月增量 (may be < 0)
    long_term_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 制造业中长期贷款余额
    credit_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 制造业信用贷款余额
    first_loan_borrowers: Mapped[int] = mapped_column(Integer)  # 当月制造业首贷户
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    institution = relationship("Institution", lazy="joined")
    __table_args__ = (
        UniqueConstraint("institution_id", "month", name="uq_monitoring_bank_returns_month"),
        CheckConstraint("loans_total_wan >= mfg_balance_wan AND mfg_balance_wan >= 0",
                        name="balances"),
        CheckConstraint("long_term_wan >= 0 AND credit_wan >= 0 AND long_term_wan <= "
                        "mfg_balance_wan AND credit_wan <= mfg_balance_wan", name="parts"),
        CheckConstraint("first_loan_borrowers >= 0", name="first_loans"),
    )

    @property
    def mfg_share(self) -> Decimal | None:
        if not self.loans_total_wan:
            return None
        return 100 * self.mfg_balance_wan / self.loans_total_wan


class ScoreCriterion(db.Model):
    """One line of the bank scorecard: what it measures and its weight (points out of 100)."""

    __tablename__ = "monitoring_score_criteria"
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    source: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (CheckConstraint("weight >= 0 AND weight <= 100", name="weight"),)


class Report(db.Model):
    """A generated report to 市经信委 (monthly or quarterly Excel), kept as a dated file."""

    __tablename__ = "monitoring_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    district: Mapped[str | None] = mapped_column(String(32))  # NULL: the whole city
    filename: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (CheckConstraint(vocab.sql_in_values("kind", REPORT_KINDS), name="kind"),)

    @property
    def kind_label(self) -> str:
        return REPORT_LABELS[self.kind]


class Snapshot(db.Model):
    """The monitoring page's figures for one period and slice, computed once and read by every
    web worker (monitoring/snapshots.py). `stamp` names the leads they were computed from (the
    district's, or all); `computed_at` is when the computation started: the page shows it."""

    __tablename__ = "monitoring_snapshots"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    district: Mapped[str | None] = mapped_column(String(32), index=True)
    figures: Mapped[dict] = mapped_column(JSON)
    stamp: Mapped[str] = mapped_column(String(64))
    standard: Mapped[bool] = mapped_column(default=False)  # kept warm by the refresh job
    computed_at: Mapped[datetime]
    viewed_at: Mapped[datetime | None]
