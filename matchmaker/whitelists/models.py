"""Whitelist batches (白名单), their entries, the pushes to institutions, enterprise flags.

渝经信规范〔2024〕7号 五（一）: 完善制造业企业（项目）融资需求白名单推送机制 — districts
collect the enterprises' needs, the city pushes them to banks, banks answer.
渝府办发〔2020〕76号 （五）: 制造业重点项目白名单 — the same machinery, kind "key_projects".

A Whitelist is one dated batch ("2026年第4批 制造业融资需求白名单"). It moves
draft (the owner edits) → submitted (to the city) → pushed → closed (read-only); a correction
after closing is a new version (previous_id links it, the entries are copied).

A WhitelistEntry is one enterprise's need on the batch, with what was asked for frozen at the
time it was listed (amount, purpose, term, cluster), so a later edit of the need never rewrites
a closed batch.

A Push is one entry offered to one institution: proposed by the allocation (allocation.py) or
by the organizer, then sent — sending opens the Lead (leads.service.open_lead, source
"whitelist") and links it here. The bank's answer is the lead's own outcome (claimed,
contacted, approved, declined); only the disbursement terms are kept here, beside the lead.

An EnterpriseFlag marks an enterprise "in difficulty" (渝府办发〔2020〕76号（四）: 困难企业
一企一策脱困) with an organizer's reason: an exit rule of the whitelist.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from .. import vocab
from ..extensions import db
from ..types import RATE, WAN, utcnow

KINDS = ("needs", "key_projects")
KIND_LABELS = {"needs": "制造业中小微企业融资需求白名单", "key_projects": "制造业重点项目白名单"}
STATUSES = ("draft", "submitted", "pushed", "closed")
STATUS_LABELS = {"draft": "草稿", "submitted": "已报送市级", "pushed": "已推送", "closed": "已结束"}
STATUS_STYLES = {"draft": "secondary", "submitted": "info", "pushed": "primary",
                 "closed": "dark"}
# batches whose entries still count for the "already on another open list" rule
OPEN_STATUSES = ("draft", "submitted", "pushed")

ENTRY_SOURCES = ("platform", "spreadsheet", "copied")
PUSH_STATUSES = ("proposed", "sent")
PUSH_SOURCES = ("matcher", "organizer")
FLAG_KINDS = ("difficulty",)
FLAG_LABELS = {"difficulty": "困难企业"}
LIVE_FLAG = text("cleared_at IS NULL")


class Whitelist(db.Model):
    __tablename__ = "whitelists"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    issuing_body: Mapped[str] = mapped_column(String(128))
    issued_on: Mapped[date] = mapped_column(Date)
    answer_deadline: Mapped[date] = mapped_column(Date)
    # NULL: a city-level batch; else the district whose 经信委 collects it
    owner_district: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("whitelists.id"), unique=True)
    # the allocation's parameters, frozen per batch (defaults from the platform settings)
    per_entry: Mapped[int] = mapped_column(default=3)
    share: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.25"))
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    pushed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    previous = relationship("Whitelist", remote_side=[id], foreign_keys=[previous_id],
                            backref=backref("next_version", uselist=False))
    created_by = relationship("User", foreign_keys=[created_by_id])
    entries: Mapped[list["WhitelistEntry"]] = relationship(
        back_populates="whitelist", order_by="WhitelistEntry.position, WhitelistEntry.id",
        cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("kind", KINDS), name="kind"),
        CheckConstraint(vocab.sql_in_values("status", STATUSES), name="status"),
        CheckConstraint(f"owner_district IS NULL OR {vocab.sql_in('owner_district', 'districts')}",
                        name="owner_district"),
        CheckConstraint("answer_deadline >= issued_on", name="deadline"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("per_entry BETWEEN 1 AND 10", name="per_entry"),
        CheckConstraint("share > 0 AND share <= 1", name="share"),
    )

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def status_style(self) -> str:
        return STATUS_STYLES[self.status]

    @property
    def owner_label(self) -> str:
        return self.owner_district or "市级"


class WhitelistEntry(db.Model):
    """One enterprise's need (or key project) on a batch, as it stood when listed."""

    __tablename__ = "whitelist_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    whitelist_id: Mapped[int] = mapped_column(ForeignKey("whitelists.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    project_name: Mapped[str | None] = mapped_column(String(128))
    amount_wan: Mapped[Decimal] = mapped_column(WAN)
    purpose: Mapped[str] = mapped_column(String(32))
    term_months: Mapped[int]
    cluster: Mapped[str | None] = mapped_column(String(48))
    recommender: Mapped[str] = mapped_column(String(128))  # 推荐单位
    # the enterprise agreed to be pushed (the programme's application form): without it the
    # entry is listed but never pushed (个人信息保护法 第二十三条). An organizer records it on
    # the firm's behalf, so it names its basis (e.g. the signed form's reference) and who
    # recorded it, copied onto each consent the push grants; an entry from before the basis
    # was asked has none and is not pushed until one is stated (rules.entry_problems)
    consent: Mapped[bool] = mapped_column(default=False)
    consent_basis: Mapped[str | None] = mapped_column(String(255))
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_recorded_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)  # 备注, printed on the report
    source: Mapped[str] = mapped_column(String(16), default="platform")
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("whitelist_entries.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    whitelist: Mapped[Whitelist] = relationship(back_populates="entries")
    enterprise = relationship("Enterprise", lazy="joined")
    need = relationship("Need")
    consent_recorded_by = relationship("User", foreign_keys=[consent_recorded_by_id])
    pushes: Mapped[list["Push"]] = relationship(
        back_populates="entry", order_by="Push.id", cascade="all, delete-orphan")

    __table_args__ = (
        # one need appears once per batch (the within-batch duplicate rule, in the database)
        UniqueConstraint("whitelist_id", "need_id", name="uq_whitelist_entries_need"),
        CheckConstraint("amount_wan > 0", name="amount"),
        CheckConstraint("term_months > 0 AND term_months <= 360", name="term"),
        CheckConstraint(vocab.sql_in("purpose", "purposes"), name="purpose"),
        CheckConstraint(f"cluster IS NULL OR {vocab.sql_in('cluster', 'clusters_33618')}",
                        name="cluster"),
        CheckConstraint(vocab.sql_in_values("source", ENTRY_SOURCES), name="source"),
    )

    @property
    def cluster_label(self) -> str:
        return vocab.label("clusters_33618", self.cluster) if self.cluster else "—"

    @property
    def sent_pushes(self) -> list["Push"]:
        return [p for p in self.pushes if p.status == "sent"]


class Push(db.Model):
    """One entry offered to one institution; once sent, the lead it opened."""

    __tablename__ = "pushes"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("whitelist_entries.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    source: Mapped[str] = mapped_column(String(16), default="matcher")
    rank: Mapped[int | None]  # the institution's place among the entry's matches (1 = best)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # no answer by the batch's deadline: on the 督办 list, the bank admin told once
    escalated_at: Mapped[datetime | None]
    supervised_at: Mapped[datetime | None]
    supervised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervision_note: Mapped[str | None] = mapped_column(Text)
    # 放款: recorded by the bank beside the lead's approval (the lead's outcome stays the one
    # outcome model; the enterprise's own confirmation is lead.status == "funded")
    disbursed_amount_wan: Mapped[Decimal | None] = mapped_column(WAN)
    disbursed_rate: Mapped[Decimal | None] = mapped_column(RATE)
    disbursed_term_months: Mapped[int | None]
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    disbursed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    entry: Mapped[WhitelistEntry] = relationship(back_populates="pushes")
    institution = relationship("Institution", lazy="joined")
    product = relationship("Product")
    lead = relationship("Lead")

    __table_args__ = (
        UniqueConstraint("entry_id", "institution_id", name="uq_pushes_entry_institution"),
        CheckConstraint(vocab.sql_in_values("status", PUSH_STATUSES), name="status"),
        CheckConstraint(vocab.sql_in_values("source", PUSH_SOURCES), name="source"),
        CheckConstraint("status != 'sent' OR (lead_id IS NOT NULL AND sent_at IS NOT NULL)",
                        name="sent_lead"),
        CheckConstraint("disbursed_amount_wan IS NULL OR (disbursed_amount_wan > 0 AND "
                        "disbursed_rate >= 0 AND disbursed_term_months > 0 AND "
                        "disbursed_on IS NOT NULL)", name="disbursed_terms"),
    )


class EnterpriseFlag(db.Model):
    """An organizer's mark on an enterprise ("in difficulty"), with the reason; cleared, not
    deleted, so the history stays."""

    __tablename__ = "enterprise_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="difficulty")
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    clear_note: Mapped[str | None] = mapped_column(String(255))

    enterprise = relationship("Enterprise", lazy="joined")
    set_by = relationship("User", foreign_keys=[set_by_id])
    cleared_by = relationship("User", foreign_keys=[cleared_by_id])

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("kind", FLAG_KINDS), name="kind"),
        # one live flag of a kind per enterprise
        Index("uq_enterprise_flags_live", "enterprise_id", "kind", unique=True,
              sqlite_where=LIVE_FLAG, postgresql_where=LIVE_FLAG),
    )

    @property
    def kind_label(self) -> str:
        return FLAG_LABELS[self.kind]

    @property
    def live(self) -> bool:
        return self.cleared_at is None
