"""Consent, Lead, Claim and LeadFollowUp.

A Consent is the enterprise's separate consent (个人信息保护法 第二十三条: 向其他个人信息处理者
提供个人信息 … 取得个人的单独同意) for ONE institution to receive ONE need with the listed
profile fields. Consents are never edited: a new scope or a revocation closes the row
(revoked_at) and, for a new scope, opens another, so the history is the table.

A Lead is one need offered to one institution (unique per need × institution). Its `status`
says where the institution's work stands; whether the bank may see it at all is decided by
`permissions.visible_leads` (a live consent, not lapsed, need not a draft).

A Claim is one manager's 接单 of a lead. Live claims (claimed, contacted) are limited by the
database to one per lead (so one manager per institution per lead) and by the service to K
per need (setting claim_limit_per_need), counted under a lock on the need row.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import vocab
from ..extensions import db
from ..types import RATE, WAN, utcnow

CONSENT_VIA = ("push", "flag", "whitelist", "event")
CONSENT_VIA_LABELS = {"push": "企业推送", "flag": "需求授权（匹配机构）", "whitelist": "白名单推送",
                      "event": "对接会"}

LEAD_SOURCES = ("consent", "whitelist", "event")
LEAD_SOURCE_LABELS = {"consent": "企业授权", "whitelist": "白名单", "event": "银企对接会"}
LEAD_STATUSES = ("open", "claimed", "contacted", "approved", "declined", "withdrawn", "funded",
                 "lapsed", "closed")
LEAD_STATUS_LABELS = {"open": "待认领", "claimed": "已认领待联系", "contacted": "对接中",
                      "approved": "已批准", "declined": "未获批", "withdrawn": "已终止",
                      "funded": "已放款", "lapsed": "超时收回", "closed": "需求已结束"}
LEAD_STATUS_STYLES = {"open": "primary", "claimed": "warning", "contacted": "info",
                      "approved": "success", "declined": "secondary", "withdrawn": "secondary",
                      "funded": "success", "lapsed": "danger", "closed": "secondary"}
# statuses in which the institution is still working the lead
LEAD_ACTIVE = ("open", "claimed", "contacted")
OUTCOMES = ("approved", "declined", "withdrawn")

CLAIM_STATUSES = ("claimed", "contacted", "approved", "declined", "withdrawn", "lapsed",
                  "released", "revoked", "closed")
CLAIM_LIVE = ("claimed", "contacted")
LIVE_CLAIM = text(vocab.sql_in_values("status", CLAIM_LIVE))

FOLLOWUP_KINDS = ("call", "visit", "documents_requested", "note")
FOLLOWUP_LABELS = {"call": "电话联系", "visit": "上门走访", "documents_requested": "要求提供资料",
                   "note": "内部备注"}
# the kinds that are contact with the enterprise (a note is the bank's own memo)
CONTACT_KINDS = ("call", "visit", "documents_requested")


class Consent(db.Model):
    """One institution may receive one need with these profile fields, from granted_at until
    revoked_at. At most one live (unrevoked) row per need × institution."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    scope: Mapped[list] = mapped_column(JSON)  # profile field codes, see scope.SCOPE_FIELDS
    via: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: import/job
    # a consent recorded on the enterprise's behalf (the flag set by an organizer's spreadsheet
    # or an import): its basis (e.g. the signed paper form's reference) and who recorded it
    # (None with a basis: the command line). None: the enterprise's own consent.
    basis: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # withdrawn | superseded | flag_off | need_ended
    revoke_reason: Mapped[str | None] = mapped_column(String(32))

    need = relationship("Need")
    institution = relationship("Institution", lazy="joined")
    granted_by = relationship("User", foreign_keys=[granted_by_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("via", CONSENT_VIA), name="via"),
        Index("uq_consents_live", "need_id", "institution_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL")),
    )

    @property
    def live(self) -> bool:
        return self.revoked_at is None

    @property
    def via_label(self) -> str:
        return CONSENT_VIA_LABELS[self.via]


