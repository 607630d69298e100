"""Reading what matching stores: a need's page (its matches and near misses), a list's best
match per need, a need's matches by institution (what leads, whitelists, events and the push
page offer each bank), the reasons of any pairing, and the banks' reach figures.

Each reads the stored rows when the need's are current (service.freshness) and, while a
change waits for its job, what a whole ranking would store now (service.rows_now): never
old figures, never a mix of old and new (README "A waiting need is computed when read")."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, not_, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..institutions.models import Product
from ..jobs import service as jobs
from . import adapters
from .matcher import NEAR_RANK, NeedIndex, RankKey, rank_order
from .models import Match, MatchState, NearMiss, ProductReach, StaleProduct
from .service import (
    NEAR_SHOWN,
    OPEN_STATUSES,
    SHOWN,
    current_matcher,
    firsts_now,
    institutions_current,
    rows_now,
    waiting,
)


def match_order(match) -> tuple:
    """The matcher's own order as a sort key (matcher.rank_order): score desc, estimated rate
    asc (unknown last), product ref asc — for stored rows and computed ones alike."""
    return rank_order(RankKey(float(match.score), match.estimated_rate, match.product.ref,
                              match.product_id))


def matches_for_need(need: Need, top: int | None = None) -> list[Match]:
    """The need's shown matches, best first (the reserve is not shown)."""
    query = (select(Match).where(Match.need_id == need.id, Match.rank.is_not(None),
                                 Match.rank <= (top or SHOWN))
             .options(selectinload(Match.product).selectinload(Product.institution))
             .order_by(Match.rank))
    return list(db.session.scalars(query))


def best_matches(need_ids: Iterable[int]) -> dict[int, Match]:
    """need_id -> its best stored match (rank 1) with the product (a stale need's row is
    still returned: lists show shown_bests, which computes a waiting need's)."""
    ids = list(need_ids)
    if not ids:
        return {}
    rows = db.session.scalars(select(Match).where(Match.need_id.in_(ids), Match.rank == 1)
                              .options(selectinload(Match.product)))
    return {m.need_id: m for m in rows}


def near_misses_for_need(need: Need) -> list[NearMiss]:
    """The stored near misses the enterprise can act on, each with its change (rows stored
    before the actionable rule, until the nightly `match --all`, are left out here)."""
    return list(db.session.scalars(
        select(NearMiss).where(NearMiss.need_id == need.id, NearMiss.rank <= NEAR_SHOWN,
                               NearMiss.rule.in_(NEAR_RANK), NearMiss.fix.is_not(None))
        .options(selectinload(NearMiss.product).selectinload(Product.institution))
        .order_by(NearMiss.rank)))


@dataclass(frozen=True)
class Shown:
    """What a need's page shows: its matches best first and the near misses the enterprise
    can act on; `now`: computed for this page, not read from the store (a change waits for
    its job)."""
    matches: list
    near_misses: list
    now: bool = False


def shown_for_need(need: Need) -> Shown:
    """The need page's matches: the stored ones when current; while a change waits for its
    job, those a whole ranking would store now (rows_now)."""
    if need.status == "draft":
        return Shown([], [])
    if not waiting([need]):
        return Shown(matches_for_need(need), near_misses_for_need(need))
    matches, near = rows_now(need)
    return Shown(sorted((m for m in matches if m.rank is not None and m.rank <= SHOWN),
                        key=lambda m: m.rank),
                 [n for n in near if n.rank <= NEAR_SHOWN and n.rule in NEAR_RANK and n.fix],
                 now=True)


def shown_bests(needs: list[Need]) -> dict[int, Match]:
    """For a list showing one line per need: need id -> its best match (rank 1), computed
    for a need waiting for a job (service.firsts_now)."""
    best = best_matches([n.id for n in needs])
    found = waiting(needs)
    for need in found:
        best.pop(need.id, None)
    best.update(firsts_now(found))
    return best


