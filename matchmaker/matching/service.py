"""Stored matches: computed by the pure matcher (matcher.py), kept fresh when a need, a product
or the policy changes. Services flush, never commit; jobs (jobs.py) commit per chunk of needs.

What is stored and why (README "Matching at city scale"):
- per need, what its page shows: the SHOWN best matches with their reasons plus RESERVE more
  (ranked keys, no reasons), the first NEAR_SHOWN near misses plus a reserve, and a
  MatchState (the basis it was computed under, whether the stored ranking holds every
  eligible product). The reserve lets a product edit patch a list (Matcher.refresh) instead
  of ranking the need again.
- per product, ProductReach: how many open needs it matches and their total amount (what a
  bank reads as "needs that match my products").
- per need also each institution's best product (what leads, whitelists, events and the
  push page offer it: queries.matches_by_institution); nothing per pairing beyond that: the
  reasons of a pairing outside the shown list are computed when asked (queries.reasons_for).

Freshness — the API other domains call when what the matcher reads changes:
    mark_stale(product_ids=..., need_ids=..., everything=False) -> epoch
        bumps the basis and marks the needs it affects stale: one row whatever their number
        (everything: MatchingBasis.all_wanted; a product: a StaleProduct row that every need
        naming it is compared with; named needs: their MatchState); their stored rows
        are not shown meanwhile: readers compute them (rows_now).
    enqueue_recompute(product_ids=..., everything=False, actor=None) -> list[Job]
        the job(s) that bring them back; coalesced while one waits.
    recompute_later(...) does both (the subscribers call it).
    recompute_programme_later(program) / recompute_fee_later(): a change that moves only some
        pairings' costs: every need stale (mark_policy_stale: a StalePolicy row, kept until
        that change's own job is done, whatever finishes before it), and the job that
        patches the needs it moves (recompute_costs).
    is_fresh(need) / freshness(needs): whether a need's stored results are current.
    waiting(needs) / rows_now(need): the needs whose stored rows wait for a job, and what a
        whole ranking of one would store now (computed, never written). Reading is
        queries.py: the stored rows when current, else rows_now's.
A need's own change (its terms, its enterprise's profile) is recomputed at once: refresh_need.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Float,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from .. import clock, jobs, signals
from ..enterprises.models import Enterprise, Need
from ..extensions import db, insert_rows, refresh_stale_statistics, update_rows
from ..institutions.models import (
    CoreEnterprise,
    CoreEnterpriseAlias,
    CoreEnterpriseGroup,
    Institution,
    Product,
)
from ..institutions.subsidies import SubsidyProgram as SubsidyRecord
from ..institutions.subsidies import guarantee_fee_possible, need_side_refusal
from ..policy import service as policy
from ..policy.models import ProgramConfirmation, ReferenceRate, Setting, SubsidyProgram
from . import adapters, parallel
from .matcher import (
    RULES_BY_CODE,
    MatchContext,
    Matcher,
    NearRanking,
    NeedIndex,
    NeedResult,
    Ranking,
    RankKey,
    rank_order,
)
from .matcher import Match as PureMatch
from .matcher import NearMiss as PureNearMiss
from .models import (
    Match,
    MatchingBasis,
    MatchState,
    NearMiss,
    ProductReach,
    StalePolicy,
    StaleProduct,
)

log = logging.getLogger(__name__)

SHOWN = 10  # matches shown with their reasons on the need page
RESERVE = 5  # ranked keys kept beyond them, so that a product leaving seldom re-ranks a need
NEAR_SHOWN = 10  # near misses shown: the ones the enterprise can act on first
CHUNK = 2_000  # needs per transaction in a job: each commit leaves every need consistent
PART = 5_000  # needs per part of `match --all`: parts run in parallel on the workers
# needs (stored, by id range) per part of a product's job at the least: a platform with more
# is split into as many parts as workers take jobs (100,000 needs on two workers: two parts)
PRODUCT_PART = 10_000
# a patch reads the stored rows of the changed products' institutions by product id, up to
# this many products; beyond, it reads every row (a programme carried by most banks)
FAMILY_NAMED = 500
# needs whose matches a bank may act on (counted on the bank's product reach page)
OPEN_STATUSES = ("published", "in_progress")
# platform settings the matcher reads: changing one makes every stored cost stale
# the setting that moves the cost of the pairings whose loan carries a guarantee fee
FEE_SETTING = "guarantee_fee_rate"
# the StalePolicy key of a change only a full recompute holds (mark_policy_stale's keys are
# those of a change whose own job patches)
EVERYTHING = "everything"

_cache_lock = threading.Lock()
_cache: dict = {"stamp": None, "matcher": None}


# --- the matcher, built once per catalogue state --------------------------------------------

def _stamp(day: date) -> tuple:
    """Changes whenever anything the matcher reads from the catalogue or the policy changes,
    and each day: the institutions' on-time record (a 180-day window) enters scores daily,
    not on every claim, so that a busy inbox does not rebuild the matcher all day."""
    # the basis epoch: every change that marks needs stale bumps it, even within a clock tick
    parts = [day, db.session.scalar(select(MatchingBasis.epoch).where(MatchingBasis.id == 1))]
    for model, column in ((Product, Product.updated_at), (Institution, Institution.updated_at),
                          (SubsidyProgram, SubsidyProgram.updated_at),
                          (ProgramConfirmation, ProgramConfirmation.confirmed_at),
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
        guarantee_fee_rate=Decimal(str(policy.setting("guarantee_fee_rate", 1.0))),
        core_describe=adapters.core_describer(db.session),
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
    matcher = Matcher(adapters.load_product_terms(db.session), build_context(day))
    with _cache_lock:
        _cache.update(stamp=stamp, matcher=matcher)
    return matcher


# --- freshness ----------------------------------------------------------------------------------

def _basis() -> MatchingBasis:
    row = db.session.get(MatchingBasis, 1)
    if row is None:  # a database created without the migration's row (never in production)
        row = MatchingBasis(id=1, epoch=1, all_wanted=1, changed_at=clock.now())
        db.session.add(row)
        db.session.flush()
    return row


def current_epoch() -> int:
    """Read it BEFORE loading the catalogue: results are then at least this fresh."""
    return _basis().epoch


def _latest_epoch() -> int:
    """The epoch as committed now (current_epoch reads the row the session may hold since
    the job began)."""
    return db.session.scalar(select(MatchingBasis.epoch).where(MatchingBasis.id == 1))


def _bump() -> int:
    basis = _basis()
    db.session.execute(update(MatchingBasis).where(MatchingBasis.id == 1)
                       .values(epoch=MatchingBasis.epoch + 1, changed_at=clock.now()),
                       execution_options={"synchronize_session": False})
    db.session.refresh(basis)
    return basis.epoch


def mark_stale(*, product_ids: Iterable[int] = (), need_ids: Iterable[int] | Select = (),
               everything: bool = False, costs_only: bool = False) -> int:
    """What the matcher reads changed: bump the basis, and mark stale every need
    (everything: one row), or the needs whose stored results name one of `product_ids` (one
    StaleProduct row each: their figures would be old) and `need_ids`. Returns the new epoch.
    `costs_only`: a change to every need that moves costs alone (an LPR quote, a programme,
    the fee rate), never who is eligible for what (institutions_current).
    The recompute job (enqueue_recompute) makes them fresh; a product entering a list it was
    not in appears when that job has run (seconds), without the need showing anything old
    meanwhile."""
    epoch = _bump()
    if everything:
        values = {"all_wanted": epoch} if costs_only else \
            {"all_wanted": epoch, "eligible_wanted": epoch}
        db.session.execute(update(MatchingBasis).where(MatchingBasis.id == 1).values(**values),
                           execution_options={"synchronize_session": False})
        return epoch
    products = list(dict.fromkeys(product_ids))
    if products:
        _upsert(StaleProduct, [{"product_id": pid, "epoch": epoch} for pid in products],
                StaleProduct.product_id, ("epoch",))
    # a select of ids (the supply-chain needs: tens of thousands) is one statement
    chunks = [need_ids] if isinstance(need_ids, Select) else _chunks(list(need_ids))
    for chunk in chunks:
        db.session.execute(update(MatchState).where(MatchState.need_id.in_(chunk))
                           .values(wanted=epoch),
                           execution_options={"synchronize_session": False})
    return epoch


def mark_policy_stale(key: str) -> int:
    """A change of the policy (`key`: programme_key, FEE_SETTING) whose own job patches only the
    needs it moves: every need stale at once, as mark_stale(everything=True), and kept stale
    until that job is done (a StalePolicy row), whatever job finishes before it."""
    epoch = mark_stale(everything=True, costs_only=True)
    _upsert(StalePolicy, [{"key": key, "epoch": epoch}], StalePolicy.key, ("epoch",))
    return epoch


def forget_stale_policies(epoch: int, key: str | None = None) -> None:
    """The change `key` (every change: a full recompute) is in every need's rows as of
    `epoch`; a change marked again after the job began keeps its row."""
    where = [StalePolicy.epoch <= epoch]
    if key is not None:
        where.append(StalePolicy.key == key)
    _delete(StalePolicy, *where)


def programme_key(code: str) -> str:
    """A programme's StalePolicy key (the fee rate's is FEE_SETTING)."""
    return f"programme:{code}"


def enqueue_recompute(*, product_ids: Iterable[int] = (), everything: bool = False,
                      actor=None) -> list:
    """The background job(s) that make the stale needs fresh again."""
    if everything:
        whole = jobs.enqueue("matching.all", {}, actor=actor, key="matching.all",
                             description="重新计算全部匹配结果")
        _covered_by(whole)
        return [whole]
    if jobs.service.active_job("matching.all", queued_only=True) is not None:
        return []  # a full recompute waits: it will see this change too
    return [jobs.enqueue("matching.product", {"product_id": pid}, actor=actor,
                         key=f"matching.product:{pid}", description="更新产品的匹配结果")
            for pid in dict.fromkeys(product_ids)]


def _covered_by(whole) -> None:
    """Product recomputes still waiting are covered by a full one (an LPR quote reprices
    hundreds of products in the request that also asks for everything)."""
    db.session.execute(
        update(jobs.models.Job).where(jobs.models.Job.kind.in_(("matching.product",
                                                               "matching.programme",
                                                               "matching.fee")),
                                      jobs.models.Job.status == "queued",
                                      jobs.models.Job.parent_id.is_(None))
        .values(status="done", progress=100, finished_at=clock.now(),
                message=f"已由全部重新计算（任务 #{whole.id}）覆盖"),
        execution_options={"synchronize_session": False})


# confirmations or repricings of more products than this at once (an organizer's 全部确认
# after an upgrade, a 5-year LPR quote) recompute every need in one job, not one per product
BULK_PRODUCTS = 20


def recompute_after_lpr(quote, day: date | None, actor=None) -> list:
    """An LPR quote recorded on `day`. The 1-year rate in force is the cost points' scale:
    moving it moves every pairing's score (a full recompute; costs only, since the products
    it reprices wait as StaleProduct rows of their own). The 5-year rate only reprices the
    products priced on it (institutions' subscriber: each its own product job, or one full
    recompute when more than BULK_PRODUCTS). A quote that repeats the rate in force (most
    months), is dated ahead (its day's reprice and the nightly `match --all` take it in), or
    before a later quote moves nothing: no job."""
    if not policy.lpr_moved(quote, day or clock.china_today()):
        return []
    if quote.kind == "lpr_1y":
        return recompute_later(everything=True, costs_only=True, actor=actor)
    priced = db.session.scalar(select(func.count()).select_from(Product).where(
        Product.rate_basis == quote.kind, Product.status == "published"))
    if priced > BULK_PRODUCTS:
        return recompute_later(everything=True, actor=actor)
    return []


def recompute_programme_later(program: SubsidyProgram, actor=None) -> list:
    """A subsidy programme created or edited: every need is marked stale at once (one row)
    and its job ranks again only the needs the change can move (recompute_programme). A
    use-fee programme says whom a bridge fund may serve at all (what it is eligible for, its
    reach): then everything is recomputed. An edit of its wording alone, or of a programme
    in force neither before nor after it today, moves nothing stored: no job."""
    before = program.version - 1 if (program.version or 1) > 1 else None
    versions = adapters.subsidy_program_versions(db.session, program.code, before)
    if None not in versions and _read_alike(*versions):
        return []  # its citation or how to apply: no ranking, cost or reason reads them
    today = clock.china_today()
    if not any(p is not None and p.in_force(today) for p in versions):
        # in force neither as it was nor as it is (next year's, one that has ended): the
        # matcher reads only the programmes in force; its first day's nightly `match --all`
        # takes it in
        return []
    if any(p is not None and p.benefit == "use_fee" for p in versions):
        return recompute_later(everything=True, actor=actor)
    mark_policy_stale(programme_key(program.code))
    if jobs.service.active_job("matching.all", queued_only=True) is not None:
        return []  # a full recompute waits: it will see this change too
    # a waiting job of the same programme keeps its older `before`: it covers this edit too
    return [jobs.enqueue("matching.programme", {"code": program.code, "before": before},
                         actor=actor, key=f"matching.programme:{program.code}",
                         description=f"按补贴政策“{program.label}”的变更更新匹配结果")]


# what a programme says that neither eligibility, costs nor reasons read: the policy cards
# (policy.public) show them as they are now
_UNREAD = {"source": "", "quote": "", "how_to_apply": "", "version": 0}


def _read_alike(before: SubsidyRecord, now: SubsidyRecord) -> bool:
    """Two versions of a programme that every match reads the same: an edit of its citation,
    its quote or how to apply (an organizer's wording) changes no stored result."""
    return replace(before, **_UNREAD) == replace(now, **_UNREAD)


def recompute_fee_later(actor=None) -> list:
    """The guarantee fee rate changed: every need is marked stale at once (one row) and its
    job patches only the needs a product carrying the fee serves (recompute_fee)."""
    mark_policy_stale(FEE_SETTING)
    if jobs.service.active_job("matching.all", queued_only=True) is not None:
        return []  # a full recompute waits: it will see this change too
    # a waiting fee job reads the rate when it runs: it covers this change too
    return [jobs.enqueue("matching.fee", {}, actor=actor, key="matching.fee",
                         description="按担保费率的变更更新匹配结果")]


def pending_recompute(*, product_id: int | None = None, programme: str | None = None,
                      setting: str | None = None) -> int | None:
    """The id of the recompute a change just started or joined while it waits (the
    product's, the programme's, the fee setting's, else the full one), or None: the page
    after the change shows its progress (?job=)."""
    keys = [f"matching.product:{product_id}"] if product_id is not None else []
    keys += [f"matching.programme:{programme}"] if programme is not None else []
    keys += ["matching.fee"] if setting == FEE_SETTING else []
    for key in (*keys, "matching.all"):
        job = jobs.service.active_job(key)
        if job is not None:
            return job.id
    return None


def recompute_later(*, product_ids: Iterable[int] = (), everything: bool = False,
                    costs_only: bool = False, actor=None) -> list:
    """mark_stale + enqueue_recompute: what a change to the catalogue or the policy calls. A
    change that needs every need ranked whole (an LPR quote, an import) also waits as a
    StalePolicy row: a patch job finishing while the full recompute runs (a fee rate's, a
    product's) raises the basis of needs the full one has not reached yet, and they would
    look current with the old scores."""
    product_ids = list(product_ids)
    epoch = mark_stale(product_ids=product_ids, everything=everything, costs_only=costs_only)
    if everything:
        _upsert(StalePolicy, [{"key": EVERYTHING, "epoch": epoch}], StalePolicy.key, ("epoch",))
    return enqueue_recompute(product_ids=product_ids, everything=everything, actor=actor)


_DEFERRED = "matching_deferred"
# (matcher, {need id: (facts, match rows, reasons built ahead)}) just written: recompute_needs
_RECENT = "matching_recent"
_NOW = "matching_rows_now"  # session.info: rows_now's results, per need and epoch


class everything_after:
    """`with everything_after(actor):` — a bulk change (an import) that touches products and
    needs by the thousand: the subscribers skip their per-row recomputes, and one full
    recompute is asked for at the end (if the block did not fail)."""

    def __init__(self, actor=None):
        self.actor = actor

    def __enter__(self):
        db.session.info[_DEFERRED] = db.session.info.get(_DEFERRED, 0) + 1
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        db.session.info[_DEFERRED] -= 1
        if exc_type is None and not db.session.info[_DEFERRED]:
            recompute_later(everything=True, actor=self.actor)
        return False


def deferred() -> bool:
    """Inside everything_after: per-row recomputes are left to the one at the end."""
    return bool(db.session.info.get(_DEFERRED))


@dataclass(frozen=True)
class Freshness:
    computed: bool  # results were ever computed
    fresh: bool
    computed_at: object = None


def freshness(need_ids: Iterable[int]) -> dict[int, Freshness]:
    """Per need: are its stored results current? (Readers compute them when not.)"""
    ids = list(need_ids)
    all_wanted = _basis().all_wanted
    # a policy change still waiting for its job: only a need ranked whole since holds it
    waiting = db.session.scalar(select(func.max(StalePolicy.epoch))) or 0
    found = {nid: Freshness(False, False) for nid in ids}
    stale = _stale_products_named(ids)
    for state in db.session.scalars(select(MatchState).where(MatchState.need_id.in_(ids))):
        wanted = max(state.wanted, all_wanted, stale.get(state.need_id, 0))
        fresh = state.basis >= wanted and state.whole_basis >= waiting
        found[state.need_id] = Freshness(True, fresh, state.computed_at)
    return found


def institutions_current():
    """A condition on MatchState: the need's stored rows name every institution it is
    eligible at, whatever costs wait for a job (an LPR quote, a programme, the fee rate move
    no eligibility): nothing of its own waits, and it was ranked whole since the last change
    to every need that can move eligibility (an import; a patch since does not count: it
    kept the other products' keys). Set-based, for a scope of any size; a changed product's
    needs (StaleProduct) are for the caller to evaluate."""
    return and_(MatchState.basis >= MatchState.wanted,
                MatchState.whole_basis >= _basis().eligible_wanted)


def _stale_products_named(need_ids: list[int]) -> dict[int, int]:
    """need id -> the latest epoch of a changed product its stored rows name."""
    named = [select(model.need_id.label("need_id"), StaleProduct.epoch.label("epoch"))
             .join(StaleProduct, StaleProduct.product_id == model.product_id)
             .where(model.need_id.in_(need_ids)) for model in (Match, NearMiss)]
    found: dict[int, int] = {}
    for need_id, epoch in db.session.execute(union_all(*named)):
        found[need_id] = max(epoch, found.get(need_id, 0))
    return found


def is_fresh(need: Need) -> bool:
    return freshness([need.id])[need.id].fresh


# --- writing results ----------------------------------------------------------------------------

class _Decimals(dict):
    """score -> Decimal(str(score)), made once: scores have one decimal, so a few hundred
    distinct values stand for a job's hundreds of thousands of rows."""

    def __missing__(self, value: float) -> Decimal:
        if len(self) > 100_000:
            self.clear()
        found = self[value] = Decimal(str(value))
        return found


_SCORES = _Decimals()


@dataclass
class _Writer:
    """A need's rows, written in few bulk statements in one transaction, never half-written:
    put() replaces all of them (a need ranked whole), patch() only those that differ from
    what the need stores (a product's job: a few rows of each list move)."""

    matcher: Matcher
    epoch: int
    versions: dict = field(default_factory=dict)  # stored product versions, for keys kept
    now: object = field(default_factory=clock.now)
    needs: list = field(default_factory=list)
    states: list = field(default_factory=list)
    matches: list = field(default_factory=list)
    near: list = field(default_factory=list)
    newer: set = field(default_factory=set)  # needs the last write() left to a newer basis
    # need id -> its state's computed_at when its facts were read (facts_seen): a need
    # written since by anyone else (its own edit, at the same epoch) is newer too
    seen: dict | None = None
    done: set | None = None  # the needs written are added here (a job's old-basis check)

    patched: list = field(default_factory=list)  # needs written row by row (patch)
    gone_matches: list = field(default_factory=list)  # (need id, row id) replaced or dropped
    gone_near: list = field(default_factory=list)
    # (need id, (row id, *values of MATCH_SET / NEAR_SET)): rows rewritten in place
    moved_matches: list = field(default_factory=list)
    moved_near: list = field(default_factory=list)

    def put(self, need_id: int, shown: list[PureMatch], ranking: Ranking,
            near: NearRanking, best: list[RankKey]) -> None:
        """Every row of the need, its old ones deleted at write()."""
        self.needs.append(need_id)
        self._state(need_id, ranking, near, whole=True)
        rows = self._match_rows(need_id, ranking, best)
        _with_reasons(rows, shown)
        self.matches += rows
        self.near += self._near_rows(need_id, near)

    def patch(self, facts, ranking: Ranking, near: NearRanking, best: list[RankKey],
              before: _Rows, changed: frozenset[int]) -> bool:
        """Only the rows of the need that differ from what it stores (`before`), and the
        changed products' rows always (their reasons may read differently): a product edit
        moves a few rows of a need's 40 or so. A need whose match rows were not read
        (before.unranked: only its near misses can move) has its near misses compared
        alone. Returns False when no row differs."""
        if facts.id in before.unranked:
            fresh, gone, moved = [], [], []
        else:
            fresh, gone, moved = _differing(
                self._match_rows(facts.id, ranking, best), before.matches.get(facts.id, {}),
                self._match_signature, MATCH_SET,
                lambda row: row["product_id"] in changed and self._shown(row))
        # a near miss's row holds nothing its signature does not compare
        near_fresh, near_gone, near_moved = _differing(
            self._near_rows(facts.id, near), before.near.get(facts.id, {}), _near_signature,
            NEAR_SET, lambda row: False)
        if not (fresh or gone or moved or near_fresh or near_gone or near_moved):
            return False
        shown = [r for r in fresh if self._shown(r)]
        _with_reasons(shown, self.matcher.matches_for(facts, [r["_key"] for r in shown]))
        self.patched.append(facts.id)
        self._state(facts.id, ranking, near)
        self.matches += fresh
        self.near += near_fresh
        self.gone_matches += [(facts.id, row_id) for row_id in gone]
        self.gone_near += [(facts.id, row_id) for row_id in near_gone]
        self.moved_matches += [(facts.id, values) for values in moved]
        self.moved_near += [(facts.id, values) for values in near_moved]
        return True

    def _state(self, need_id: int, ranking: Ranking, near: NearRanking,
               whole: bool = False) -> None:
        self.states.append({"need_id": need_id, "basis": self.epoch, "wanted": 0,
                            "computed_at": self.now, "complete": ranking.complete,
                            "near_complete": near.complete,
                            "whole_basis": self.epoch if whole else 0})

    def _match_rows(self, need_id: int, ranking: Ranking, best: list[RankKey]) -> list[dict]:
        """The ranked keys, then the institution bests outside them (rank NULL); reasons
        empty until _with_reasons fills the shown ones."""
        best_ids = {k.product_id for k in best}
        ranked = [(rank, key) for rank, key in enumerate(ranking.keys, 1)]
        ranked_ids = {k.product_id for k in ranking.keys}
        ranked += [(None, key) for key in best if key.product_id not in ranked_ids]
        # a Decimal per distinct score: 800,000 rows a `match --all` of 20,000 needs
        return [{"need_id": need_id, "product_id": key.product_id, "rank": rank,
                 "institution_best": key.product_id in best_ids,
                 "product_version": self._version(key.product_id),
                 "score": _SCORES[key.score], "estimated_rate": key.estimated_rate,
                 "reasons": [], "components": {}, "computed_at": self.now, "_key": key}
                for rank, key in ranked]

    def _near_rows(self, need_id: int, near: NearRanking) -> list[dict]:
        return [{"need_id": need_id, "product_id": n.product_id, "rank": rank,
                 "product_version": self._version(n.product_id), "rule": n.rule_code,
                 "reason": n.reason_zh[:255], "fix": (n.fix_zh or "")[:255] or None,
                 "computed_at": self.now}
                for rank, n in enumerate(near.items, 1)]

    def _shown(self, row: dict) -> bool:
        """Stored with its reasons: in the shown part of the list, and still on the market."""
        return (row["rank"] is not None and row["rank"] <= SHOWN
                and row["product_id"] in self.matcher.products)

    def _match_signature(self, row: dict) -> tuple:
        """What a stored row is compared on (_Rows reads the same from the database): the
        columns of MATCH_SET, then whether it holds reasons."""
        key = row["_key"]
        return (row["rank"], row["institution_best"], row["product_version"], key.score,
                key.estimated_rate, self._shown(row))

    def _version(self, product_id: int) -> int:
        terms = self.matcher.products.get(product_id)
        return terms.version if terms is not None else self.versions.get(product_id, 0)

    def take(self, ranked: _Ranked) -> None:
        """Needs ranked elsewhere (a child process), written as if put here."""
        self.needs += ranked.needs
        self.states += ranked.states
        self.matches += ranked.matches
        self.near += ranked.near

    def put_result(self, result: NeedResult) -> None:
        self.put(result.need.id, result.matches, result.ranking, result.near_ranking,
                 result.institution_best)

    def put_ranked_whole(self, facts) -> None:
        """A need a patch cannot serve (never computed, or its list fell below what is
        shown) ranked whole, every row of it replaced."""
        self.put_result(next(self.matcher.match_all([facts], top=SHOWN, near_top=NEAR_SHOWN,
                                                    reserve=RESERVE, per_institution=True)))

    def _written_since(self, need_ids: list[int]) -> set[int]:
        """Of these needs (ascending), those a newer basis wrote, or (seen) anyone since
        their facts were read. Their states are locked until this transaction ends (on
        PostgreSQL): a need edit written but not yet committed is waited for and seen, and
        none can come between this check and the write (nor _rank_again's)."""
        seen = self.seen
        return {need_id for need_id, basis, computed_at in db.session.execute(
                    select(MatchState.need_id, MatchState.basis, MatchState.computed_at)
                    .where(MatchState.need_id.in_(need_ids))
                    .order_by(MatchState.need_id).with_for_update())  # as _Rows._states
                if basis > self.epoch or (seen is not None and computed_at != seen.get(need_id))}

    def write(self, redo: int = 2) -> int:
        """Replace the rows of the needs put; skips a need a newer basis already wrote, or
        (seen) anyone since its facts were read (they are left in `newer`), and ranks it
        whole again at the latest basis with its facts as they are now (_rank_again, up to
        `redo` times)."""
        self.newer = set()
        if not (self.needs or self.patched):
            return 0
        if len(self.needs) + len(self.patched) > 100:  # a job's chunk, never a request's need
            _planner_ready()
        newer = self.newer
        for chunk in _chunks(sorted({*self.needs, *self.patched})):  # locked in id order
            newer |= self._written_since(chunk)
        keep = (lambda row: row["need_id"] not in newer) if newer else (lambda row: True)
        for chunk in _chunks([n for n in self.needs if n not in newer]):
            _delete(Match, Match.need_id.in_(chunk))
            _delete(NearMiss, NearMiss.need_id.in_(chunk))
        for model, gone in ((Match, self.gone_matches), (NearMiss, self.gone_near)):
            for chunk in _chunks([row_id for need_id, row_id in gone if need_id not in newer]):
                _delete(model, model.id.in_(chunk))
        for model, columns, moved in ((Match, MATCH_SET, self.moved_matches),
                                      (NearMiss, NEAR_SET, self.moved_near)):
            update_rows(model.__table__, columns,
                        [values for need_id, values in moved if need_id not in newer])
        rows = [r for r in self.matches if keep(r)]
        for row in rows:
            row.pop("_key", None)
        insert_rows(Match.__table__, rows)
        insert_rows(NearMiss.__table__, [r for r in self.near if keep(r)])
        _upsert_states([s for s in self.states if keep(s)])
        if self.done is not None:
            self.done.update(n for n in (*self.needs, *self.patched) if n not in newer)
        written = len(self.needs) + len(self.patched)
        self.needs, self.patched, self.states, self.matches, self.near = [], [], [], [], []
        self.gone_matches, self.gone_near, self.moved_matches, self.moved_near = [], [], [], []
        if newer and redo:
            _rank_again(newer, redo - 1)
        return written


def _rank_again(need_ids: set[int], redo: int) -> None:
    """Needs a write skipped: a job that began after this one wrote them meanwhile. It may
    have patched only its own products' keys, over rows that do not hold this one's change
    yet (a programme's, a product's), and its basis would hide that for good. A whole
    ranking at the latest basis, with the latest matcher, holds both changes whatever was
    stored; it replaces them. Few needs in a plain run (none: a test counts); when jobs
    overlap, as many as the later one wrote while this one ran."""
    epoch = _latest_epoch()  # before the catalogue, as current_epoch
    matcher = current_matcher()
    facts, _ = adapters.load_need_facts(db.session, Need.id.in_(sorted(need_ids)))
    writer = _Writer(matcher, epoch)
    for f in facts:
        writer.put_ranked_whole(f)
    writer.write(redo)
    if writer.newer and not redo:
        log.warning("%d needs written by newer jobs while ranked again: left as written",
                    len(writer.newer))


def _planner_ready() -> None:
    """The stored results' tables, analyzed where their statistics say nothing true any more
    (a first `match --all`, an import): every statement here reads or deletes them by need."""
    refresh_stale_statistics(Match.__tablename__, NearMiss.__tablename__,
                             MatchState.__tablename__)


# the columns of a stored row that a patch may rewrite in place, as its signature has them
MATCH_SET = ("rank", "institution_best", "product_version", "score", "estimated_rate")
NEAR_SET = ("rank", "product_version", "rule", "reason", "fix")


def _near_signature(row: dict) -> tuple:
    return tuple(row[name] for name in NEAR_SET)


def _differing(rows: list[dict], before: dict, signature, columns: tuple[str, ...],
               forced) -> tuple[list, list, list]:
    """The rows to write (new, `forced`, or holding reasons where the stored one holds none
    or the other way round), the stored row ids to delete (those replaced, or no longer
    wanted), and (row id, *values of `columns`) of the stored rows that differ only in
    those columns, rewritten in place: a carrier moving up shifts every row below it."""
    fresh, gone, moved = [], [], []
    width = len(columns)
    for row in rows:
        old = before.get(row["product_id"])
        if old is not None and not forced(row):
            wanted = signature(row)
            if old[1] == wanted:
                continue
            if old[1][width:] == wanted[width:]:
                moved.append((old[0], *(row[name] for name in columns)))
                continue
        fresh.append(row)
        if old is not None:
            gone.append(old[0])
    wanted = {row["product_id"] for row in rows}
    gone += [row_id for pid, (row_id, _) in before.items() if pid not in wanted]
    return fresh, gone, moved


def _with_reasons(rows: list[dict], shown: list[PureMatch]) -> None:
    by_product = {m.product_id: m for m in shown}
    for row in rows:
        if (m := by_product.get(row["product_id"])) is not None:
            row["reasons"] = list(m.reasons)
            row["components"] = {k: round(v, 1) for k, v in m.components.items()}



def _upsert_states(rows: list[dict]) -> None:
    """Insert or update MatchState rows, leaving `wanted` as concurrent changes set it and
    `whole_basis` as the last whole ranking set it (a patch's rows carry 0). A whole ranking
    sets its own epoch even below the stored one: it replaced every row, so a newer claim
    would no longer be true of them."""
    if not rows:
        return
    postgres = db.session.get_bind().dialect.name == "postgresql"
    stmt = (pg_insert if postgres else sqlite_insert)(MatchState)
    stmt = stmt.on_conflict_do_update(index_elements=[MatchState.need_id], set_={
        **{name: stmt.excluded[name]
           for name in ("basis", "computed_at", "complete", "near_complete")},
        "whole_basis": case((stmt.excluded.whole_basis > 0, stmt.excluded.whole_basis),
                            else_=MatchState.whole_basis)})
    db.session.execute(stmt, rows)


def _upsert(model, rows: list[dict], key, columns: tuple[str, ...]) -> None:
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(model)
    stmt = stmt.on_conflict_do_update(index_elements=[key],
                                      set_={name: stmt.excluded[name] for name in columns})
    db.session.execute(stmt, rows)


def _mark_fresh(need_ids: list[int], epoch: int) -> None:
    """Needs a job checked and found unchanged: their stored results are current at `epoch`
    (the part's last step, _moved_since_read, ranks again those it judged on old facts)."""
    for chunk in _chunks(need_ids):
        db.session.execute(update(MatchState).where(MatchState.need_id.in_(chunk),
                                                    MatchState.basis < epoch)
                           .values(basis=epoch), execution_options={"synchronize_session": False})


def _moved_since_read(epoch: int, seen: dict, read: dict, done: set[int], *where) -> set[int]:
    """Of the needs `where`, those a job at `epoch` judged from facts that are no longer
    theirs, and that nothing since ranked whole at `epoch` or later: to be ranked again.

    The job judged each need (untouched by its change, or unchanged by it) from the facts it
    read (`read`, need id -> NeedFacts) after `seen` (facts_seen). A need written since by
    anyone else (computed_at no longer as seen; `done`: the ones this job wrote) with other
    facts — its owner's edit, ranked by a refresh_need that read its epoch before the change
    committed — holds rows without the change for facts the change may move; whatever basis
    a later job has raised it to since, marking it current would hide that. One rewritten
    with the facts the job read (an older job's patch) holds what was judged. The states are
    locked in id order until the job commits: an edit not yet committed is waited for."""
    written = {need_id for need_id, computed_at, whole in db.session.execute(
        select(MatchState.need_id, MatchState.computed_at, MatchState.whole_basis)
        .where(*where).order_by(MatchState.need_id).with_for_update())
        if computed_at != seen.get(need_id) and whole < epoch and need_id not in done}
    moved = set()
    for chunk in _chunks(sorted(written)):
        now, _ = adapters.load_need_facts(db.session, Need.id.in_(chunk))
        moved |= {f.id for f in now if read.get(f.id) != f}
    if moved:
        log.info("%d needs edited at an older basis while the job ran: ranked again",
                 len(moved))
    return moved


def _delete(model, *where) -> None:
    # no session synchronisation: no Match or NearMiss objects are kept in the session while
    # refreshing, and evaluating the criteria against every loaded object cost seconds
    db.session.execute(delete(model).where(*where),
                       execution_options={"synchronize_session": False})


def _within(column, needs: tuple[int, int] | None) -> list:
    """The condition `column` between a part's (lo, hi) need ids; none for every need."""
    return [column.between(*needs)] if needs else []


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# --- recomputing ---------------------------------------------------------------------------------

def refresh_need(need: Need, basis: tuple[int, Matcher] | None = None) -> list[PureMatch]:
    """Recompute one need at once (its own change: fast); returns its shown matches. The
    matcher is taken after the epoch (a cached one when nothing changed): one built before
    a change committed meanwhile would write that change's epoch over rows without it.
    `basis`: (epoch, matcher) read in that order, for a loop over many needs."""
    db.session.flush()
    # a product's job patching this need holds its state: wait for it, then write whole
    db.session.execute(select(MatchState.need_id).where(MatchState.need_id == need.id)
                       .with_for_update())
    epoch, matcher = basis or (current_epoch(), current_matcher())
    result = next(matcher.match_all([adapters.need_facts(need)], top=SHOWN,
                                    near_top=NEAR_SHOWN, reserve=RESERVE, per_institution=True))
    writer = _Writer(matcher, epoch)
    writer.put_result(result)
    writer.write()
    signals.matches_refreshed.send(need)
    return result.matches


def refresh_open_needs_of(enterprise: Enterprise) -> int:
    """After the facts an enterprise's needs are ranked by changed (a verified tag)."""
    db.session.flush()
    needs = db.session.scalars(select(Need).where(Need.enterprise_id == enterprise.id,
                                                  Need.status.in_(OPEN_STATUSES))
                               .order_by(Need.id)).all()  # locked in id order, as jobs do
    for need in needs:
        refresh_need(need)
    return len(needs)


def supply_chain_needs():
    """The open needs of enterprises that state a core enterprise (a select of ids): only
    their core-enterprise condition reads the list, its aliases and its groups."""
    return (select(Need.id).join(Enterprise, Enterprise.id == Need.enterprise_id)
            .where(Enterprise.core_enterprise.is_not(None), Need.status.in_(OPEN_STATUSES)))


def recompute_supply_chain_later(actor=None) -> list:
    """The core-enterprise list changed (an enterprise, an alias, a group): the needs that
    state a core enterprise are marked stale in one statement (pages compute them meanwhile:
    rows_now) and a job ranks them again (recompute_supply_chain). At city scale they are
    tens of thousands: one by one in the request it would outlive the worker.

    The epoch moves here and the basis row is held until the request commits: a change made
    meanwhile (a product's, a programme's) gets a later epoch, and its job reads the needs as
    this one's job leaves them."""
    db.session.flush()
    mark_stale(need_ids=supply_chain_needs())
    job = jobs.enqueue("matching.core", {}, actor=actor, key="matching.core",
                       description="按核心企业名单的变更重新匹配供应链融资需求")
    recount_reach_later()  # the list decides which needs a 渝链贷 serves: the banks' counts
    return [job]


def core_list_read() -> tuple:
    """What the matcher reads of the core-enterprise list (adapters.core_resolver,
    core_aliases, core_describer): each listed company's name and group, the confirmed
    aliases, each group's name and aliases. A company's USCC and cluster and a group's note
    are not read."""
    entries = db.session.execute(select(CoreEnterprise.id, CoreEnterprise.name,
                                        CoreEnterprise.group_id).order_by(CoreEnterprise.id))
    aliases = db.session.execute(
        select(CoreEnterpriseAlias.alias, CoreEnterpriseAlias.core_enterprise_id)
        .where(CoreEnterpriseAlias.confirmed.is_(True)).order_by(CoreEnterpriseAlias.alias))
    return (tuple(map(tuple, entries)), tuple(map(tuple, aliases)),
            tuple(sorted(adapters.group_names(db.session))))


class supply_chain_change:
    """`with supply_chain_change(actor) as change:` around a change to the core-enterprise
    list. When what the matcher reads of it moved, the supply-chain needs are left to their
    job (recompute_supply_chain_later; `change.job`). A change it does not read (a USCC, a
    cluster, a group's note) or a form saved as it was starts none: at city scale that job is
    tens of thousands of needs."""

    def __init__(self, actor=None):
        self.actor = actor
        self.job = None

    def __enter__(self):
        self.before = core_list_read()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            db.session.flush()
            if core_list_read() != self.before:
                [self.job] = recompute_supply_chain_later(self.actor)
        return False


def supply_chain_parts() -> list[tuple[int, int, int]]:
    """The needs that state a core enterprise split by id into (lo, hi, count) parts of
    PART needs, as `match --all`'s: run in parallel by the workers (one part on a small
    platform)."""
    ids = db.session.scalars(supply_chain_needs().order_by(Need.id)).all()
    return [(ids[i], ids[min(i + PART, len(ids)) - 1], len(ids[i:i + PART]))
            for i in range(0, len(ids), PART)]


def recompute_supply_chain(needs: tuple[int, int] | None = None, progress=None) -> dict:
    """The job after the core-enterprise list changed: every need that states a core
    enterprise (with an id in `needs`, lo and hi; all when None) ranked whole at the current
    epoch, CHUNK by CHUNK; progress(done, need ids) after each commit point."""
    epoch = current_epoch()  # before the catalogue: see refresh_need
    matcher = current_matcher()
    ids = supply_chain_needs().where(*_within(Need.id, needs))
    seen = dict(db.session.execute(select(MatchState.need_id, MatchState.computed_at)
                                   .where(MatchState.need_id.in_(ids))).all())
    facts, _status = adapters.load_need_facts(db.session, Need.id.in_(ids))
    recompute_needs(facts, matcher, epoch, progress, seen=seen)
    log.info("core-enterprise list changed: %s needs ranked again", len(facts))
    return {"needs": len(facts)}


def facts_seen(needs: tuple[int, int] | None) -> tuple[list, dict, dict]:
    """(facts, need id -> status, seen) of the needs with ids in `needs` (lo, hi; None:
    all). `seen`, need id -> its state's computed_at, is read BEFORE the facts: a writer
    given it (_Writer.seen) ranks again, with new facts, a need written since."""
    seen = dict(db.session.execute(select(MatchState.need_id, MatchState.computed_at)
                                   .where(*_within(MatchState.need_id, needs))).all())
    facts, status = adapters.load_need_facts(db.session, *_within(Need.id, needs))
    return facts, status, seen


def recompute_needs(facts: list, matcher: Matcher, epoch: int, progress=None,
                    processes: int = 1, snapshots: frozenset[int] = frozenset(),
                    seen: dict | None = None) -> dict:
    """Full results for these needs, written per CHUNK (progress(done, need ids) after each
    commit point); returns need id -> its eligible products' mask (for the reach figures).
    With processes > 1 the needs are ranked in forked children while this process writes
    (matching/parallel.py): the same rows, in the same transactions. `snapshots`: the needs
    whose institutions' rows progress's subscribers will freeze (snapshots_ahead), their
    missing reasons built with the ranking (in the children), not by the writing process.
    `seen` (facts_seen): a need edited after its facts were read (refresh_need, at the same
    epoch) is ranked again with its new facts, not overwritten with the old."""
    writer = _Writer(matcher, epoch, seen=seen)

    def rank(lo: int, hi: int) -> _Ranked:
        return _Ranked.of(matcher, facts[lo:hi], epoch, writer.now, snapshots)

    eligible: dict[int, int] = {}
    batch: list[_Ranked] = []
    newer: set[int] = set()
    done = written = 0
    piece = min(PIECE, CHUNK) if processes > 1 else CHUNK
    with parallel.quiet_collector():
        # a CHUNK ahead: while this process writes and runs the progress callback (the flag
        # leads of an import), the children rank the next
        for ranked in parallel.ordered(rank, len(facts), piece, processes,
                                       ahead=CHUNK // piece + processes):
            # each piece written as it comes (the first needs wait for one piece, not a
            # CHUNK); the transaction still ends at progress(), every CHUNK
            writer.take(ranked)
            writer.write()
            newer |= writer.newer
            eligible.update(ranked.eligible)
            batch.append(ranked)
            done += len(ranked.needs)
            if done - written < CHUNK and done < len(facts):
                continue
            if progress is not None:
                _progress_with_recent(progress, matcher, facts[written:done], batch, newer,
                                      done)
            batch, newer, written = [], set(), done
    return eligible


def snapshots_ahead(facts: list) -> frozenset[int]:
    """Of these needs, those whose rows the progress callback's subscribers will freeze
    (signals.snapshots_ahead)."""
    ids = [f.id for f in facts]
    return frozenset().union(*(found or () for _receiver, found
                               in signals.snapshots_ahead.send(ids)))


def _progress_with_recent(progress, matcher: Matcher, facts: list, batch: list[_Ranked],
                          newer: set, done: int) -> None:
    """progress(done, need ids) with what was just written (the needs `facts`) at hand: its
    subscribers (the flag leads' institution bests and snapshots) read it from memory, not
    back from the database (_RECENT, read by institution_bests and institution_snapshots)."""
    by_id = {f.id: f for f in facts}
    recent = {need_id: (by_id[need_id], rows, ranked.built.get(need_id, {}))
              for ranked in batch
              for need_id, rows in ranked.rows_by_need() if need_id not in newer}
    db.session.info[_RECENT] = (matcher, recent)
    try:
        progress(done, list(by_id))
    finally:
        db.session.info.pop(_RECENT, None)


# needs a child ranks at a time (matching/parallel.py): CHUNK is a multiple, so each
# transaction still holds CHUNK needs
PIECE = 250


class _Ranked:
    """Needs ranked whole, as _Writer.put makes their rows, with each need's eligible mask:
    what a child process sends back (parallel.ordered). Pickled as plain tuples, since a
    batch's 20,000 row dicts with Decimals pickled cost about a third of ranking them."""

    NEAR = ("need_id", "product_id", "rank", "product_version", "rule", "reason", "fix")

    def __init__(self, needs: list[int], states: list[dict], matches: list[dict],
                 near: list[dict], eligible: dict[int, int],
                 built: dict[int, dict[int, list[str]]] | None = None):
        self.needs, self.states, self.matches, self.near = needs, states, matches, near
        self.eligible = eligible
        # need id -> product id -> reasons of a row stored without (see recompute_needs)
        self.built = built or {}

    @classmethod
    def of(cls, matcher: Matcher, facts: list, epoch: int, now,
           snapshots: frozenset[int] = frozenset()) -> _Ranked:
        writer = _Writer(matcher, epoch, now=now)
        eligible, built = {}, {}
        for result in matcher.match_all(facts, top=SHOWN, near_top=NEAR_SHOWN,
                                        reserve=RESERVE, per_institution=True):
            start = len(writer.matches)
            writer.put_result(result)
            eligible[result.need.id] = result.eligible
            if result.need.id in snapshots:
                built[result.need.id] = {m.product_id: list(m.reasons) for m in matcher.matches_for(
                    result.need, [r["_key"] for r in writer.matches[start:] if not r["reasons"]])}
        for row in writer.matches:
            del row["_key"]
        return cls(writer.needs, writer.states, writer.matches, writer.near, eligible, built)

    def rows_by_need(self) -> Iterator[tuple[int, list[dict]]]:
        """(need id, its match rows) for every need, in the order they were put."""
        rows, at = self.matches, 0
        for need_id in self.needs:
            start = at
            while at < len(rows) and rows[at]["need_id"] == need_id:
                at += 1
            yield need_id, rows[start:at]

    def __getstate__(self) -> tuple:
        now = self.states[0]["computed_at"] if self.states else None
        # scores and rates travel as float and text: a Decimal pickles as a call
        match = [(r["need_id"], r["product_id"], r["rank"], r["institution_best"],
                  r["product_version"], float(r["score"]),
                  None if r["estimated_rate"] is None else str(r["estimated_rate"]),
                  r["reasons"], r["components"]) for r in self.matches]
        near = [tuple(r[c] for c in self.NEAR) for r in self.near]
        # a state a need (as _Writer._state makes it): few enough to travel as they are
        return now, self.needs, self.states, match, near, self.eligible, self.built

    def __setstate__(self, state: tuple) -> None:
        now, self.needs, self.states, match, near, self.eligible, self.built = state
        rates = _Rates()
        self.matches = [
            {"need_id": need_id, "product_id": product_id, "rank": rank,
             "institution_best": best, "product_version": version, "score": _SCORES[score],
             "estimated_rate": rates[rate], "reasons": reasons, "components": components,
             "computed_at": now}
            for need_id, product_id, rank, best, version, score, rate, reasons, components
            in match]
        self.near = [dict(zip(self.NEAR, values), computed_at=now) for values in near]


class _Rates(dict):
    """text -> Decimal, made once per distinct rate (a batch holds a few hundred)."""

    def __missing__(self, text: str | None) -> Decimal | None:
        found = self[text] = None if text is None else Decimal(text)
        return found


@dataclass
class ProductImpact:
    """The needs (of some id range) one product's change touches, found with the NeedIndex:
    those showing it, and those it now serves or nearly serves."""
    product_id: int
    epoch: int
    touched: list[int]  # sorted
    eligible: frozenset[int]
    nearly: dict[int, str]  # need id -> the one condition the product fails for it
    rank_ids: frozenset[int]  # needs whose ranking may move: showing it, or eligible
    near_ids: frozenset[int]  # needs whose near misses may move
    seen: dict | None = None  # facts_seen: the states before the facts were read


def product_impact(product_id: int, epoch: int,
                   needs: tuple[int, int] | None = None) -> tuple[ProductImpact, dict, dict]:
    """What a product's change touches among the needs with ids in `needs` (lo, hi; all when
    None): the impact, those needs' facts by id and their statuses."""
    _planner_ready()
    matcher = current_matcher()
    terms = matcher.products.get(product_id)
    facts, status, seen = facts_seen(needs)
    by_id = {f.id: f for f in facts}
    impact = NeedIndex(facts, matcher.ctx).impact(terms) if terms is not None else None
    eligible = impact.eligible if impact is not None else frozenset()
    nearly = impact.near_miss if impact is not None else {}
    showing = set(db.session.scalars(select(Match.need_id).where(
        Match.product_id == product_id, *_within(Match.need_id, needs))))
    near_showing = set(db.session.scalars(select(NearMiss.need_id).where(
        NearMiss.product_id == product_id, *_within(NearMiss.need_id, needs))))
    touched = sorted((showing | eligible | near_showing | set(nearly)) & by_id.keys())
    return (ProductImpact(product_id, epoch, touched, frozenset(eligible), dict(nearly),
                          frozenset(showing | eligible), frozenset(near_showing | set(nearly)),
                          seen),
            by_id, status)


def recompute_product(product_id: int, epoch: int, needs: tuple[int, int] | None = None,
                      progress=None) -> dict:
    """After a product was published, edited, paused or retired: patch the stored results of
    the needs (with ids in `needs`: a part of the job's) it touches with
    Matcher.refresh/refresh_near. Commits through `progress(done, total)` after each CHUNK of
    needs. Returns the figures and the part's reach ([open needs, their amount as text]),
    which finish_product adds up."""
    impact, by_id, status = product_impact(product_id, epoch, needs)
    with parallel.quiet_collector():  # the matcher and the needs' facts are alive: frozen
        done: set[int] = set()
        changed = patch_needs(impact, [by_id[n] for n in impact.touched], progress, done)
        moved = _moved_since_read(epoch, impact.seen, by_id, done,
                                  *_within(MatchState.need_id, needs))
        if moved:
            _rank_again(moved, 2)
    open_ids = [n for n in impact.eligible if status.get(n) in OPEN_STATUSES]
    amount = sum((by_id[n].amount_wan for n in open_ids), Decimal(0))
    return {"needs_touched": len(impact.touched), "lists_changed": changed,
            "eligible": len(impact.eligible), "reach": [len(open_ids), str(amount)]}


def patch_needs(impact: ProductImpact, facts: list, progress=None,
                done: set[int] | None = None) -> int:
    """Patch these needs (of the impact's), CHUNK at a time; returns how many were written
    (their ids added to `done`)."""
    matcher = current_matcher()
    changed = 0
    for start in range(0, len(facts), CHUNK):
        chunk = facts[start:start + CHUNK]
        ids = [f.id for f in chunk]
        changed += _patch(matcher, impact.epoch, chunk, impact.product_id, impact.eligible,
                          impact.nearly, impact.rank_ids, impact.near_ids, impact.seen, done)
        _mark_fresh(ids, impact.epoch)
        signals.matches_refreshed.send(db.session.get(Product, impact.product_id),
                                       need_ids=frozenset(n for n in ids if n in impact.eligible))
        if progress is not None:
            progress(start + len(chunk), len(facts))
    log.info("product %s: %d needs touched, %d lists changed", impact.product_id, len(facts),
             changed)
    return changed


def finish_product(product_id: int, epoch: int, parts: list[dict]) -> dict:
    """Every part done: the product's reach from theirs, and its stale mark goes (every need
    it touched is fresh). Returns the job's figures."""
    needs = sum(part["reach"][0] for part in parts)
    amount = sum((Decimal(part["reach"][1]) for part in parts), Decimal(0))
    _delete(ProductReach, ProductReach.product_id == product_id)
    db.session.add(ProductReach(product_id=product_id, needs=needs, amount_wan=amount,
                                computed_at=clock.now()))
    db.session.flush()
    forget_stale_products(epoch, product_id)
    return {key: sum(part[key] for part in parts)
            for key in ("needs_touched", "lists_changed", "eligible")}


def forget_stale_products(epoch: int, product_id: int | None = None) -> None:
    """Every need naming these products was brought to `epoch` or later: their rows say
    nothing more (a change marked after the job began keeps its newer row)."""
    where = [StaleProduct.epoch <= epoch]
    if product_id is not None:
        where.append(StaleProduct.product_id == product_id)
    _delete(StaleProduct, *where)


def recompute_programme(code: str, before: int | None, epoch: int,
                        needs: tuple[int, int] | None = None, progress=None) -> dict:
    """After a subsidy programme (not a use-fee one) was created or edited, for the needs
    with ids in `needs` (lo, hi; all when None); `progress(done, total)` after each commit.

    A programme changes only the cost after subsidies of a pairing of a product carrying it
    with a need that qualifies: the carriers are its products, and the needs whose keys can
    move those that qualify as it was (version `before`) or as it is, while in force (what
    the platform does not know passes, as for a fund). See recompute_costs."""
    matcher = current_matcher()
    versions = [p for p in adapters.subsidy_program_versions(db.session, code, before)
                if p is not None and p.in_force(matcher.ctx.today)]
    carriers = frozenset(pid for pid, p in matcher.products.items()
                         if code in p.subsidy_programs)

    def qualifies(facts) -> bool:
        return any(need_side_refusal(p, facts, unknown_passes=True) is None for p in versions)

    return recompute_costs(matcher, carriers, qualifies if versions else None, epoch, needs,
                           progress, f"programme {code}")


def recompute_fee(epoch: int, needs: tuple[int, int] | None = None, progress=None) -> dict:
    """After the guarantee fee rate (a cost setting) changed: the carriers are the products
    whose loans may carry the fee (subsidies.guarantee_fee_possible: a guarantee
    institution's, or one with the fee subsidy), the needs any of them serves. The fee is
    in the cost, never in eligibility, so this is a programme's patch (recompute_costs)."""
    matcher = current_matcher()
    carriers = frozenset(pid for pid, p in matcher.products.items()
                         if guarantee_fee_possible(p))
    return recompute_costs(matcher, carriers, lambda facts: True, epoch, needs, progress,
                           "guarantee fee rate")


def recompute_costs(matcher: Matcher, carriers: frozenset[int], qualifies, epoch: int,
                    needs: tuple[int, int] | None, progress, what: str) -> dict:
    """A change that moves only the cost of pairings of the `carriers` with the needs that
    `qualifies` accepts (None: no need can qualify any more, nor could before), for the
    needs with ids in `needs`; `progress(done, total)` after each commit.

    Only those keys move: the needs that qualify and that a carrier serves have their
    carriers' keys and institution bests patched (Matcher.refresh_products). Near misses
    are ordered by the products' best possible score, costs included: the needs with a
    carrier among them have theirs ranked again. Needs with a change of their own still
    pending (a product's job not yet run, a need marked, never computed), which marking
    them current would hide, are ranked whole. The other needs' rows cannot differ: they
    are marked current at `epoch`. No institution set moves (eligibility reads no cost), so
    no flag lead follows."""
    facts, _, seen = facts_seen(needs)
    with parallel.quiet_collector():  # the matcher and the needs' facts are alive: frozen
        return _recompute_costs(matcher, facts, carriers, qualifies, epoch, needs, progress,
                                what, seen)


def _recompute_costs(matcher: Matcher, facts: list, carriers: frozenset[int], qualifies,
                     epoch: int, needs: tuple[int, int] | None, progress, what: str,
                     seen: dict | None = None) -> dict:
    _planner_ready()
    pending = _pending_needs([f.id for f in facts], needs)
    mask = matcher.product_mask(carriers)
    rank_ids, near_ids = set(), set()
    for f in facts:
        if f.id in pending or not mask:
            continue
        if qualifies is not None and qualifies(f) and matcher.eligible_mask(f) & mask:
            rank_ids.add(f.id)
        if matcher.near_mask(f) & mask:
            near_ids.add(f.id)
    whole = [f for f in facts if f.id in pending]
    patched = [f for f in facts if f.id in rank_ids or f.id in near_ids]
    total = len(whole) + len(patched)
    recompute_needs(whole, matcher, epoch,
                    (lambda done, _ids: progress(done, total)) if progress else None,
                    seen=seen)
    changed, done = 0, set()
    for start in range(0, len(patched), CHUNK):
        chunk = patched[start:start + CHUNK]
        changed += _patch_carriers(matcher, epoch, chunk, carriers, mask, rank_ids, near_ids,
                                   seen, done)
        if progress is not None:
            progress(len(whole) + start + len(chunk), total)
    within = _within(MatchState.need_id, needs)
    moved = _moved_since_read(epoch, seen, {f.id: f for f in facts}, done, *within) \
        if seen is not None else set()
    db.session.execute(update(MatchState).where(MatchState.basis < epoch, *within)
                       .values(basis=epoch), execution_options={"synchronize_session": False})
    if moved:
        _rank_again(moved, 2)
    log.info("%s: %d of %d needs ranked whole, %d patched (%d changed)", what, len(whole),
             len(facts), len(patched), changed)
    return {"needs": len(facts), "recomputed": len(whole), "patched": len(patched),
            "lists_changed": changed}


def _patch_carriers(matcher: Matcher, epoch: int, facts: list, carriers: frozenset[int],
                    mask: int, rank_ids: set[int], near_ids: set[int],
                    seen: dict | None = None, done: set[int] | None = None) -> int:
    """Patch these needs after a programme carried by `carriers` (positions `mask`)
    changed: in `rank_ids`, the carriers' keys and their institutions' bests; in
    `near_ids`, the near misses ranked again. Returns how many needs were written (their
    ids added to `done`)."""
    before, writer, stored = _patching(matcher, epoch, facts, carriers, near_ids, rank_ids,
                                       seen, done)
    for f, ranking, near in stored:
        if f.id in near_ids:
            near = matcher.near_ranking(f, NEAR_SHOWN, RESERVE)
        best, moving = before.bests.get(f.id, []), frozenset()
        if f.id in rank_ids:
            moving = carriers  # their costs, hence their shown reasons, may read otherwise
            old = ranking
            ranking = matcher.refresh_products(f, ranking, carriers, mask, SHOWN,
                                               RESERVE) or ranking
            if _ranked_anew(old, ranking, carriers):  # rows it did not read may enter
                writer.put_ranked_whole(f)
                continue
            serving = matcher.institutions_serving(f, mask)
            best = [k for k in best if before.owners.get(k.product_id) not in serving]
            best += matcher.institution_best(f, serving)
        writer.patch(f, ranking, near, best, before, moving)
    return writer.write()


def _patching(matcher: Matcher, epoch: int, facts: list, changed: frozenset[int],
              near_ids: set[int], rank_ids: set[int], seen: dict | None = None,
              done: set[int] | None = None) -> tuple[_Rows, _Writer, list[tuple]]:
    """What a patch starts from: the needs' stored rows, a writer over them, and (facts,
    stored Ranking, stored NearRanking) of each need that has them; a need never computed
    is ranked whole in the writer at once."""
    before = _Rows.read(matcher, [f.id for f in facts], changed, near_ids, rank_ids)
    writer = _Writer(matcher, epoch, before.versions, seen=seen, done=done)
    stored = []
    for f in facts:
        ranking, near = before.rankings.get(f.id), before.nears.get(f.id)
        if ranking is None or near is None:
            writer.put_ranked_whole(f)
        else:
            stored.append((f, ranking, near))
    return before, writer, stored


def _pending_needs(need_ids: list[int], needs: tuple[int, int] | None) -> set[int]:
    """Of these needs (ids in `needs`), those stale for a reason of their own: never
    computed, marked one by one, or naming a product whose job has not run."""
    computed = set(db.session.scalars(select(MatchState.need_id)
                                      .where(*_within(MatchState.need_id, needs))))
    marked = db.session.scalars(select(MatchState.need_id).where(
        MatchState.wanted > MatchState.basis, *_within(MatchState.need_id, needs)))
    named = db.session.scalars(union_all(*[
        select(model.need_id).join(StaleProduct, StaleProduct.product_id == model.product_id)
        .where(*_within(model.need_id, needs)) for model in (Match, NearMiss)]))
    return (set(need_ids) - computed) | set(marked) | set(named)


def _patch(matcher, epoch, facts, product_id, eligible, nearly, rank_ids, near_ids,
           seen=None, done=None) -> int:
    """Refresh the stored ranking and near misses of these needs after one product changed;
    write the rows that moved. Returns how many needs were written."""
    institution_id = db.session.scalar(select(Product.institution_id)
                                       .where(Product.id == product_id))
    changed = frozenset({product_id})
    before, writer, stored = _patching(matcher, epoch, facts, changed, near_ids, rank_ids,
                                       seen, done)
    for f, ranking, near in stored:
        if f.id in near_ids:
            near = matcher.refresh_near(f, near, product_id, nearly.get(f.id), NEAR_SHOWN,
                                        RESERVE) or near
        if f.id not in rank_ids:  # its match rows were not read: only its near misses move
            writer.patch(f, ranking, near, [], before, changed)
            continue
        old = ranking
        ranking = matcher.refresh(f, ranking, product_id, SHOWN, RESERVE,
                                  eligible=f.id in eligible) or ranking
        if _ranked_anew(old, ranking, changed):  # rows it did not read may enter
            writer.put_ranked_whole(f)
            continue
        # only the changed product's institution can have a new best
        best = [k for k in before.bests.get(f.id, [])
                if before.owners.get(k.product_id) != institution_id]
        if institution_id:
            best += matcher.institution_best(f, [institution_id])
        writer.patch(f, ranking, near, best, before, changed)
    return writer.write()


def _ranked_anew(old: Ranking, new: Ranking, changed: frozenset[int]) -> bool:
    """Matcher.refresh ranked the need whole (its list fell below what is shown): products
    other than the changed ones entered it."""
    before = {k.product_id for k in old.keys}
    return any(k.product_id not in before and k.product_id not in changed for k in new.keys)


@dataclass
class _Rows:
    """What needs store, read before a product's job patches them: the Ranking and
    NearRanking (as the matcher keeps them), the institution bests as keys, and per product
    the row's id and what _Writer compares it on."""
    rankings: dict = field(default_factory=dict)
    nears: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)  # product id -> the version its rows name
    bests: dict = field(default_factory=dict)  # need id -> [RankKey]
    owners: dict = field(default_factory=dict)  # product id -> institution id
    matches: dict = field(default_factory=dict)  # need id -> {product id: (row id, signature)}
    near: dict = field(default_factory=dict)

    # the changed products' institutions' products (None: too many to name, every row read)
    family: list | None = field(default_factory=list)
    # needs whose match rows were not read: their Ranking carries the stored flag alone
    unranked: frozenset = frozenset()

    @classmethod
    def read(cls, matcher: Matcher, need_ids: list[int], changed: frozenset[int],
             near_ids: set[int], rank_ids: set[int] | None = None) -> _Rows:
        """`near_ids`: the needs whose near misses may move (a changed product is or becomes
        one of them); the others' are left as stored, unread. `rank_ids`: the needs whose
        ranking or bests may move (None: all); the others' match rows are left unread (the
        needs a changed product only nearly serves: half of those a programme moves)."""
        _planner_ready()
        rows = cls(owners=dict(db.session.execute(select(Product.id, Product.institution_id)).all()))
        owners = {rows.owners.get(pid) for pid in changed}
        rows.family = [pid for pid, owner in rows.owners.items() if owner in owners]
        if len(rows.family) > FAMILY_NAMED:
            rows.family = None
        complete = rows._states(need_ids)
        refs = dict(db.session.execute(select(Product.id, Product.ref)).all()) \
            if len(need_ids) > 50 else None
        keys: dict[int, list] = {nid: [] for nid in complete}
        near: dict[int, list] = {nid: [] for nid in complete}
        if rank_ids is not None:
            rows.unranked = frozenset(nid for nid in complete if nid not in rank_ids)
        for chunk in _chunks(list(complete)):
            rows._matches(matcher, refs, [n for n in chunk if n not in rows.unranked], keys)
            rows._near_misses(matcher, [n for n in chunk if n in near_ids], changed, near)
        rows.rankings = {nid: Ranking(sorted(k, key=rank_order), complete[nid][0])
                         for nid, k in keys.items()}
        rows.nears = {nid: NearRanking(n, complete[nid][1]) for nid, n in near.items()}
        return rows

    def _states(self, need_ids: list[int]) -> dict[int, tuple[bool, bool]]:
        """need id -> (complete, near_complete); locks the states on PostgreSQL, so that a
        need edited meanwhile (refresh_need) is written after this patch, never beside it."""
        complete = {}
        for chunk in _chunks(need_ids):
            for nid, full, near_full in db.session.execute(
                    select(MatchState.need_id, MatchState.complete, MatchState.near_complete)
                    .where(MatchState.need_id.in_(chunk)).order_by(MatchState.need_id)
                    .with_for_update()):  # in one order: two products' jobs never deadlock
                complete[nid] = (full, near_full)
        return complete

    def _matches(self, matcher: Matcher, refs, chunk: list[int], keys: dict) -> None:
        """The ranked rows, and the institution bests of the changed product's institution:
        the other institutions' bests outside the ranking (half a need's rows) cannot move."""
        if not chunk:
            return
        products = matcher.products
        wanted = [] if self.family is None else [
            or_(Match.rank.is_not(None), Match.product_id.in_(self.family))]
        for row_id, nid, pid, score, rate, version, rank, best, has_reasons in db.session.execute(
                select(Match.id, Match.need_id, Match.product_id,
                       cast(Match.score, Float), Match.estimated_rate, Match.product_version,
                       Match.rank, Match.institution_best,
                       func.json_array_length(Match.reasons) > 0)
                .where(Match.need_id.in_(chunk), *wanted)
                .order_by(Match.need_id, Match.rank)):
            terms = products.get(pid)
            key = RankKey(score, rate, terms.ref if terms is not None else _ref(matcher, refs, pid),
                          pid)
            if rank is not None:
                keys[nid].append(key)
            if best:
                self.bests.setdefault(nid, []).append(key)
            self.versions.setdefault(pid, version)
            self.matches.setdefault(nid, {})[pid] = (row_id, (
                rank, best, version, score, rate, bool(has_reasons)))

    def _near_misses(self, matcher: Matcher, chunk: list[int], changed: frozenset[int],
                     near: dict) -> None:
        if not chunk:
            return
        for row_id, nid, pid, rank, rule, reason, fix, version in db.session.execute(
                select(NearMiss.id, NearMiss.need_id, NearMiss.product_id, NearMiss.rank,
                       NearMiss.rule, NearMiss.reason, NearMiss.fix, NearMiss.product_version)
                .where(NearMiss.need_id.in_(chunk)).order_by(NearMiss.need_id, NearMiss.rank)):
            self.near.setdefault(nid, {})[pid] = (row_id, (rank, version, rule, reason, fix))
            terms = matcher.products.get(pid)
            if terms is None and pid not in changed:  # left the market: its own job removes it
                continue
            near[nid].append(PureNearMiss(pid, terms.ref if terms else "",
                                          terms.institution_id if terms else 0,
                                          terms.institution_ref if terms else "", rule,
                                          RULES_BY_CODE[rule].label, reason, fix))
            self.versions.setdefault(pid, version)


def _ref(matcher: Matcher, refs: dict | None, product_id: int) -> str:
    terms = matcher.products.get(product_id)
    if terms is not None:
        return terms.ref
    if refs is None:
        return db.session.scalar(select(Product.ref).where(Product.id == product_id)) or ""
    return refs.get(product_id, "")


# --- reach: "needs that match my products" ---------------------------------------------------

def reach_partials(matcher: Matcher, eligible: dict[int, int], facts_by_id: dict,
                   status: dict[int, str]) -> dict[str, list]:
    """Per product id (as text: a job result is JSON): [open needs, their amount as text]
    over these needs' eligible masks (NeedResult.eligible)."""
    # needs grouped by amount (a few dozen distinct amounts): each product's total is then
    # amount × count per group, not a Decimal addition per eligible pairing
    by_amount: dict[Decimal, list[int]] = {}
    for need_id, mask in eligible.items():
        if status.get(need_id) in OPEN_STATUSES:
            by_amount.setdefault(facts_by_id[need_id].amount_wan, []).append(mask)
    counts: dict[int, int] = {}
    amounts: dict[int, Decimal] = {}
    for amount, masks in by_amount.items():
        for pid, n in matcher.product_counts(masks).items():
            counts[pid] = counts.get(pid, 0) + n
            amounts[pid] = amounts.get(pid, Decimal(0)) + amount * n
    return {str(pid): [n, str(amounts[pid])] for pid, n in counts.items()}


def replace_reach(partials: Iterable[dict]) -> int:
    """Every product's reach from the parts of a full recount; returns the products counted."""
    counts: dict[int, int] = {}
    amounts: dict[int, Decimal] = {}
    for part in partials:
        for pid, (n, amount) in part.items():
            counts[int(pid)] = counts.get(int(pid), 0) + n
            amounts[int(pid)] = amounts.get(int(pid), Decimal(0)) + Decimal(amount)
    _delete(ProductReach)
    now = clock.now()
    rows = [{"product_id": pid, "needs": n, "amount_wan": amounts[pid], "computed_at": now}
            for pid, n in counts.items()]
    if rows:
        db.session.execute(ProductReach.__table__.insert(), rows)
    return len(rows)


def recount_reach_later() -> None:
    """The banks' reach figures follow the needs (and the core-enterprise list): one recount
    waits at a time. It reads eligibility from the matcher as it is when it runs, not the
    stored rows, so it need not wait for any other job."""
    jobs.enqueue("matching.reach", {}, key="matching.reach",
                 description="重新统计产品匹配的需求数")


def recount_reach() -> int:
    """Every product's reach, recounted from the open needs (after needs changed)."""
    matcher = current_matcher()
    facts, status = adapters.load_need_facts(db.session, Need.status.in_(OPEN_STATUSES))
    eligible = {f.id: matcher.eligible_mask(f) for f in facts}
    return replace_reach([reach_partials(matcher, eligible, {f.id: f for f in facts}, status)])


# --- a waiting need, computed ---------------------------------------------------------------

def waiting(needs: list[Need]) -> list[Need]:
    """Those of these needs whose stored results a change has made stale (a draft is not
    matched; a need never ranked has no results to be stale)."""
    found = freshness([n.id for n in needs])
    return [n for n in needs
            if n.status != "draft" and found[n.id].computed and not found[n.id].fresh]


def rows_now(need: Need) -> tuple[list[Match], list[NearMiss]]:
    """The rows a whole ranking of the need would store now (its ranked keys, its
    institutions' bests, its near misses: the writer's own rows, reasons on the shown ones
    only), as transient Match and NearMiss objects: read, never written.

    What queries.py shows of a need while a change waits for its job
    (a product's, a programme's, the fee rate's, an LPR quote's: from seconds to three
    minutes at 100,000 needs), so that whoever opens the need, pushes it or meets about it
    reads figures that hold the change, never old ones nor a wait; the job writes under its
    locks. It is what the job stores when it ranks the need whole (an LPR quote); a patch
    (a product's, a programme's job) keeps the other products' stored keys, whose scores
    hold the institutions' on-time record of the day they were ranked, until the nightly
    `match --all`. Computed once per need and epoch in a session (a page asks for the list,
    the count and the push candidates)."""
    epoch = current_epoch()
    memo = db.session.info.setdefault(_NOW, {})
    if (found := memo.get((need.id, epoch))) is not None:
        return found
    matcher = current_matcher()
    result = next(matcher.match_all([adapters.need_facts(need)], top=SHOWN,
                                    near_top=NEAR_SHOWN, reserve=RESERVE, per_institution=True))
    writer = _Writer(matcher, epoch)
    rows = writer._match_rows(need.id, result.ranking, result.institution_best)
    _with_reasons(rows, result.matches)
    near = writer._near_rows(need.id, result.near_ranking)
    products = _products(r["product_id"] for r in (*rows, *near))
    if len(memo) > 200:  # a job's long session: keep it small
        memo.clear()
    found = memo[(need.id, epoch)] = ([_transient(Match, r, products) for r in rows],
                                      [_transient(NearMiss, r, products) for r in near])
    return found


def firsts_now(needs: list[Need]) -> dict[int, Match]:
    """need id -> the first row (rank 1) a whole ranking of each need would store now, with
    its reasons, as rows_now builds it (transient): a list of needs asks for each need's
    first only (5–10 ms a need, where rows_now takes 25–30)."""
    if not needs:
        return {}
    matcher = current_matcher()
    writer = _Writer(matcher, current_epoch())
    firsts = []
    for result in matcher.match_all([adapters.need_facts(n) for n in needs], top=1,
                                    near_top=0):
        if result.ranking.keys:  # the first of a ranking is its institution's best too
            rows = writer._match_rows(result.need.id, result.ranking, result.ranking.keys)
            _with_reasons(rows, result.matches)
            firsts += rows
    products = _products(r["product_id"] for r in firsts)
    return {r["need_id"]: _transient(Match, r, products) for r in firsts}


def _products(ids) -> dict[int, Product]:
    return {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_(set(ids)))
        .options(selectinload(Product.institution)))}


