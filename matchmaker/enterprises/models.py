from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import sizes, vocab
from ..codelist import CodeList
from ..extensions import db
from ..policy.terms import OWNERSHIPS
from ..types import RATE, WAN, utcnow

NEED_STATUSES = ("draft", "published", "in_progress", "funded", "closed", "withdrawn",
                 "expired")
NEED_STATUS_LABELS = {"draft": "草稿", "published": "已发布", "in_progress": "对接中",
                      "funded": "已放款", "closed": "已关闭", "withdrawn": "已撤回",
                      "expired": "已过期"}


def derive_size(industry: str | None, employees: int, revenue_wan: Decimal,
                assets_wan: Decimal | None = None) -> str | None:
    """工信部联企业〔2011〕300号 for the sector of the industry code (matchmaker.sizes); None
    when the sector's rule reads a figure the enterprise has not given (资产总额)."""
    try:
        return sizes.derive(industry, employees, revenue_wan, assets_wan)
    except sizes.MissingMeasure:
        return None


# a firm's registration as checked by an organizer (enterprises.verification): a firm that
# registered itself is 待核验 until an organizer of its district confirms it; until then its
# needs reach no bank. Collected, imported and confirmed firms are verified.
VERIFICATION_LABELS = {"verified": "已核验", "pending": "待核验", "refused": "注册未通过"}


class Enterprise(db.Model):
    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    district: Mapped[str] = mapped_column(String(32), index=True)
    industry: Mapped[str] = mapped_column(String(8))
    cluster: Mapped[str | None] = mapped_column(String(48))
    employees: Mapped[int]
    revenue_wan: Mapped[Decimal] = mapped_column(WAN)
    # 资产总额: the size rule of 建筑业, 房地产开发经营 and 租赁和商务服务业 reads it
    assets_wan: Mapped[Decimal | None] = mapped_column(WAN)
    founded: Mapped[date]
    tax_credit_grade: Mapped[str | None] = mapped_column(String(2))
    has_bank_loan: Mapped[bool] = mapped_column(Boolean, default=False)
    core_enterprise: Mapped[str | None] = mapped_column(String(128))
    # declared size (exchange `size`); NULL means derive it by the sector's 300号 rule
    declared_size: Mapped[str | None] = mapped_column(String(8))
    # `size` as stored, kept by _store_size on every ORM insert and update, so SQL can filter
    # and group by it (the monitoring's 企业规模 slice); NULL when the size is undetermined
    size_class: Mapped[str | None] = mapped_column(String(8))
    # 控股情况 (policy.terms.OWNERSHIPS, after 国统字〔2005〕79号); NULL: unknown. Not part of
    # the exchange format: programmes that name an ownership (7号 四（二）: 大型民营企业) read it
    ownership: Mapped[str | None] = mapped_column(String(16))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    verification: Mapped[str] = mapped_column(String(12), default="verified",
                                              server_default="verified", index=True)
    # who decided is in the audit trail (enterprise.verified / enterprise.registration_refused):
    # a users foreign key here would make enterprises and users depend on each other
    verification_at: Mapped[datetime | None]
    verification_reason: Mapped[str | None] = mapped_column(Text)  # why it was refused

    tag_rows: Mapped[list["EnterpriseTag"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="enterprise")
    needs: Mapped[list["Need"]] = relationship(back_populates="enterprise")

    tags = CodeList("tag_rows", "EnterpriseTag", keyed=False)

    __table_args__ = (
        CheckConstraint(vocab.sql_in("district", "districts"), name="district"),
        CheckConstraint(f"cluster IS NULL OR {vocab.sql_in('cluster', 'clusters_33618')}",
                        name="cluster"),
        CheckConstraint("employees >= 0", name="employees"),
        CheckConstraint("verification IN ('verified', 'pending', 'refused')",
                        name="verification"),
        CheckConstraint("revenue_wan >= 0", name="revenue"),
        CheckConstraint("assets_wan IS NULL OR assets_wan >= 0", name="assets"),
        CheckConstraint(
            f"tax_credit_grade IS NULL OR {vocab.sql_in('tax_credit_grade', 'tax_credit_grades')}",
            name="tax_credit_grade"),
        CheckConstraint(f"declared_size IS NULL OR {vocab.sql_in('declared_size', 'sizes')}",
                        name="declared_size"),
        CheckConstraint("ownership IS NULL OR ownership IN ("
                        + ", ".join(f"'{code}'" for code in OWNERSHIPS) + ")",
                        name="ownership"),
    )

    @property
    def size(self) -> str | None:
        """Declared, else derived; None when the sector's rule lacks 资产总额 (an unset size
        fails every product condition on size, as the spec's rule 7 reads)."""
        return self.declared_size or derive_size(self.industry, self.employees,
                                                 self.revenue_wan, self.assets_wan)

    @property
    def verified(self) -> bool:
        return self.verification == "verified"

    @property
    def verification_label(self) -> str:
        return VERIFICATION_LABELS[self.verification]

    @property
    def size_label(self) -> str:
        size = self.size
        return vocab.label("sizes", size) if size else "规模待定"


@event.listens_for(Enterprise, "before_insert")
@event.listens_for(Enterprise, "before_update")
def _store_size(_mapper, _connection, enterprise: Enterprise) -> None:
    """Keep size_class equal to `size` (declared, else the 300号 rule of the sector) whatever
    changed it: the profile form, the spreadsheet collection, an import. Core bulk writes
    bypass this: they must set size_class themselves."""
    enterprise.size_class = enterprise.size


class EnterpriseTag(db.Model):
    """A declared qualification (专精特新 …), its certificate year, and an organizer's check."""

    __tablename__ = "enterprise_tags"
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    certificate_year: Mapped[int | None]
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    enterprise: Mapped[Enterprise] = relationship(back_populates="tag_rows")
    __table_args__ = (
        CheckConstraint(vocab.sql_in("value", "enterprise_tags"), name="tag"),
        CheckConstraint("certificate_year IS NULL OR certificate_year BETWEEN 1990 AND 2100",
                        name="certificate_year"),
    )


class Need(db.Model):
    __tablename__ = "needs"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    loan_kind: Mapped[str] = mapped_column(String(16))
    current_lender_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    renewal_due: Mapped[date | None]
    amount_wan: Mapped[Decimal] = mapped_column(WAN)
    term_months: Mapped[int]
    max_rate: Mapped[Decimal | None] = mapped_column(RATE)
    created: Mapped[date]
    description: Mapped[str | None] = mapped_column(Text)
    consent_to_share: Mapped[bool] = mapped_column(Boolean, default=False)
    # consent_to_share recorded on the enterprise's behalf (an organizer's spreadsheet, an
    # import): on what basis (e.g. the signed paper form's reference), by whom (None: the
    # command line) and when. None when the enterprise set the flag itself. The consents the
    # flag grants carry the same basis (leads.models.Consent.basis).
    consent_basis: Mapped[str | None] = mapped_column(String(255))
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_recorded_at: Mapped[datetime | None]
    # the day the loan for this need was disbursed (exchange field funded_on): set when the
    # need is funded, so that an export of a lived platform imports again
    funded_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="published")
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="needs", lazy="joined")
    current_lender = relationship("Institution")
    consent_recorded_by = relationship("User", foreign_keys=[consent_recorded_by_id])
    guarantee_rows: Mapped[list["NeedGuaranteeMode"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")

    guarantee_modes = CodeList("guarantee_rows", "NeedGuaranteeMode", keyed=False)

    __table_args__ = (
        CheckConstraint(vocab.sql_in("purpose", "purposes"), name="purpose"),
        CheckConstraint(vocab.sql_in("loan_kind", "loan_kinds"), name="loan_kind"),
        CheckConstraint("amount_wan > 0", name="amount"),
        CheckConstraint("term_months > 0 AND term_months <= 360", name="term"),
        CheckConstraint("max_rate IS NULL OR max_rate >= 0", name="max_rate"),
        CheckConstraint("status IN ('draft', 'published', 'in_progress', 'funded', 'closed', "
                        "'withdrawn', 'expired')", name="status"),
        Index("ix_needs_status_purpose", "status", "purpose"),
    )

    @property
    def status_label(self) -> str:
        return NEED_STATUS_LABELS[self.status]


class NeedGuaranteeMode(db.Model):
    __tablename__ = "need_guarantee_modes"
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), primary_key=True)
    value: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (CheckConstraint(vocab.sql_in("value", "guarantee_modes"), name="mode"),)