def matches_by_institution(need: Need | int, institution_ids=None, *,
                           published_only: bool = True) -> dict[int, list[Match]]:
    """institution_id -> the need's matches on that institution's products (its best, and
    any of its products in the need's ranked list), each list best first (match_order);
    the institutions come in the order of their best match. THE one query for "a need's
    matches by institution" (leads, whitelists, events, the push page), so a lead, a
    whitelist push and an event name the same best product. Rows stored without reasons
    (outside the shown list) get them from the matcher when asked (reasons_for). While the
    need waits for a job, the rows a whole ranking would store now (rows_now)."""
    row = need if isinstance(need, Need) else db.session.get(Need, need)
    if row is not None and waiting([row]):
        rows = rows_now(row)[0]
    else:
        query = (select(Match).join(Match.product).join(Product.institution)
                 .where(Match.need_id == (need if isinstance(need, int) else need.id))
                 .options(contains_eager(Match.product).contains_eager(Product.institution)))
        if published_only:
            query = query.where(Product.status == "published")
        if institution_ids is not None:
            query = query.where(Product.institution_id.in_(list(institution_ids)))
        rows = db.session.scalars(query).all()
    wanted = None if institution_ids is None else set(institution_ids)
    found: dict[int, list[Match]] = {}
    for match in sorted(rows, key=match_order):
        product = match.product
        if (published_only and product.status != "published") or \
                (wanted is not None and product.institution_id not in wanted):
            continue
        found.setdefault(product.institution_id, []).append(match)
    return found


def matched_institution_count(need: Need) -> int:
    """How many institutions the need's matches on published products name: what
    matches_by_institution returns, counted in SQL from the stored rows when current (their
    products' terms are not loaded for a number), computed while the need waits for a job."""
    if waiting([need]):
        return len(matches_by_institution(need))
    return db.session.scalar(
        select(func.count(func.distinct(Product.institution_id)))
        .select_from(Match).join(Match.product)
        .where(Match.need_id == need.id, Product.status == "published")) or 0


def reasons_for(need: Need, rows: list[Match]) -> dict[int, list[str]]:
    """product_id -> the reasons of stored rows (computed when stored without: a pairing
    outside the shown list)."""
    missing = [m.product_id for m in rows if not m.reasons]
    reasons = {m.product_id: list(m.reasons) for m in rows if m.reasons}
    if missing:
        matcher = current_matcher()
        facts = adapters.need_facts(need)
        keys = [RankKey(0.0, None, "", pid) for pid in missing if pid in matcher.products]
        for m in matcher.matches_for(facts, keys):
            reasons[m.product_id] = list(m.reasons)
    return reasons


def served(*conditions) -> tuple[set[int], set[int]]:
    """Who an event "by matches" invites: the enterprises with a need selected by
    `conditions` (on Need and Enterprise) that a published product serves, and those
    products' institutions. Read from the stored rows (each need's list holds every
    institution's best) where they are current; a product whose change waits for its job is
    evaluated now over the needs (NeedIndex, as its job does), and a need waiting for its own
    recompute or for one that can move eligibility (an import) is matched now. A wait for
    costs alone (an LPR quote, a programme, the fee rate) leaves the stored pairings true."""
    changed = set(db.session.scalars(select(StaleProduct.product_id)))
    current = institutions_current()

    def stored(column):
        query = (select(column).select_from(Match)
                 .join(Need, Need.id == Match.need_id)
                 .join(Enterprise, Enterprise.id == Need.enterprise_id)
                 .join(Product, Product.id == Match.product_id)
                 .outerjoin(MatchState, MatchState.need_id == Need.id)
                 .where(*conditions, Product.status == "published",
                        or_(MatchState.need_id.is_(None), current)))
        if changed:
            query = query.where(Match.product_id.not_in(changed))
        return set(db.session.scalars(query.distinct()))

    enterprises, institutions = stored(Need.enterprise_id), stored(Product.institution_id)
    needs = select(Need.id).join(Enterprise, Enterprise.id == Need.enterprise_id).where(*conditions)
    waiting_ids = _matched_anew(needs, current, changed)
    if changed or waiting_ids:
        for enterprise_id, institution_id in _served_now(needs, changed, waiting_ids):
            enterprises.add(enterprise_id)
            institutions.add(institution_id)
    return enterprises, institutions


