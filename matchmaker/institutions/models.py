from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import vocab
from ..codelist import CodeList
from ..extensions import db
from ..policy.models import ProgramConfirmation
from ..types import RATE, WAN, utcnow

PRODUCT_STATUSES = ("draft", "published", "paused", "retired")
PRODUCT_STATUS_LABELS = {"draft": "草稿", "published": "已发布", "paused": "已暂停",
                         "retired": "已下架"}
RATE_BASES = ("fixed", "lpr_1y", "lpr_5y")

# list-valued product fields of the exchange format, with the vocabulary each draws from
PRODUCT_LIST_FIELDS = {
    "purposes": "purposes", "guarantee_modes": "guarantee_modes", "sizes": "sizes",
    "tags_any": "enterprise_tags", "industries": None, "districts": "districts",
    "tax_credit_grades": "tax_credit_grades", "loan_kinds": "loan_kinds",
    "core_enterprises": None, "subsidy_programs": None,
}


def _product_term_check() -> str:
    parts = []
    for field, vocab_name in PRODUCT_LIST_FIELDS.items():
        if vocab_name:
            parts.append(f"(field = '{field}' AND {vocab.sql_in('value', vocab_name)})")
    # any GB/T 4754—2017 code or prefix (issue 14): the services check it against the table
    parts.append("(field = 'industries' AND value != '')")
    parts.append("(field = 'core_enterprises' AND value != '')")
    # programmes are data (policy.SubsidyProgram, issue 15): the services check the code
    parts.append("(field = 'subsidy_programs' AND value != '')")
    return " OR ".join(parts)