def _transient(model, row: dict, products: dict[int, Product]):
    """A writer's row as a Match or NearMiss object that is never added to the session."""
    return model(product=products[row["product_id"]],
                 **{k: v for k, v in row.items() if k != "_key"})


def institution_bests(need_ids: list[int]) -> dict[int, list[int]]:
    """need id -> the product ids stored as its institutions' bests, best first. Inside a
    recompute's progress callback, from the results just written (a `match --all` part
    asks this for every need: reading 570,000 rows back per 20,000 needs cost SQLite 2 s);
    otherwise from the stored rows."""
    _matcher, recent = db.session.info.get(_RECENT, (None, {}))
    out = {n: _bests_of(recent[n][1]) for n in need_ids if n in recent}
    rest = [n for n in need_ids if n not in out]
    for chunk in _chunks(rest):
        rows = db.session.execute(
            select(Match.need_id, Match.product_id, Match.score)
            .where(Match.need_id.in_(chunk), Match.institution_best.is_(True))).all()
        for need_id, pid, _score in sorted(rows, key=lambda r: (r[0], -r[2], r[1])):
            out.setdefault(need_id, []).append(pid)
    return out


def _bests_of(rows: list[dict]) -> list[int]:
    """The product ids of a need's institution bests among its rows, in the order the stored
    path reads them (score down, then product id)."""
    return [r["product_id"] for r in sorted(
        (r for r in rows if r["institution_best"]), key=lambda r: (-r["score"], r["product_id"]))]