class Lead(db.Model):
    """One need offered to one institution, and the institution's answer."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    # the product it was pushed for (whitelist/event pushes name one); may be None
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    # the institution's matches when the lead opened: [{product_id, product_version, score,
    # reasons, estimated_rate}], so a later product edit never rewrites what the bank was shown
    matched: Mapped[list] = mapped_column(JSON, default=list)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # the service clock runs from the push: a lead nobody claimed by claim_due (setting
    # unclaimed_working_days after it was pushed or reopened) goes on the organizers' 督办
    # list (unclaimed_at) and counts against the institution; None on rows older than it
    claim_due: Mapped[date | None] = mapped_column(Date)
    unclaimed_at: Mapped[datetime | None]
    supervised_at: Mapped[datetime | None]  # an organizer followed the unclaimed lead up
    supervised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervision_note: Mapped[str | None] = mapped_column(Text)
    # the outcome, recorded by the manager holding the claim
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    approved_amount_wan: Mapped[Decimal | None] = mapped_column(WAN)
    approved_rate: Mapped[Decimal | None] = mapped_column(RATE)
    approved_term_months: Mapped[int | None]
    approved_guarantee_mode: Mapped[str | None] = mapped_column(String(16))
    approved_on: Mapped[date | None] = mapped_column(Date)
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(Text)  # shown to the enterprise
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the enterprise's side
    funded_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]

    need = relationship("Need", lazy="joined")
    institution = relationship("Institution", lazy="joined")
    product = relationship("Product", foreign_keys=[product_id])
    outcome_product = relationship("Product", foreign_keys=[outcome_product_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    supervised_by = relationship("User", foreign_keys=[supervised_by_id])
    claims: Mapped[list["Claim"]] = relationship(
        back_populates="lead", order_by="Claim.id", cascade="all, delete-orphan")
    followups: Mapped[list["LeadFollowUp"]] = relationship(
        back_populates="lead", order_by="LeadFollowUp.id", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("need_id", "institution_id", name="uq_leads_need_institution"),
        CheckConstraint(vocab.sql_in_values("source", LEAD_SOURCES), name="source"),
        CheckConstraint(vocab.sql_in_values("status", LEAD_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {vocab.sql_in_values('outcome', OUTCOMES)}", name="outcome"),
        CheckConstraint("outcome IS NULL OR outcome != 'approved' OR (approved_amount_wan > 0 AND "
                        "approved_rate >= 0 AND approved_term_months > 0)",
                        name="approved_terms"),
        CheckConstraint(f"decline_reason IS NULL OR "
                        f"{vocab.sql_in('decline_reason', 'decline_reasons')}",
                        name="decline_reason"),
        CheckConstraint(f"approved_guarantee_mode IS NULL OR "
                        f"{vocab.sql_in('approved_guarantee_mode', 'guarantee_modes')}",
                        name="guarantee_mode"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        Index("ix_leads_institution_status", "institution_id", "status"),
    )

    @property
    def status_label(self) -> str:
        return LEAD_STATUS_LABELS[self.status]

    @property
    def status_style(self) -> str:
        return LEAD_STATUS_STYLES[self.status]

    @property
    def source_label(self) -> str:
        return LEAD_SOURCE_LABELS[self.source]

    @property
    def unclaimed_overdue(self) -> bool:
        """On the 督办 list: pushed, nobody claimed it in time, still nobody works it."""
        return self.unclaimed_at is not None and self.status == "open"

    @property
    def live_claim(self) -> "Claim | None":
        return next((c for c in self.claims if c.status in CLAIM_LIVE), None)

    @property
    def last_claim(self) -> "Claim | None":
        return self.claims[-1] if self.claims else None

    @property
    def decline_label(self) -> str:
        return vocab.label("decline_reasons", self.decline_reason)

    @property
    def best_match(self) -> dict | None:
        """The institution's best match when the lead opened (the snapshot is best first)."""
        return self.matched[0] if self.matched else None

    @property
    def match_reason(self) -> str:
        """The one line a list shows: why the need fits the institution's best product."""
        best = self.best_match
        reasons = (best or {}).get("reasons") or []
        return reasons[0] if reasons else ""

    @property
    def due(self) -> date | None:
        """The deadline this lead is worked to: the live claim's, else a renewal's due date."""
        claim = self.live_claim
        if claim is not None:
            return claim.due
        if self.status == "open" and self.need.loan_kind == "renewal":
            return self.need.renewal_due
        return None


class Claim(db.Model):
    """One manager's 接单 of a lead, with its working-day deadlines (China dates, inclusive)."""

    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    # redundant with the lead, kept so that the K-per-need count and the per-institution
    # record are one indexed query each
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    contact_due: Mapped[date] = mapped_column(Date)
    decision_due: Mapped[date] = mapped_column(Date)
    contacted_at: Mapped[datetime | None]
    # a decline with no logged contact states why none was possible (bank-internal)
    no_contact_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # lapsed, released, revoked, closed
    escalated_at: Mapped[datetime | None]  # put on the organizers' 督办 list
    supervised_at: Mapped[datetime | None]  # an organizer followed it up
    supervised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervision_note: Mapped[str | None] = mapped_column(Text)

    lead: Mapped[Lead] = relationship(back_populates="claims")
    need = relationship("Need")
    institution = relationship("Institution")
    manager = relationship("User", foreign_keys=[manager_id], lazy="joined")
    supervised_by = relationship("User", foreign_keys=[supervised_by_id])

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("status", CLAIM_STATUSES), name="status"),
        CheckConstraint("decision_due >= contact_due", name="dues"),
        # one live claim per lead = one manager per institution per lead; the race between
        # two managers of the same bank is settled here
        Index("uq_claims_live_lead", "lead_id", unique=True,
              sqlite_where=LIVE_CLAIM, postgresql_where=LIVE_CLAIM),
        Index("ix_claims_need_status", "need_id", "status"),
        Index("ix_claims_institution_claimed", "institution_id", "claimed_at"),
    )

    @property
    def live(self) -> bool:
        return self.status in CLAIM_LIVE

    @property
    def due(self) -> date:
        """The deadline the manager works to now: first contact, then the decision."""
        return self.contact_due if self.status == "claimed" else self.decision_due


class LeadFollowUp(db.Model):
    """The bank's follow-up log. Notes are internal: the enterprise's timeline shows only the
    kind of a contact, never the text."""

    __tablename__ = "lead_followups"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="followups")
    author = relationship("User", lazy="joined")

    __table_args__ = (CheckConstraint(vocab.sql_in_values("kind", FOLLOWUP_KINDS), name="kind"),)

    @property
    def kind_label(self) -> str:
        return FOLLOWUP_LABELS[self.kind]