class Institution(db.Model):
    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    district_rows: Mapped[list["InstitutionDistrict"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    products: Mapped[list["Product"]] = relationship(back_populates="institution")

    districts = CodeList("district_rows", "InstitutionDistrict", keyed=False)

    __table_args__ = (CheckConstraint(vocab.sql_in("kind", "institution_kinds"), name="kind"),)

    @property
    def kind_label(self) -> str:
        return vocab.label("institution_kinds", self.kind)


class InstitutionDistrict(db.Model):
    __tablename__ = "institution_districts"
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (CheckConstraint(vocab.sql_in("value", "districts"), name="district"),)


class Product(db.Model):
    """The lender's current terms. Each publication snapshots them as a ProductVersion;
    matches and leads keep the version number they saw."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(default=0)  # last published version, 0 = never
    amount_min_wan: Mapped[Decimal] = mapped_column(WAN)
    amount_max_wan: Mapped[Decimal] = mapped_column(WAN)
    term_min_months: Mapped[int]
    term_max_months: Mapped[int]
    rate_min: Mapped[Decimal] = mapped_column(RATE)
    rate_max: Mapped[Decimal] = mapped_column(RATE)
    # a rate entered as LPR + basis points; rate_min/max hold its value at the LPR in force
    rate_basis: Mapped[str] = mapped_column(String(8), default="fixed")
    spread_min_bp: Mapped[int | None]
    spread_max_bp: Mapped[int | None]
    min_years: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    min_revenue_wan: Mapped[Decimal | None] = mapped_column(WAN)
    existing_customers_only: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    institution: Mapped[Institution] = relationship(back_populates="products", lazy="joined")
    term_rows: Mapped[list["ProductTerm"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    # an organizer's confirmations of the programmes the bank declares (issue 15)
    confirmations: Mapped[list[ProgramConfirmation]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")
    versions: Mapped[list["ProductVersion"]] = relationship(
        cascade="all, delete-orphan", order_by="ProductVersion.version",
        back_populates="product")

    purposes = CodeList("term_rows", "ProductTerm")
    guarantee_modes = CodeList("term_rows", "ProductTerm")
    sizes = CodeList("term_rows", "ProductTerm")
    tags_any = CodeList("term_rows", "ProductTerm")
    industries = CodeList("term_rows", "ProductTerm")
    districts = CodeList("term_rows", "ProductTerm")
    tax_credit_grades = CodeList("term_rows", "ProductTerm")
    loan_kinds = CodeList("term_rows", "ProductTerm")
    core_enterprises = CodeList("term_rows", "ProductTerm")
    subsidy_programs = CodeList("term_rows", "ProductTerm")

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'paused', 'retired')", name="status"),
        CheckConstraint("rate_basis IN ('fixed', 'lpr_1y', 'lpr_5y')", name="rate_basis"),
        CheckConstraint("amount_min_wan > 0 AND amount_min_wan <= amount_max_wan",
                        name="amount_range"),
        CheckConstraint("term_min_months > 0 AND term_min_months <= term_max_months",
                        name="term_range"),
        CheckConstraint("rate_min >= 0 AND rate_min <= rate_max", name="rate_range"),
        CheckConstraint("min_years IS NULL OR min_years >= 0", name="min_years"),
        CheckConstraint("min_revenue_wan IS NULL OR min_revenue_wan >= 0", name="min_revenue"),
        Index("ix_products_candidates", "status", "amount_min_wan", "amount_max_wan"),
    )

    @property
    def active(self) -> bool:
        return self.status == "published"

    @property
    def confirmed_programs(self) -> list[str]:
        """The declared programmes an organizer confirmed: the only ones that count."""
        confirmed = {c.program_code for c in self.confirmations}
        return [code for code in self.subsidy_programs if code in confirmed]

    @property
    def unconfirmed_programs(self) -> list[str]:
        confirmed = {c.program_code for c in self.confirmations}
        return [code for code in self.subsidy_programs if code not in confirmed]

    @property
    def status_label(self) -> str:
        return PRODUCT_STATUS_LABELS[self.status]


class ProductTerm(db.Model):
    """One code of one list-valued product field (field = the exchange field's name)."""

    __tablename__ = "product_terms"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    __table_args__ = (
        CheckConstraint(_product_term_check(), name="value_in_vocabulary"),
        Index("ix_product_terms_lookup", "field", "value"),
    )


class ProductVersion(db.Model):
    """The terms of one published version, frozen as the exchange-format record."""

    __tablename__ = "product_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    version: Mapped[int]
    terms: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    product: Mapped[Product] = relationship(back_populates="versions")
    __table_args__ = (UniqueConstraint("product_id", "version", name="uq_product_versions"),)


class CoreEnterprise(db.Model):
    """核心企业名单库 (渝金议〔2018〕1号): buyers whose suppliers get supply-chain finance."""

    __tablename__ = "core_enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    cluster: Mapped[str | None] = mapped_column(String(48))
    # the group (集团) it belongs to: a bank treats a group's companies as one core enterprise
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_enterprise_groups.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    aliases: Mapped[list["CoreEnterpriseAlias"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="core_enterprise")
    group: Mapped["CoreEnterpriseGroup | None"] = relationship(back_populates="members")
    __table_args__ = (
        CheckConstraint(f"cluster IS NULL OR {vocab.sql_in('cluster', 'clusters_33618')}",
                        name="cluster"),
    )


class CoreEnterpriseGroup(db.Model):
    """A group (集团) of listed core enterprises: 京东方 = 重庆京东方光电科技、重庆京东方显示技术 …
    A supply-chain product listing the group (or any member) serves the suppliers of every
    member: to a bank lending on a group's orders, its subsidiaries are one core enterprise."""

    __tablename__ = "core_enterprise_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    note: Mapped[str | None] = mapped_column(String(255))    # where the membership comes from
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # bumped on every change of name, aliases or members: the matcher's cache stamp reads it
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    aliases: Mapped[list["CoreEnterpriseGroupAlias"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="group")
    members: Mapped[list[CoreEnterprise]] = relationship(
        back_populates="group", order_by="CoreEnterprise.name", passive_deletes=True)


class CoreEnterpriseGroupAlias(db.Model):
    __tablename__ = "core_enterprise_group_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("core_enterprise_groups.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(128), unique=True)
    group: Mapped[CoreEnterpriseGroup] = relationship(back_populates="aliases")


class CoreEnterpriseAlias(db.Model):
    __tablename__ = "core_enterprise_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    core_enterprise_id: Mapped[int] = mapped_column(ForeignKey("core_enterprises.id"))
    alias: Mapped[str] = mapped_column(String(128), unique=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    core_enterprise: Mapped[CoreEnterprise] = relationship(back_populates="aliases")