def institution_snapshots(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[dict]]:
    """(need id, institution id) -> what a lead freezes as its "matched products": the
    institution's stored rows for the need, best first, with reasons (computed here, in bulk,
    for rows stored without). For leads opened by the thousand."""
    wanted: dict[int, set[int]] = {}
    for need_id, institution_id in pairs:
        wanted.setdefault(need_id, set()).add(institution_id)
    out: dict[tuple[int, int], list[dict]] = {}
    matcher, recent = db.session.info.get(_RECENT, (None, {}))
    for need_id in [n for n in wanted if n in recent]:
        facts, rows, built = recent[need_id]
        out.update(_snapshots_of(matcher, facts, rows, wanted.pop(need_id), built))
    for chunk in _chunks(sorted(wanted)):
        rows = db.session.execute(
            select(Match.need_id, Product.institution_id, Match.product_id, Product.ref,
                   Match.product_version, Match.score, Match.estimated_rate, Match.reasons)
            .join(Product, Product.id == Match.product_id)
            .where(Match.need_id.in_(chunk), Product.status == "published")).all()
        missing: dict[int, list[int]] = {}
        for need_id, inst, pid, _ref, version, score, rate, reasons in sorted(
                rows, key=lambda r: (r[0], r[1],
                                     rank_order(RankKey(float(r[5]), r[6], r[3], r[2])))):
            if inst not in wanted[need_id]:
                continue
            out.setdefault((need_id, inst), []).append({
                "product_id": pid, "product_version": version, "score": float(score),
                "reasons": list(reasons or []),
                "estimated_rate": float(rate) if rate is not None else None})
            if not reasons:
                missing.setdefault(need_id, []).append(pid)
        if missing:
            matcher = matcher or current_matcher()
            facts, _ = adapters.load_need_facts(db.session, Need.id.in_(list(missing)))
            for f in facts:
                keys = [RankKey(0.0, None, "", pid) for pid in missing[f.id]
                        if pid in matcher.products]
                built = {m.product_id: list(m.reasons) for m in matcher.matches_for(f, keys)}
                for inst in wanted[f.id]:
                    for item in out.get((f.id, inst), ()):
                        if not item["reasons"]:
                            item["reasons"] = built.get(item["product_id"], [])
    return out


