"""Stored matches: computed by the pure matcher (matcher.py), kept fresh when a need or a
product changes. Services flush, never commit."""
import logging
import threading
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from .. import clock, signals
from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..institutions.models import (
    CoreEnterpriseAlias,
    CoreEnterpriseGroup,
    Institution,
    Product,
)
from ..policy import service as policy
from ..policy.models import ReferenceRate, Setting, SubsidyProgram
from ..types import utcnow
from . import adapters
from .matcher import NEAR_RANK, MatchContext, Matcher, near_miss_of
from .matcher import Match as PureMatch
from .models import Match, NearMiss

log = logging.getLogger(__name__)

NEAR_TOP = 10  # near misses kept per need: the ones the enterprise can act on first
# needs whose matches a bank may act on (counted on the bank's product reach page)
OPEN_STATUSES = ("published", "in_progress")
# platform settings the matcher reads: changing one makes every stored cost stale
COST_SETTINGS = ("guarantee_fee_rate",)

_cache_lock = threading.Lock()
_cache: dict = {"stamp": None, "matcher": None}


# --- the matcher, built once per catalogue state --------------------------------------------

def _stamp(day: date) -> tuple:
    """Changes whenever anything the matcher reads from the catalogue or the policy changes,
    and each day: the institutions' on-time record (a 180-day window) enters scores daily,
    not on every claim, so that a busy inbox does not rebuild the matcher all day."""
    parts = [day]
    for model, column in ((Product, Product.updated_at), (Institution, Institution.updated_at),
                          (SubsidyProgram, SubsidyProgram.updated_at),
                          (ReferenceRate, ReferenceRate.created_at),
                          (Setting, Setting.updated_at)):
        # the highest id too: a row deleted and another added within one clock tick
        parts.extend(db.session.execute(select(func.count(), func.max(column),
                                               func.max(model.__mapper__.primary_key[0]))
                                        .select_from(model)).one())
    parts.extend(db.session.execute(select(func.count(), func.max(CoreEnterpriseAlias.id))
                                    .where(CoreEnterpriseAlias.confirmed.is_(True))).one())
    parts.extend(db.session.execute(select(func.count(), func.max(CoreEnterpriseGroup.updated_at))
                                    ).one())
    return tuple(parts)


def build_context(day: date) -> MatchContext:
    return MatchContext(
        today=day,
        lpr_1y=policy.lpr_on(day, "lpr_1y") or Decimal("3.0"),
        programs=tuple(adapters.subsidy_records(db.session, day)),
        **_supplied_inputs(day),
        core_resolver=adapters.core_resolver(db.session, by_group=True),
        core_aliases=adapters.core_aliases(db.session),
        core_describe=adapters.core_describer(db.session),
        guarantee_fee_rate=Decimal(str(policy.setting("guarantee_fee_rate", 1.0))),
    )


def _supplied_inputs(day: date) -> dict:
    """What other domains add to the context (leads: the institutions' on-time record)."""
    supplied: dict = {}
    for _receiver, parts in signals.match_inputs.send(day):
        supplied.update(parts or {})
    return supplied


def current_matcher(day: date | None = None) -> Matcher:
    """The matcher over every published product, rebuilt only when the catalogue changed."""
    day = day or clock.china_today()
    stamp = _stamp(day)
    with _cache_lock:
        if _cache["stamp"] == stamp:
            return _cache["matcher"]
    products = db.session.scalars(
        select(Product).where(Product.status == "published")
        .options(selectinload(Product.institution).selectinload(Institution.district_rows))
    ).all()
    matcher = Matcher([adapters.product_terms(p) for p in products], build_context(day))
    with _cache_lock:
        _cache.update(stamp=stamp, matcher=matcher)
    return matcher


# --- keeping stored results fresh -------------------------------------------------------------

def refresh_need(need: Need, matcher: Matcher | None = None) -> list[PureMatch]:
    """Recompute one need's matches and near misses; returns its matches, best first."""
    batch = _Rows()
    found = _recompute(need, matcher or current_matcher(), batch, clear=True)
    batch.write()
    signals.matches_refreshed.send(need)
    return found


def _recompute(need: Need, matcher: Matcher, batch: "_Rows", clear: bool) -> list[PureMatch]:
    if clear:
        db.session.flush()
        _delete(Match, Match.need_id == need.id)
        _delete(NearMiss, NearMiss.need_id == need.id)
    facts = adapters.need_facts(need)
    found = matcher.match(facts, top=None)
    batch.add_matches(need.id, found)
    batch.add_near_misses(need.id, matcher, matcher.near_misses(facts, top=NEAR_TOP))
    return found


def refresh_product(product: Product) -> int:
    """After a product is published, edited, paused or retired: recompute its pairings with
    every need, and the near-miss lists it enters or leaves. Returns its match count."""
    db.session.flush()
    matcher = current_matcher()
    pid = product.id
    terms = matcher.products.get(pid) if product.status == "published" else None
    _delete(Match, Match.product_id == pid)
    renear = set(db.session.scalars(select(NearMiss.need_id).where(NearMiss.product_id == pid)))
    batch = _Rows()
    for need in _all_needs():
        facts = adapters.need_facts(need)
        found = matcher.rescore(facts, pid) if terms is not None else None
        if found is not None:
            batch.add_matches(need.id, [found])
        if terms is not None and near_miss_of(facts, terms, matcher.ctx) is not None:
            renear.add(need.id)
        if need.id in renear:
            batch.add_near_misses(need.id, matcher, matcher.near_misses(facts, top=NEAR_TOP))
    for chunk in _chunks(sorted(renear)):
        _delete(NearMiss, NearMiss.need_id.in_(chunk))
    batch.write()
    signals.matches_refreshed.send(product)
    log.info("product %s refreshed: %s matches", pid, batch.match_count)
    return batch.match_count


