from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import RATE, utcnow


class Match(db.Model):
    """An eligible need × product pairing as the matcher last computed it. Keeps the product
    version it saw, so a later edit of the product never rewrites what was matched."""

    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    product_version: Mapped[int]
    score: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    reasons: Mapped[list] = mapped_column(JSON)
    components: Mapped[dict] = mapped_column(JSON)
    estimated_rate: Mapped[Decimal | None] = mapped_column(RATE)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    need = relationship("Need")
    product = relationship("Product")

    __table_args__ = (
        UniqueConstraint("need_id", "product_id", name="uq_matches_need_product"),
        Index("ix_matches_need_score", "need_id", "score"),
    )


class NearMiss(db.Model):
    """A product that fails exactly one condition for a need: shown to the enterprise and the
    organizers with what would change it, never to banks."""

    __tablename__ = "near_misses"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    product_version: Mapped[int]
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(255))
    fix: Mapped[str | None] = mapped_column(String(255))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    product = relationship("Product")

    __table_args__ = (UniqueConstraint("need_id", "product_id", name="uq_near_misses_need_product"),)
