"""What matching stores: per need, what people read (its shown matches with a reserve, its
near misses, its freshness); per product, how many open needs it reaches. Everything else —
the reasons of a pairing nobody is looking at, a need's matches at one institution — the
matcher computes when asked (see service.py, "What is stored and why")."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import RATE, WAN, utcnow


class Match(db.Model):
    """A stored need × product pairing: one of the need's best (rank 1–SHOWN shown with their
    reasons, the next RESERVE kept as ranked keys so that a product leaving the list seldom
    forces a full ranking), and/or the best product of its institution for the need (what
    leads, whitelists and events offer that institution; rank NULL when outside the ranked
    list). Keeps the product version it saw."""

    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"))
    # no index of its own: writing it cost a third of a recompute's writes, and the unique
    # (need_id, product_id) answers what asks by product (migration 7e2a9c4b1d30)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    rank: Mapped[int | None] = mapped_column(default=1)
    institution_best: Mapped[bool] = mapped_column(default=True)
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
        Index("ix_matches_need_rank", "need_id", "rank"),
    )


class NearMiss(db.Model):
    """A product that fails exactly one condition for a need: shown to the enterprise and the
    organizers with what would change it, never to banks. Ranks 1–SHOWN shown, then a reserve."""

    __tablename__ = "near_misses"
    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(default=1)
    product_version: Mapped[int]
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(255))
    fix: Mapped[str | None] = mapped_column(String(255))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    product = relationship("Product")

    __table_args__ = (UniqueConstraint("need_id", "product_id", name="uq_near_misses_need_product"),)


class MatchState(db.Model):
    """A need's stored results: the basis (epoch) they were computed under and the one they
    must reach. Fresh when basis >= max(wanted, MatchingBasis.all_wanted, the epoch of any
    StaleProduct its rows name); otherwise its rows are not shown: pages compute what a
    whole ranking would store now (service.rows_now) instead of mixing old and new figures."""

    __tablename__ = "match_states"
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"),
                                         primary_key=True)
    basis: Mapped[int] = mapped_column(BigInteger, default=0)
    wanted: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    complete: Mapped[bool] = mapped_column(default=True)  # the stored ranking holds them all
    near_complete: Mapped[bool] = mapped_column(default=True)
    eligible_count: Mapped[int] = mapped_column(default=0)  # every eligible product, stored or not
    # the basis of its last whole ranking (a patch keeps it): a need ranked whole after a
    # policy change (StalePolicy) holds that change, whether or not its job has run
    whole_basis: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class StaleProduct(db.Model):
    """A product changed at `epoch`: every need whose stored results name it (a ranked match,
    an institution's best or a near miss) is stale until its basis reaches that epoch. One
    row per product whatever the number of needs, so a product edit's request writes the same
    at 100 needs as at 100,000; its recompute job brings the needs up and deletes the row."""
    __tablename__ = "stale_products"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)


class StalePolicy(db.Model):
    """A change of the policy (a subsidy programme, the guarantee fee rate: `key`) at `epoch`
    whose recompute has not finished. While one waits no need is fresh, whatever its basis:
    a job that ran since (another change's, a product's) wrote its own rows at a later
    epoch but left this change's carriers at their old costs. Deleted by the change's own job
    (or a full recompute) once done, unless the change came again meanwhile."""
    __tablename__ = "stale_policies"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)


class MatchingBasis(db.Model):
    """One row: the epoch every change to what the matcher reads bumps, and the epoch every
    need must reach after a change that touches them all (an LPR quote, a programme)."""

    __tablename__ = "matching_basis"
    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    all_wanted: Mapped[int] = mapped_column(BigInteger, default=0)
    # of those, the last that can move eligibility (an import, a bridge fund's programme),
    # not costs alone (an LPR quote, a programme, the fee rate): a need ranked whole since
    # holds who it is eligible for (service.institutions_current)
    eligible_wanted: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductReach(db.Model):
    """How many open needs a product matches and their total amount: a bank's "needs that
    match my products", maintained by the recompute jobs (exact per product job, recounted
    after `match --all` and, coalesced, after needs change)."""

    __tablename__ = "product_reach"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    needs: Mapped[int] = mapped_column(default=0)
    amount_wan: Mapped[Decimal] = mapped_column(WAN, default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