def _snapshots_of(matcher: Matcher, facts, rows: list[dict], institutions: set[int],
                  built: dict[int, list[str]] | None = None) -> dict[tuple[int, int], list[dict]]:
    """institution_snapshots for a need whose rows were just written (_Writer.put): the
    ranked keys and the institution bests, the shown ones with their reasons; the others'
    reasons from `built` (made with the ranking) or computed here."""
    built = dict(built or {})
    products = matcher.products
    found: dict[int, list[tuple[RankKey, dict]]] = {}
    for row in rows:
        terms = products[row["product_id"]]
        if terms.institution_id in institutions:
            key = RankKey(float(row["score"]), row["estimated_rate"], terms.ref, terms.id)
            found.setdefault(terms.institution_id, []).append((key, row))
    missing = [key for pairs in found.values() for key, row in pairs
               if not row["reasons"] and key.product_id not in built]
    if missing:
        built.update((m.product_id, m.reasons) for m in matcher.matches_for(facts, missing))
    return {(facts.id, inst): [
        {"product_id": key.product_id, "product_version": row["product_version"],
         "score": key.score, "reasons": list(row["reasons"] or built[key.product_id]),
         "estimated_rate": float(key.estimated_rate) if key.estimated_rate is not None
         else None}
        for key, row in sorted(pairs, key=lambda pair: rank_order(pair[0]))]
        for inst, pairs in found.items()}