def _matched_anew(needs, current, changed: set[int]) -> set[int]:
    """Of `needs` (a select of ids), those whose institutions are matched anew: waiting for
    their own or an eligibility-moving recompute (`current` fails), never ranked (an import's
    new needs), or whose stored best at some institution is a changed product — that
    institution's other products, beneath the stored list, may serve it still."""
    waiting = select(MatchState.need_id).where(MatchState.need_id.in_(needs), not_(current))
    never = select(Need.id).where(Need.id.in_(needs), Need.status.in_(OPEN_STATUSES),
                                  ~select(MatchState.need_id)
                                  .where(MatchState.need_id == Need.id).exists())
    found = set(db.session.scalars(waiting)) | set(db.session.scalars(never))
    if changed:
        found |= set(db.session.scalars(select(Match.need_id).where(
            Match.need_id.in_(needs), Match.product_id.in_(changed),
            Match.institution_best.is_(True))))
    return found


def _served_now(needs, changed: set[int], waiting_ids: set[int]) -> Iterator[tuple[int, int]]:
    """(enterprise id, institution id) the matcher finds now among `needs`: every product for
    a need in `waiting_ids`, the changed products for the others."""
    matcher = current_matcher()
    facts, _status = adapters.load_need_facts(db.session, Need.id.in_(needs))
    everyone = matcher.product_mask(matcher.products)
    for f in facts:
        if f.id in waiting_ids:
            for institution_id in matcher.institutions_serving(f, everyone):
                yield f.enterprise.id, institution_id
    others = [f for f in facts if f.id not in waiting_ids]
    terms = [matcher.products[pid] for pid in sorted(changed) if pid in matcher.products]
    if others and terms:
        index = NeedIndex(others, matcher.ctx)
        enterprise_of = {f.id: f.enterprise.id for f in others}
        for t in terms:
            for need_id in index.impact(t).eligible:
                yield enterprise_of[need_id], t.institution_id


class Reach(NamedTuple):
    """One product's reach: open needs it matches and their amount; `recounting` while its
    change's job has not recounted them (the stored figures are the old terms'), `stalled`
    when no job is queued or running to do it (it failed: an admin retries it)."""
    product: Product
    needs: int
    amount_wan: Decimal
    recounting: bool
    stalled: bool = False


def product_reach(institution_id: int) -> list[Reach]:
    """Per product of the institution: how many open needs it matches and their total
    amount — figures only, no enterprise details before consent. The products whose change
    waits for its job come first, marked (their old figures are not theirs any more); then
    the most needs first."""
    rows = db.session.execute(
        select(Product, ProductReach.needs, ProductReach.amount_wan,
               StaleProduct.product_id.is_not(None))
        .outerjoin(ProductReach, ProductReach.product_id == Product.id)
        .outerjoin(StaleProduct, StaleProduct.product_id == Product.id)
        .where(Product.institution_id == institution_id)
        .order_by(Product.status, Product.name)).all()
    found = [Reach(p, n or 0, amount if amount is not None else Decimal(0), bool(waits),
                   bool(waits) and not _recount_coming(p.id))
             for p, n, amount, waits in rows]
    return sorted(found, key=lambda r: (not r.recounting, -r.needs))


def _recount_coming(product_id: int) -> bool:
    """A job that will recount the product is under way: its own or every need's."""
    return any(jobs.in_progress(key)
               for key in (f"matching.product:{product_id}", "matching.all"))


def reach_computed_at(institution_id: int):
    return db.session.scalar(
        select(func.min(ProductReach.computed_at)).join(Product)
        .where(Product.institution_id == institution_id))