def refresh_open_needs_of(enterprise: Enterprise) -> int:
    """After the facts an enterprise's needs are ranked by changed (a verified tag)."""
    db.session.flush()
    needs = db.session.scalars(select(Need).where(Need.enterprise_id == enterprise.id,
                                                  Need.status.in_(OPEN_STATUSES))).all()
    for need in needs:
        refresh_need(need)
    return len(needs)


def refresh_supply_chain_needs() -> int:
    """After the core-enterprise groups changed: recompute the open needs of enterprises that
    state a core enterprise (only their core-enterprise condition can have moved)."""
    db.session.flush()
    matcher = current_matcher()
    needs = db.session.scalars(
        select(Need).join(Enterprise).where(Enterprise.core_enterprise.is_not(None),
                                            Need.status.in_(OPEN_STATUSES))
        .order_by(Need.id)).all()
    for need in needs:
        refresh_need(need, matcher)
    log.info("core-enterprise groups changed: %s needs refreshed", len(needs))
    return len(needs)


def refresh_all():
    """`matchmaker match --all` (run it nightly): recompute everything; yields (need, its
    matches) in ref order. Consume it whole: `matches_refreshed` is sent after the last need."""
    matcher = current_matcher()
    _delete(Match)
    _delete(NearMiss)
    batch = _Rows()
    for need in _all_needs():
        yield need, _recompute(need, matcher, batch, clear=False)
        if len(batch) >= 20_000:
            batch.write()
    batch.write()
    signals.matches_refreshed.send(signals.ALL)


def _all_needs():
    return db.session.scalars(
        select(Need).order_by(Need.ref)
        .options(selectinload(Need.enterprise).selectinload(Enterprise.tag_rows),
                 selectinload(Need.guarantee_rows))).all()


def _delete(model, *where) -> None:
    # no session synchronisation: no Match or NearMiss objects are kept in the session while
    # refreshing, and evaluating the criteria against every loaded object cost seconds
    db.session.execute(delete(model).where(*where),
                       execution_options={"synchronize_session": False})


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class _Rows:
    """Match and NearMiss rows gathered across needs, written in a few executemany calls."""

    def __init__(self):
        self.matches: list[dict] = []
        self.near: list[dict] = []
        self.match_count = 0
        self.now = utcnow()

    def __len__(self) -> int:
        return len(self.matches) + len(self.near)

    def add_matches(self, need_id: int, found) -> None:
        self.match_count += len(found)
        self.matches.extend(
            {"need_id": need_id, "product_id": m.product_id,
             "product_version": m.product_version, "score": Decimal(str(m.score)),
             "reasons": list(m.reasons),
             "components": {k: round(v, 1) for k, v in m.components.items()},
             "estimated_rate": m.estimated_rate, "computed_at": self.now} for m in found)

    def add_near_misses(self, need_id: int, matcher: Matcher, near) -> None:
        self.near.extend(
            {"need_id": need_id, "product_id": n.product_id,
             "product_version": matcher.products[n.product_id].version, "rule": n.rule_code,
             "reason": n.reason_zh[:255], "fix": (n.fix_zh or "")[:255] or None,
             "computed_at": self.now} for n in near)

    def write(self) -> None:
        # Core inserts: the ORM's bulk path adds per-row bookkeeping these rows do not need
        if self.matches:
            db.session.execute(Match.__table__.insert(), self.matches)
        if self.near:
            db.session.execute(NearMiss.__table__.insert(), self.near)
        self.matches, self.near = [], []


# --- reading ----------------------------------------------------------------------------------

def matches_for_need(need: Need, top: int | None = None) -> list[Match]:
    query = (select(Match).where(Match.need_id == need.id)
             .options(selectinload(Match.product).selectinload(Product.institution))
             .order_by(Match.score.desc(), Match.estimated_rate.asc(), Match.product_id))
    if top:
        query = query.limit(top)
    rows = db.session.scalars(query).all()
    # the matcher's tie-break is the product ref; the id stands in above, settle it here
    return sorted(rows, key=lambda m: (-m.score, m.estimated_rate is None,
                                       m.estimated_rate or 0, m.product.ref))


def near_misses_for_need(need: Need) -> list[NearMiss]:
    """The stored near misses the enterprise can act on, each with its change (rows stored
    before the actionable rule, until the nightly `match --all`, are left out here)."""
    return db.session.scalars(
        select(NearMiss).where(NearMiss.need_id == need.id, NearMiss.rule.in_(NEAR_RANK),
                               NearMiss.fix.is_not(None))
        .options(selectinload(NearMiss.product).selectinload(Product.institution))
        .order_by(NearMiss.id)).all()


def product_reach(institution_id: int) -> list[tuple[Product, int, Decimal]]:
    """Per product of the institution: how many open needs it matches and their total
    amount — figures only, no enterprise details before consent."""
    rows = db.session.execute(
        select(Match.product_id, func.count(Match.id), func.coalesce(func.sum(Need.amount_wan), 0))
        .join(Need, Need.id == Match.need_id)
        .join(Product, Product.id == Match.product_id)
        .where(Product.institution_id == institution_id, Need.status.in_(OPEN_STATUSES))
        .group_by(Match.product_id))
    counts = {pid: (n, total) for pid, n, total in rows}
    products = db.session.scalars(select(Product).where(Product.institution_id == institution_id)
                                  .order_by(Product.status, Product.name)).all()
    return [(p, *counts.get(p.id, (0, Decimal(0)))) for p in products]