CLAIM_STATUSES = ("pending", "approved", "refused")
CLAIM_STATUS_LABELS = {"pending": "待审核", "approved": "已通过", "refused": "未通过"}
PENDING_CLAIM = text("status = 'pending'")


class EnterpriseClaim(db.Model):
    """企业认领申请: a registered person asks to act for an enterprise the platform already
    knows (collected by an organizer, or registered by a colleague). Typing the enterprise's
    USCC gives nobody its data: the enterprise's admin or an organizer of its district
    approves or refuses the request (enterprises.members)."""

    __tablename__ = "enterprise_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # the name the requester typed at registration: the approver compares it with the name
    # on file (the requester's own name and mobile are on the user row)
    company_name: Mapped[str] = mapped_column(String(128))
    position: Mapped[str | None] = mapped_column(String(64))
    # what the requester offers as proof (a licence copy handed in, who can vouch for them)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused (shown to the requester)

    enterprise: Mapped[Enterprise] = relationship()
    requester = relationship("User", foreign_keys=[requester_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'refused')", name="status"),
        # one open request per person: a decision settles it before another can be made
        Index("uq_enterprise_claims_pending_requester", "requester_id", unique=True,
              sqlite_where=PENDING_CLAIM, postgresql_where=PENDING_CLAIM),
    )

    @property
    def status_label(self) -> str:
        return CLAIM_STATUS_LABELS[self.status]
