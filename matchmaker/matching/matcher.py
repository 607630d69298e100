"""Which products may serve a financing need, in what order, and why — in Chinese.

Pure: objects in, ranked matches with reasons out; no Flask, no SQLAlchemy, no I/O (the
vocabulary's Chinese labels come from the packaged `matchmaker.vocab`). Adapters turn ORM
rows into `ProductTerms` / `NeedFacts`; tests and `benchmarks/` call this module directly.

Layers, from the single source of truth outwards:

1. `RULES` — the spec's hard eligibility rules 1–9 (rule 7 split into its eight conditions),
   each a small check `check(need, product, ctx) -> Verdict(ok, reason_zh, fix_zh)`. Every
   reason shown anywhere comes from these checks; `is_eligible()` runs them one by one.
2. `_ProductIndex` — an accelerator: one Python-int bitset per code and per sorted threshold,
   so a need's eligible products are a dozen ANDs, and products failing exactly one condition
   (near misses) fall out of `twos |= ones & F; ones |= F`. A property test proves it equal
   to the rules checked one by one on random needs and products (tests/unit/test_matcher.py).
3. Ranking — an absolute score (no normalisation across candidates, so one product's change
   never moves another product's score): see `Weights` and `Matcher`.
4. `NeedIndex` — the same idea turned around (bitsets over needs) to find, after one product
   changed, the needs it now serves or nearly serves; `Matcher.refresh()` then patches each
   stored top-N list without rescoring the rest (matching.service.patch_needs).

Public API (what matching.service — the stored results and their jobs — and the CLI use):
    ctx = MatchContext(today, lpr_1y, programs, lead_response=None, core_resolver=None,
                       core_aliases=None, guarantee_fee_rate=Decimal("1.0"))
    m = Matcher(products: Iterable[ProductTerms], ctx)
    m.match(need, top=10, institutions=None) -> list[Match]   # eligible only, best first
    m.near_misses(need, top=None) -> list[NearMiss]    # active products failing one condition
    m.match_all(needs, top=10, near_top=None, reserve=0, per_institution=False)
        -> Iterator[NeedResult]                        # what `match --all` stores
    m.institution_best(need, institutions=None) -> [RankKey]   # each bank's best product
    m.refresh(need, ranking, product_id, ...)          # a product job patches a stored list
    m.refresh_near(need, near, id, code)               # … and stored near misses
    m.matches_for(need, keys) -> [Match]               # reasons for stored keys
    NeedIndex(needs, ctx).impact(product) -> ProductImpact   # the needs one product touches
    m.eligible_mask(need), m.product_counts(masks)     # products' eligible needs
    is_eligible(need, product, ctx)                    # the plain rules, one by one
    to_spec_json(need_ref, matches) -> dict             # the spec's "Match output" object
"""
from __future__ import annotations

import heapq
import itertools
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import NamedTuple

from .. import clock
from ..institutions.subsidies import (
    DEFAULT_GUARANTEE_FEE_RATE,
    GUARANTEE_FEE_SUBSIDY,
    SubsidyProgram,
    amount_sensitivity,
    cost_lower_bound,
    describe_daily,
    estimate_cost,
    fund_programs,
    fund_refusal,
    is_bridge,
    need_side_refusal,
    need_signature,
)
from ..names import same_company

# --------------------------------------------------------------------------- the facts


@dataclass(frozen=True, slots=True)
class ProductTerms:
    id: int
    ref: str
    institution_id: int
    institution_ref: str
    institution_kind: str
    version: int
    name: str
    active: bool
    purposes: frozenset[str]
    guarantee_modes: frozenset[str]
    amount_min_wan: Decimal
    amount_max_wan: Decimal
    term_min_months: int
    term_max_months: int
    rate_min: Decimal
    rate_max: Decimal
    sizes: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    industries: tuple[str, ...] = ()
    # EFFECTIVE coverage: the product's districts if set, else its institution's; empty = all
    districts: frozenset[str] = frozenset()
    min_years: Decimal | None = None
    min_revenue_wan: Decimal | None = None
    tax_credit_grades: frozenset[str] = frozenset()
    loan_kinds: frozenset[str] = frozenset()
    existing_customers_only: bool = False
    core_enterprises: tuple[str, ...] = ()      # names as the product lists them
    subsidy_programs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnterpriseFacts:
    id: int
    ref: str
    district: str
    industry: str
    cluster: str | None
    size: str | None                # already derived if it was missing; None: not derivable
    employees: int
    revenue_wan: Decimal
    founded: date
    tags: frozenset[str] = frozenset()
    tax_credit_grade: str | None = None
    has_bank_loan: bool = False
    core_enterprise: str | None = None
    verified_tags: frozenset[str] = frozenset()   # tags an organizer checked (a subset of tags)
    # the 300号 size from the industry code and figures, None when not derivable: subsidy
    # programmes read this one, never a declared size (issue 15)
    derived_size: str | None = None
    # 控股情况 (policy.terms.OWNERSHIPS), None when unknown: not in the exchange format
    ownership: str | None = None


@dataclass(frozen=True, slots=True)
class NeedFacts:
    id: int
    ref: str
    enterprise: EnterpriseFacts
    purpose: str
    loan_kind: str                  # already resolved: see default_loan_kind()
    amount_wan: Decimal
    term_months: int
    guarantee_modes: frozenset[str]
    max_rate: Decimal | None = None
    current_lender_id: int | None = None
    created: date = field(default_factory=clock.china_today)
    renewal_due: date | None = None


def default_loan_kind(has_bank_loan: bool) -> str:
    """The spec's default: first_loan (首贷) for an enterprise without a bank loan, else new."""
    return "new" if has_bank_loan else "first_loan"


@dataclass(frozen=True, slots=True)
class Weights:
    """Points of each score component; the six components add up to 100.

    Fit to the need's situation comes before price (issue 14): a product whose conditions
    target what this enterprise is — 首贷 for a first loan, 续贷 at its own bank for a renewal,
    银税互动 for an A-grade taxpayer, 渝链贷 for its core enterprise's suppliers, the
    专精特新贷 for a 专精特新 enterprise, a subsidy that applies to this very need — earns `fit`
    points that no realistic difference in price (`cost`) outweighs; among products of like
    fit, price decides. The fit_* points are the signals `fit` sums, capped at `fit`."""
    purpose: float = 18.0          # made for this purpose (1 purpose) vs catch-all (6 purposes)
    fit: float = 40.0              # the product targets this need's situation (signals below)
    amount: float = 8.0            # amount near the geometric middle of the product's range
    term: float = 6.0              # same for the term
    cost: float = 20.0             # expected yearly cost after subsidies, lower is better
    responsiveness: float = 8.0    # institution's on-time lead answers (neutral when unknown)
    cost_zero_at_lpr: float = 2.5  # cost points reach 0 at 2.5 × the 1-year LPR (7.5 % today)
    # --- the fit signals (a product earns each only where eligibility already holds it) ---
    # 76号（五）首贷续贷服务, （九）无还本续贷: a product only for 首贷 (or only for 续贷) and
    # this need is one; half when it serves two kinds
    fit_loan_kind: float = 14.0
    fit_current_lender: float = 7.0     # 无还本续贷 at the bank that holds the loan now
    fit_core: float = 14.0              # 7号 三（五）渝链贷: lists the enterprise's core enterprise
    # 银税互动 (永金 四（一）1): only for A/B taxpayers. Less than a tag: most firms that pay
    # taxes reach A or B, few are 专精特新 or 瞪羚, so a grade says less about who it is for
    fit_tax: float = 8.0
    fit_tags: float = 12.0              # 专精特新贷/瞪羚贷/知识价值贷: made for a tag it holds
    fit_tags_verified: float = 2.0      # the tag was checked by an organizer
    fit_subsidy: float = 10.0           # a subsidy programme applies to this need (7号 四)
    fit_subsidy_more: float = 3.0       # each further programme that applies
    fit_industry: float = 7.0           # made for its industry (a 4-digit class or group)
    fit_local: float = 5.0              # a product of its district (at most 3 districts)
    fit_size: float = 4.0               # 普惠: made for small and micro enterprises


@dataclass(frozen=True, slots=True)
class MatchContext:
    today: date
    lpr_1y: Decimal                                       # editable setting, annual %
    programs: tuple[SubsidyProgram, ...] = ()             # as loaded; filtered by `today`
    lead_response: Mapping[int, float | None] | None = None   # institution id -> 0..1
    core_resolver: Callable[[str], str | None] | None = None  # name -> 核心企业名单库 id
    core_aliases: Mapping[str, str] | None = None         # company_key -> canonical key
    # (stated, listed) -> how a group (集团) links them, in Chinese, or None
    core_describe: Callable[[str, str], str | None] | None = None
    guarantee_fee_rate: Decimal = DEFAULT_GUARANTEE_FEE_RATE
    weights: Weights = Weights()

    def same_core(self, stated: str, listed: str) -> bool:
        """The enterprise's stated core enterprise is the product's listed one. Where both
        names are on the 核心企业名单库 (or a group of it) the list decides: 长安 (an alias of
        长安汽车) is not 长安福特 although one name contains the other; elsewhere the spec's
        tolerant reading (names.same_company)."""
        if self.core_resolver is not None:
            a, b = self.core_resolver(stated), self.core_resolver(listed)
            if a is not None and b is not None:
                return a == b
        return same_company(stated, listed, self.core_aliases)

    def core_reason(self, stated: str, listed: Sequence[str]) -> str:
        """Why the stated core enterprise is on the product's list: which listed name it
        is, and through which group (集团) when a member matched the group's name."""
        name = next((n for n in listed if self.same_core(stated, n)), None)
        if name is None:
            return f"核心企业{stated}不在产品名单内"
        link = self.core_describe(stated, name) if self.core_describe is not None else None
        if link:
            return f"核心企业{link}"
        return f"核心企业{stated}在产品核心企业名单内"


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason_zh: str
    fix_zh: str | None = None
    applies: bool = True            # False: the product does not set this condition


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    spec_no: str                    # the rule's number in exchange-format.md
    label: str
    check: Callable[[NeedFacts, ProductTerms, MatchContext], Verdict]
    # the need facts the check reads: equal keys give equal verdicts for a product (the
    # matcher caches verdict texts by it)
    need_key: Callable[[NeedFacts], object] = lambda need: need.id


# Match and NearMiss are values: treat them as read-only. Not frozen only because a frozen
# dataclass is six times slower to create, and the matcher creates millions of them.
@dataclass(slots=True)
class Match:
    product_id: int
    product_ref: str
    institution_id: int
    institution_ref: str
    product_version: int
    score: float                    # 0–100, one decimal
    reasons: list[str]              # Chinese, strongest first
    components: dict[str, float]    # component name -> points
    estimated_rate: Decimal | None  # yearly cost after subsidies, annual %, 2 places


@dataclass(slots=True)
class NearMiss:
    product_id: int
    product_ref: str
    institution_id: int
    institution_ref: str
    rule_code: str
    rule_label: str
    reason_zh: str
    fix_zh: str | None


class RankKey(NamedTuple):
    """What a stored match needs to be re-ranked without recomputing it."""
    score: float
    estimated_rate: Decimal | None
    product_ref: str
    product_id: int


@dataclass(slots=True)
class Ranking:
    """A need's stored ranking: exactly the best len(keys) eligible products, best first
    (every eligible product when `complete`). Kept `reserve` longer than what is shown, so a
    product leaving the list seldom forces a full ranking."""
    keys: list[RankKey]
    complete: bool


@dataclass(slots=True)
class NearRanking:
    """A need's stored near misses: exactly the first len(items) in near-miss order."""
    items: list[NearMiss]
    complete: bool


def rank_order(key: RankKey) -> tuple:
    """Sort key: score desc, estimated_rate asc (unknown last), product ref asc."""
    rate = key.estimated_rate
    return (-key.score, rate is None, rate if rate is not None else 0, key.product_ref)


# --------------------------------------------------------------------------- wording

CENT = Decimal("0.01")
SHORT_MODES = {"credit": "信用", "mortgage": "抵押", "pledge": "质押", "guarantee": "担保"}
SHORT_LOAN_KINDS = {"first_loan": "首贷", "renewal": "续贷", "new": "新增贷款"}
MODE_ORDER = ("credit", "mortgage", "pledge", "guarantee")


@cache
def _labels(kind: str) -> dict[str, str]:
    from .. import vocab  # package data; loaded once, on first use
    return vocab.labels(kind)


def label(kind: str, code: str) -> str:
    return _labels(kind).get(code, code)


def wan(value: Decimal | int) -> str:
    """A 万元 amount without trailing zeros: 300, 12.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@cache
def _wan_cached(value: Decimal) -> str:
    return wan(value)


def pct(value: Decimal) -> str:
    return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)}%"


def _join(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    if len(items) > limit:
        return "、".join(items[:limit]) + f"等{len(items)}项"
    return "、".join(items)


def _modes(modes: Iterable[str]) -> list[str]:
    return [SHORT_MODES.get(m, m) for m in sorted(modes, key=_mode_rank)]


def _mode_rank(mode: str) -> int:
    return MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER)


def age_months(founded: date, on: date) -> int:
    """Whole calendar months from `founded` to `on` (a month counts once its day is reached,
    or the month's last day when it has no such day)."""
    months = (on.year - founded.year) * 12 + (on.month - founded.month)
    if on.day < founded.day and not _last_day_of_month(on):
        months -= 1
    return months


def _last_day_of_month(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


@cache
def required_months(min_years: Decimal) -> int:
    """min_years as whole months of age: age >= years × 12 ⇔ age >= ceil(years × 12)."""
    return math.ceil(Decimal(min_years) * 12)


@cache
def _years_text(months: int) -> str:
    years, rest = divmod(max(months, 0), 12)
    if years and rest:
        return f"{years}年{rest}个月"
    return f"{years}年" if years else f"{rest}个月"


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


# --------------------------------------------------------------------------- the rules
# Each check states, in Chinese, why the condition holds or fails and what would change it.


def product_active(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if p.active:
        return Verdict(True, "产品在架可申请")
    return Verdict(False, "产品已暂停或下架")


def purpose_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    wanted = label("purposes", need.purpose)
    if need.purpose in p.purposes:
        return Verdict(True, f"融资用途“{wanted}”在产品支持范围内")
    served = _join(label("purposes", c) for c in sorted(p.purposes))
    return Verdict(False, f"产品不支持“{wanted}”用途（支持：{served}）",
                   f"该产品仅用于：{served}")


def amount_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    a, lo, hi = need.amount_wan, p.amount_min_wan, p.amount_max_wan
    if a < lo:
        return Verdict(False, f"金额{wan(a)}万元低于产品下限{wan(lo)}万元",
                       f"将金额提高至{wan(lo)}万元以上")
    if a > hi:
        return Verdict(False, f"金额{wan(a)}万元超出产品上限{wan(hi)}万元",
                       f"将金额降至{wan(hi)}万元以内，或分笔申请")
    return Verdict(True, f"金额{wan(a)}万元在产品额度{wan(lo)}–{wan(hi)}万元内")


def term_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    t, lo, hi = need.term_months, p.term_min_months, p.term_max_months
    if t < lo:
        return Verdict(False, f"期限{t}个月短于产品下限{lo}个月", f"将期限延长至{lo}个月以上")
    if t > hi:
        return Verdict(False, f"期限{t}个月超出产品上限{hi}个月", f"将期限缩短至{hi}个月以内")
    return Verdict(True, f"期限{t}个月在产品期限{lo}–{hi}个月内")


def guarantee_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    # spec rule 5 (Changes 2026-12-04): a product that accepts credit needs no security, so
    # it admits whatever the need offers; otherwise the two must share a mode
    shared = need.guarantee_modes & p.guarantee_modes
    if shared:
        return Verdict(True, f"产品接受{'或'.join(_modes(shared))}方式")
    if "credit" in p.guarantee_modes:
        return Verdict(True, "产品为信用方式，无需抵押或担保")
    offered = "、".join(_modes(need.guarantee_modes)) or "无"
    accepted = "或".join(_modes(p.guarantee_modes))
    return Verdict(False, f"产品要求{accepted}，企业可提供{offered}", f"需提供{accepted}")


def district_covered(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    where = need.enterprise.district
    if not p.districts:
        return Verdict(True, "产品服务全市", applies=False)
    if where in p.districts:
        return Verdict(True, f"产品服务区域覆盖{where}")
    return Verdict(False, f"产品服务区域为{_join(sorted(p.districts), 4)}，不含{where}")


def size_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    size = need.enterprise.size
    if not p.sizes:
        return Verdict(True, "产品不限企业规模", applies=False)
    allowed = "、".join(label("sizes", s) for s in _sorted_sizes(p.sizes))
    if size is None:     # the sector's 300号 rule lacks a figure (资产总额)
        return Verdict(False, f"企业规模未能测算，产品仅面向{allowed}企业",
                       "补充资产总额等划型数据后可测算企业规模")
    mine = label("sizes", size)
    if size in p.sizes:
        return Verdict(True, f"{mine}企业符合产品规模要求")
    return Verdict(False, f"产品仅面向{allowed}企业，企业为{mine}")


def _sorted_sizes(sizes: Iterable[str]) -> list[str]:
    order = ("large", "medium", "small", "micro")
    return sorted(sizes, key=lambda s: order.index(s) if s in order else 9)


def tags_fit(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if not p.tags_any:
        return Verdict(True, "产品不要求企业资质认定", applies=False)
    held = p.tags_any & need.enterprise.tags
    if held:
        return Verdict(True, f"{_join(label('enterprise_tags', t) for t in sorted(held))}，"
                             "符合产品准入")
    wanted = _join(label("enterprise_tags", t) for t in sorted(p.tags_any))
    return Verdict(False, f"产品要求企业具备以下资质之一：{wanted}",
                   f"取得{wanted}之一认定后可申请")


def industry_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if not p.industries:
        return Verdict(True, "产品不限行业", applies=False)
    code = need.enterprise.industry or ""
    codes = _join(p.industries, 6)
    if code and any(code.startswith(c) for c in p.industries):
        return Verdict(True, f"所属行业{code}在产品行业范围（{codes}）内")
    return Verdict(False, f"所属行业{code or '未填写'}不在产品行业范围（{codes}）内")


def years_fit(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if p.min_years is None:
        return Verdict(True, "产品不限成立年限", applies=False)
    founded = need.enterprise.founded
    months = age_months(founded, need.created)
    need_months = required_months(p.min_years)
    years = _wan_cached(p.min_years)
    if months >= need_months:
        return Verdict(True, f"成立{_years_text(months)}，满足产品成立满{years}年的要求")
    ready = _add_months(founded, need_months)
    return Verdict(False, f"成立{_years_text(months)}，未满产品要求的{years}年",
                   f"{ready.isoformat()}起成立满{years}年后可申请")


def revenue_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if p.min_revenue_wan is None:
        return Verdict(True, "产品不限营业收入", applies=False)
    revenue = need.enterprise.revenue_wan
    floor = wan(p.min_revenue_wan)
    if revenue is not None and revenue >= p.min_revenue_wan:
        return Verdict(True, f"上年营业收入{wan(revenue)}万元，达到产品要求的{floor}万元")
    shown = "未填写" if revenue is None else f"{wan(revenue)}万元"
    return Verdict(False, f"上年营业收入{shown}，低于产品要求的{floor}万元",
                   f"营业收入达到{floor}万元后可申请")


def tax_grade_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if not p.tax_credit_grades:
        return Verdict(True, "产品不限纳税信用等级", applies=False)
    grade = need.enterprise.tax_credit_grade
    wanted = "、".join(sorted(p.tax_credit_grades))
    if grade is None:
        return Verdict(False, f"未登记纳税信用等级，产品要求{wanted}级",
                       f"补充纳税信用等级（需为{wanted}级）")
    if grade in p.tax_credit_grades:
        return Verdict(True, f"纳税信用{grade}级，符合产品要求（银税互动）")
    return Verdict(False, f"纳税信用{grade}级，产品要求{wanted}级")


def loan_kind_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if not p.loan_kinds:
        return Verdict(True, "产品不限首贷、续贷或新增", applies=False)
    mine = SHORT_LOAN_KINDS.get(need.loan_kind, need.loan_kind)
    if need.loan_kind in p.loan_kinds:
        return Verdict(True, f"产品受理{mine}")
    kinds = "、".join(SHORT_LOAN_KINDS.get(k, k) for k in sorted(p.loan_kinds))
    return Verdict(False, f"产品仅受理{kinds}，本需求为{mine}")


def core_enterprise_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if not p.core_enterprises:
        return Verdict(True, "产品不限核心企业", applies=False)
    stated = need.enterprise.core_enterprise
    listed = _join(p.core_enterprises, 4)
    if not stated:
        return Verdict(False, f"未填写核心企业，产品仅服务{listed}的上下游企业",
                       f"补充核心企业信息（产品服务{listed}的供应商）")
    if any(ctx.same_core(stated, name) for name in p.core_enterprises):
        return Verdict(True, ctx.core_reason(stated, p.core_enterprises))
    return Verdict(False, f"核心企业{stated}不在产品名单（{listed}）内")


def fund_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    """A bridge fund (应急转贷) serves only whom its programme names (7号 四（二）: 制造业中小微
    企业, 双百企业中的大型民营企业): the programme's data, not the product's terms."""
    if not is_bridge(p):
        return Verdict(True, "非应急转贷产品", applies=False)
    refusal = fund_refusal(need, p, ctx.programs, ctx.today)
    if refusal is None:
        caution = fund_caution(need, p, ctx)
        if caution is not None:
            return Verdict(True, caution)
        return Verdict(True, "符合应急转贷资金的支持对象",
                       applies=bool(fund_programs(p, ctx.programs, ctx.today)))
    return Verdict(False, refusal)


def fund_caution(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> str | None:
    """For a bridge the fund may serve only on facts not yet known or verified (an imported
    双百 tag, an ownership never stated): what the manager must check, said on the match."""
    funds = fund_programs(p, ctx.programs, ctx.today) if is_bridge(p) else []
    if not funds or any(need_side_refusal(f, need) is None for f in funds):
        return None
    return ("应急转贷资金支持对象待核实：" + need_side_refusal(funds[0], need)
            + "（企业资料中的资质、控股类型经组织方核验后确定）")


def _fund_key(need: NeedFacts) -> tuple:
    e = need.enterprise
    return (e.industry, e.derived_size, e.tags, e.verified_tags, e.ownership, need.purpose,
            need.loan_kind)


def rate_acceptable(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    ceiling = need.max_rate
    if ceiling is None:
        return Verdict(True, "企业未设利率上限", applies=False)
    if p.rate_min <= ceiling:
        return Verdict(True, f"产品最低利率{pct(p.rate_min)}不高于企业可接受的{pct(ceiling)}")
    return Verdict(False, f"产品最低利率{pct(p.rate_min)}高于企业可接受的利率上限{pct(ceiling)}",
                   f"将可接受利率上限提高至{pct(p.rate_min)}以上")


def existing_customer_fits(need: NeedFacts, p: ProductTerms, ctx: MatchContext) -> Verdict:
    if not p.existing_customers_only:
        return Verdict(True, "产品不限存量客户", applies=False)
    if need.current_lender_id is not None and need.current_lender_id == p.institution_id:
        return Verdict(True, "本机构为企业现贷款机构，可办理存量客户产品（如无还本续贷）")
    return Verdict(False, "产品仅面向本机构的存量贷款客户（如无还本续贷）",
                   "向现贷款机构咨询同类续贷产品")


RULES: tuple[Rule, ...] = (
    Rule("active", "1", "产品在架", product_active, lambda n: None),
    Rule("purpose", "2", "融资用途", purpose_fits, lambda n: n.purpose),
    Rule("amount", "3", "融资金额", amount_fits, lambda n: n.amount_wan),
    Rule("term", "4", "融资期限", term_fits, lambda n: n.term_months),
    Rule("guarantee", "5", "担保方式", guarantee_fits, lambda n: n.guarantee_modes),
    Rule("district", "6", "服务区域", district_covered, lambda n: n.enterprise.district),
    Rule("size", "7", "企业规模", size_fits, lambda n: n.enterprise.size),
    Rule("tags", "7", "企业资质", tags_fit, lambda n: n.enterprise.tags),
    Rule("industry", "7", "所属行业", industry_fits, lambda n: n.enterprise.industry),
    Rule("min_years", "7", "成立年限", years_fit,
         lambda n: (n.enterprise.founded, n.created)),
    Rule("min_revenue", "7", "营业收入", revenue_fits, lambda n: n.enterprise.revenue_wan),
    Rule("tax_grade", "7", "纳税信用等级", tax_grade_fits,
         lambda n: n.enterprise.tax_credit_grade),
    Rule("loan_kind", "7", "贷款类型", loan_kind_fits, lambda n: n.loan_kind),
    Rule("core_enterprise", "7", "核心企业", core_enterprise_fits,
         lambda n: n.enterprise.core_enterprise),
    # not a rule of the exchange format: the fund's own condition, from its programme
    Rule("fund", "", "应急转贷支持对象", fund_fits, _fund_key),
    Rule("max_rate", "8", "利率上限", rate_acceptable, lambda n: n.max_rate),
    Rule("existing_customer", "9", "存量客户", existing_customer_fits,
         lambda n: n.current_lender_id),
)
RULES_BY_CODE = {r.code: r for r in RULES}
_MAX_RATE = RULES_BY_CODE["max_rate"]
CACHE_SIZE = 1_000_000      # entries per cache before it is emptied
# the conditions a near miss may fail: an inactive product is never a near miss
CONDITIONS: tuple[Rule, ...] = tuple(r for r in RULES if r.code != "active")
# A near miss is shown only for a condition the enterprise can change itself, each with the
# change that would make the product eligible: what it asks for (amount, term, the security
# it offers, its rate ceiling), in the order it is most likely to act on, and a missing tax
# grade it can supply. Where it is, what it makes, how old or large it is, or which loan
# kinds a product serves (首贷 only …) are not its to change: those products are left out.
_NEAR_PRIORITY = ("amount", "term", "guarantee", "max_rate", "tax_grade")
NEAR_MISS_ORDER: tuple[int, ...] = tuple(
    [r.code for r in CONDITIONS].index(code) for code in _NEAR_PRIORITY)
NEAR_RANK = {code: i for i, code in enumerate(_NEAR_PRIORITY)}


def actionable(code: str, need: NeedFacts) -> bool:
    """Can the enterprise change what fails this condition (see _NEAR_PRIORITY)?"""
    if code == "tax_grade":  # a grade it has not entered, not a grade it holds
        return need.enterprise.tax_credit_grade is None
    return code in NEAR_RANK


def is_eligible(need: NeedFacts, product: ProductTerms, ctx: MatchContext) -> bool:
    """All of rules 1–9 hold."""
    return all(rule.check(need, product, ctx).ok for rule in RULES)


# --------------------------------------------------------------------------- scoring


# a bridge has no annual rate: its rank key sorts after every rate, as rank_order puts None
BRIDGE_NEG = Decimal(-10 ** 6)
# a bridge's cost points: neither cheap nor dear (its fee is by the day, not a yearly cost)
BRIDGE_COST_SHARE = 0.5


def _rate_of(neg_rate: Decimal) -> Decimal | None:
    return None if neg_rate == BRIDGE_NEG else -neg_rate


class _Cost(NamedTuple):
    rate_before: Decimal
    rate_after: Decimal             # quantized to 0.01, as shown
    neg_rate: Decimal               # -rate_after: rank keys sort it descending (BRIDGE_NEG)
    points: float                   # the cost component
    fit: float                      # fit points of the subsidy programmes that apply (uncapped)
    reason: str                     # the cost reason shown with the match


_UIDS = itertools.count()


class _Prepared:
    """One product's precomputed, need-independent numbers."""
    __slots__ = (
        "amount_sens",
        "amount_text",
        "amt_slope",
        "best_cost",
        "bridge",
        "explained",
        "fee_always",
        "fee_subsidised",
        "fit_room",
        "fit_signals",
        "fit_verified",
        "ln_amt_mid",
        "ln_term_mid",
        "mid_cost",
        "mid_rate",
        "pos",
        "programmed",
        "purpose_pts",
        "ref_rank",
        "response_pts",
        "response_ratio",
        "response_reason",
        "simple",
        "static",
        "static_parts",
        "static_rounded",
        "term_slope",
        "term_text",
        "terms",
        "ub",
        "ub_free",
        "ub_r",
        "uid",
    )

    def __init__(self, p: ProductTerms, ctx: MatchContext, in_force: dict):
        w = ctx.weights
        self.terms = p
        self.uid = next(_UIDS)        # cache key: unique per prepared version of a product
        self.pos = -1
        self.ref_rank = 0
        parts = _static_parts(p, ctx)
        self.static_parts = parts
        self.static = sum(pts for pts, _ in parts.values())
        self.static_rounded = {name: round(pts, 2) for name, (pts, _) in parts.items()}
        self.purpose_pts = parts["purpose"][0]
        self.fit_signals = fit_signals(p, w)
        # what the need can still add to `fit` (subsidies that apply, a verified tag)
        self.fit_room = max(0.0, w.fit - parts["fit"][0])
        self.fit_verified = w.fit_tags_verified if p.tags_any else 0.0
        ratio = ctx.lead_response.get(p.institution_id) if ctx.lead_response else None
        self.response_ratio = self.response_pts = 0.0
        self.response_reason = None
        if ratio is not None:
            r = self.response_ratio = min(1.0, max(0.0, float(ratio)))
            self.response_pts = parts["responsiveness"][0]
            self.response_reason = (f"机构线索按时响应率仅{r * 100:.0f}%" if r < 0.5
                                    else f"机构线索按时响应率{r * 100:.0f}%")
        # points = W × (1 − EDGE_SHARE × |ln x − ln g| / half-width) = W − slope × |ln x − ln g|
        self.ln_amt_mid, inv = _log_span(p.amount_min_wan, p.amount_max_wan)
        self.amt_slope = EDGE_SHARE * w.amount * inv
        self.ln_term_mid, inv = _log_span(p.term_min_months, p.term_max_months)
        self.term_slope = EDGE_SHARE * w.term * inv
        self.amount_text = _span_phrase(wan(p.amount_min_wan), wan(p.amount_max_wan), "额度",
                                        "万元")
        self.term_text = _span_phrase(str(p.term_min_months), str(p.term_max_months), "期限",
                                      "个月")
        self.mid_rate = (p.rate_min + p.rate_max) / 2
        listed = set(p.subsidy_programs) & set(in_force)
        self.amount_sens = amount_sensitivity(p, in_force, ctx.today, ctx.guarantee_fee_rate)
        # the programmes' verdicts read the need (its signature, subsidies.need_signature)
        self.programmed = bool(listed)
        self.fee_always = p.institution_kind == "guarantee"
        self.fee_subsidised = GUARANTEE_FEE_SUBSIDY in p.subsidy_programs
        self.bridge = is_bridge(p)
        # no program can apply: the cost is the base rate (+ a guarantor's fee), whatever the
        # need, so products share cost entries by (base rate, fee)
        self.simple = not listed and not self.fee_subsidised and not self.bridge
        best_rate = float(cost_lower_bound(p, in_force, ctx.today))
        extra = min(self.fit_room, subsidy_fit(len(listed), w) + self.fit_verified)
        # tiny margins: bounds must never be below what a pair can reach; "cost" bounds carry
        # the fit a need can add, which comes with the cost (subsidies) or the need (tags)
        if self.bridge:
            extra = min(self.fit_room, self.fit_verified)
            self.best_cost = w.cost * BRIDGE_COST_SHARE + extra + 1e-6
        else:
            self.best_cost = _cost_points(best_rate, ctx) + extra + 1e-6
        self.ub = self.static + w.amount + w.term + self.best_cost + 1e-6
        self.ub_r = round(self.ub, 1)
        # without a rate ceiling on the need, a product no program applies to costs exactly
        # its midpoint (+ fee): a tighter bound (a cent lower, for the rounding)
        self.mid_cost = self.best_cost
        if self.simple:
            fee = ctx.guarantee_fee_rate if self.fee_always else 0
            tight = float(self.mid_rate + fee) - 0.01
            verified = min(self.fit_room, self.fit_verified)
            self.mid_cost = min(self.best_cost, _cost_points(tight, ctx) + verified + 1e-6)
        self.ub_free = self.static + w.amount + w.term + self.mid_cost + 1e-6
        # conditions the product sets that no fit signal already explains
        signals = {code for _, code in self.fit_signals}
        self.explained = tuple(RULES_BY_CODE[c] for c in _BINDING_CODES
                               if _sets(p, c) and _EXPLAINED_BY.get(c) not in signals)


_BINDING_CODES = ("district", "size", "tax_grade", "min_years", "min_revenue",
                  "existing_customer")
_EXPLAINED_BY = {"district": "local", "size": "size", "tax_grade": "tax_grade",
                 "existing_customer": "current_lender"}


def _sets(p: ProductTerms, code: str) -> bool:
    return bool({"district": p.districts, "size": p.sizes,
                 "min_years": p.min_years is not None,
                 "min_revenue": p.min_revenue_wan is not None,
                 "tax_grade": p.tax_credit_grades,
                 "existing_customer": p.existing_customers_only}[code])


# a need at the edge of a product's range keeps half the points of one at its middle
EDGE_SHARE = 0.5
# a narrow range (6–12 months) is not read as "at the edge" for a factor of 2 off its middle
MIN_HALF_WIDTH = math.log(2)


def _span_phrase(lo: str, hi: str, what: str, unit: str) -> str:
    if lo == hi:
        return f"符合产品{what}{lo}{unit}"
    return f"在产品{what}{lo}–{hi}{unit}内"


def _log_span(lo, hi) -> tuple[float, float]:
    """ln of the geometric middle of [lo, hi], and 1 / (half its log width, at least ln 2)."""
    a, b = math.log(max(float(lo), 1e-9)), math.log(max(float(hi), 1e-9))
    return (a + b) / 2, 1.0 / max((b - a) / 2, MIN_HALF_WIDTH)


def _cost_points(rate: float, ctx: MatchContext) -> float:
    zero_at = ctx.weights.cost_zero_at_lpr * float(ctx.lpr_1y)
    if zero_at <= 0:
        return 0.0
    return ctx.weights.cost * max(0.0, 1.0 - rate / zero_at)


def _purpose_share(k: int) -> float:
    # 1 purpose -> 1.0, 2 -> 0.87, 3 -> 0.77, 4 -> 0.69, 6 -> 0.57, 8 -> 0.49: a second
    # purpose hardly makes a product generic; a six-purpose line (综合授信) is
    return 1.0 / (1.0 + 0.15 * (max(k, 1) - 1))


def _static_parts(p: ProductTerms, ctx: MatchContext) -> dict[str, tuple[float, str]]:
    """Points that, given eligibility, depend on the product alone (with a reason key): the
    purpose, the fit signals the product earns from any need it serves (capped), and the
    institution's responsiveness."""
    w = ctx.weights
    parts: dict[str, tuple[float, str]] = {}
    parts["purpose"] = (w.purpose * _purpose_share(len(p.purposes)), "purpose")
    parts["fit"] = (min(w.fit, sum(pts for pts, _ in fit_signals(p, w))), "fit")
    ratio = None
    if ctx.lead_response is not None:
        ratio = ctx.lead_response.get(p.institution_id)
    parts["responsiveness"] = (w.responsiveness * (0.5 if ratio is None
                                                   else min(1.0, max(0.0, float(ratio)))),
                               "responsiveness")
    return parts


def fit_signals(p: ProductTerms, w: Weights) -> list[tuple[float, str]]:
    """(points, signal) for each way the product targets a situation. Eligibility already
    guarantees that a need it serves is in that situation (its loan kind is the product's,
    its core enterprise is listed, it holds a listed tag …), so these depend on the product
    alone. A condition that merely admits (a product open to new loans too, to any grade,
    to any size) targets nothing."""
    out = []
    if p.loan_kinds and "new" not in p.loan_kinds:
        out.append((w.fit_loan_kind * (1.0 if len(p.loan_kinds) == 1 else 0.5), "loan_kind"))
    if p.existing_customers_only:
        out.append((w.fit_current_lender, "current_lender"))
    if p.core_enterprises:
        out.append((w.fit_core, "core"))
    if p.tax_credit_grades:
        good = p.tax_credit_grades <= {"A", "B"}
        out.append((w.fit_tax * (1.0 if good else 0.5), "tax_grade"))
    if p.tags_any:
        n = len(p.tags_any)
        out.append((w.fit_tags * (1.0 if n <= 2 else 0.85 if n <= 4 else 0.7), "tags"))
    if p.industries:
        broadest = min(len(c) for c in p.industries)
        out.append((w.fit_industry * (0.15 if broadest <= 1 else 0.7 if broadest <= 3 else 1.0),
                    "industry"))
    if p.districts and len(p.districts) <= 3:
        out.append((w.fit_local, "local"))
    if p.sizes and p.sizes <= {"medium", "small", "micro"}:
        out.append((w.fit_size * (1.0 if p.sizes <= {"small", "micro"} else 0.5), "size"))
    return out


def subsidy_fit(applied: int, w: Weights) -> float:
    """Fit points for the subsidy programmes that apply to this need (the calculator's
    verdict: institutions.subsidies.estimate_cost)."""
    return 0.0 if applied <= 0 else w.fit_subsidy + w.fit_subsidy_more * (applied - 1)


# --------------------------------------------------------------------------- bitsets

_NONZERO = re.compile(rb"[^\x00]")
_BYTE_BITS = tuple(tuple(b for b in range(8) if v >> b & 1) for v in range(256))


def _mask(positions: Iterable[int], nbytes: int) -> int:
    buf = bytearray(nbytes)
    for p in positions:
        buf[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(buf, "little")


def _bits(mask: int) -> Iterator[int]:
    """Set bit positions, ascending."""
    if not mask:
        return
    data = mask.to_bytes((mask.bit_length() + 7) >> 3, "little")
    for found in _NONZERO.finditer(data):
        i = found.start()
        base = i << 3
        for off in _BYTE_BITS[data[i]]:
            yield base + off


def _has(data: bytes, pos: int) -> bool:
    i = pos >> 3
    return i < len(data) and data[i] >> (pos & 7) & 1 == 1


class _Thresholds:
    """Items keyed by a number: the mask of those whose number is <= x, or >= x."""
    __slots__ = ("ge_suf", "le_cum", "values")

    def __init__(self, pairs: Iterable[tuple], nbytes: int):
        by_value: dict = {}
        for value, pos in pairs:
            by_value.setdefault(value, []).append(pos)
        self.values = sorted(by_value)
        masks = [_mask(by_value[v], nbytes) for v in self.values]
        acc, self.le_cum = 0, [0]
        for m in masks:
            acc |= m
            self.le_cum.append(acc)
        acc, suf = 0, [0]
        for m in reversed(masks):
            acc |= m
            suf.append(acc)
        self.ge_suf = suf[::-1]

    def le(self, x) -> int:
        return self.le_cum[bisect_right(self.values, x)]

    def ge(self, x) -> int:
        return self.ge_suf[bisect_left(self.values, x)]


def _code_masks(items: Sequence[_Prepared], values_of, nbytes: int) -> tuple[dict, int]:
    """code -> mask of products listing it, and the mask of products listing nothing."""
    by_code: dict[str, list[int]] = {}
    unset = []
    for it in items:
        values = values_of(it.terms)
        if not values:
            unset.append(it.pos)
        for v in values:
            by_code.setdefault(v, []).append(it.pos)
    return {c: _mask(ps, nbytes) for c, ps in by_code.items()}, _mask(unset, nbytes)


class _NeedView:
    """Per-need numbers the index and the scorer use, computed once."""
    __slots__ = ("_programs", "_signature", "age", "amount_text", "ln_amount", "ln_term",
                 "need", "passes", "verified")

    def __init__(self, need: NeedFacts, programs: Sequence[SubsidyProgram]):
        self.need = need
        self.verified = None      # bytes: products whose tags_any it holds verified (lazy)
        self.passes = None        # the index's pass masks (lazy): a job asks them thrice
        self.ln_amount = math.log(max(float(need.amount_wan), 1e-9))
        self.ln_term = math.log(max(float(need.term_months), 1e-9))
        self.age = age_months(need.enterprise.founded, need.created)
        self._programs = programs
        self._signature = None
        self.amount_text = wan(need.amount_wan)

    @property
    def signature(self) -> tuple:
        """The programmes' verdicts on the need (lazy: only a cost estimate reads them, and a
        programme's job asks most needs only for their near misses)."""
        if self._signature is None:
            self._signature = (need_signature(self._programs, self.need)
                               if self._programs else ())
        return self._signature


class _ProductIndex:
    """Bitsets over products, in descending order of their best possible score."""

    def __init__(self, items: list[_Prepared], ctx: MatchContext, in_force: dict):
        self.ctx = ctx
        self.in_force = in_force
        self.programs = tuple(in_force[code] for code in sorted(in_force))
        items.sort(key=lambda it: (-it.ub_free, it.terms.ref))
        for rank, it in enumerate(sorted(items, key=lambda it: it.terms.ref)):
            it.ref_rank = rank
        for pos, it in enumerate(items):
            it.pos = pos
        self.items = items
        self.by_id = {it.terms.id: it for it in items}
        self.institution_of = [it.terms.institution_id for it in items]
        slots: dict[int, int] = {}
        self.owner_slot = [slots.setdefault(i, len(slots)) for i in self.institution_of]
        self.slots = len(slots)
        # what _top reads per candidate, in one tuple: for needs without a rate ceiling
        # (positions are sorted by that bound), and for needs with one (the bound's maximum
        # over the positions still ahead, since that order does not sort it)
        self.fast_free = [(it.static, it.amt_slope, it.ln_amt_mid, it.term_slope,
                           it.ln_term_mid, it.mid_cost, round(it.ub_free, 1), it.simple,
                           it.mid_rate, it.fit_room, it.fit_verified) for it in items]
        ahead, best = [], float("-inf")
        for it in reversed(items):
            best = max(best, it.ub)
            ahead.append(round(best, 1))
        ahead.reverse()
        self.fast_capped = [(it.static, it.amt_slope, it.ln_amt_mid, it.term_slope,
                             it.ln_term_mid, it.best_cost, bound, it.simple, it.mid_rate,
                             it.fit_room, it.fit_verified) for it, bound in zip(items, ahead)]
        # the bounds alone: _institution_tops skips most positions on them
        self.bound_free = [t[6] for t in self.fast_free]
        self.bound_capped = [t[6] for t in self.fast_capped]
        nb = self.nbytes = (len(items) + 7) >> 3
        self.all = _mask((it.pos for it in items if it.terms.active), nb)
        self._build(items, nb)
        self._pass = {r.code: getattr(self, f"_pass_{r.code}") for r in CONDITIONS}

    def _build(self, items: list[_Prepared], nb: int) -> None:
        self.purpose, _ = _code_masks(items, lambda p: p.purposes, nb)
        self.modes, _ = _code_masks(items, lambda p: p.guarantee_modes, nb)
        self.district, self.district_any = _code_masks(items, lambda p: p.districts, nb)
        self.size, self.size_any = _code_masks(items, lambda p: p.sizes, nb)
        self.tag, self.tag_any = _code_masks(items, lambda p: p.tags_any, nb)
        self.industry, self.industry_any = _code_masks(items, lambda p: p.industries, nb)
        self.grade, self.grade_any = _code_masks(items, lambda p: p.tax_credit_grades, nb)
        self.kind, self.kind_any = _code_masks(items, lambda p: p.loan_kinds, nb)
        self.core, self.core_any = _code_masks(items, lambda p: p.core_enterprises, nb)
        eco, self.not_eco = _code_masks(
            items, lambda p: (str(p.institution_id),) if p.existing_customers_only else (), nb)
        self.eco = {int(k): m for k, m in eco.items()}
        ts = [(it.terms, it.pos) for it in items]
        self.amount_lo = _Thresholds(((p.amount_min_wan, i) for p, i in ts), nb)
        self.amount_hi = _Thresholds(((p.amount_max_wan, i) for p, i in ts), nb)
        self.term_lo = _Thresholds(((p.term_min_months, i) for p, i in ts), nb)
        self.term_hi = _Thresholds(((p.term_max_months, i) for p, i in ts), nb)
        self.rate_lo = _Thresholds(((p.rate_min, i) for p, i in ts), nb)
        self.years = _Thresholds(((required_months(p.min_years), i) for p, i in ts
                                  if p.min_years is not None), nb)
        self.years_any = _mask((i for p, i in ts if p.min_years is None), nb)
        self.revenue = _Thresholds(((p.min_revenue_wan, i) for p, i in ts
                                    if p.min_revenue_wan is not None), nb)
        self.revenue_any = _mask((i for p, i in ts if p.min_revenue_wan is None), nb)
        # bridge products by the programme that says whom their fund serves; the others
        funds: dict[str, list[int]] = {}
        unrestricted = []
        for it in items:
            governing = fund_programs(it.terms, self.in_force, self.ctx.today)
            if not governing:
                unrestricted.append(it.pos)
            for program in governing:
                funds.setdefault(program.code, []).append(it.pos)
        self.fund = {code: _mask(ps, nb) for code, ps in funds.items()}
        self.fund_any = _mask(unrestricted, nb)
        self._modes_cache: dict = {}
        self._tags_cache: dict = {}
        self._industry_cache: dict = {}
        self._core_cache: dict = {}

    # one pass mask per condition; `_pass_<code>` mirrors the rule of that code exactly

    def _pass_purpose(self, v: _NeedView) -> int:
        return self.purpose.get(v.need.purpose, 0)

    def _pass_amount(self, v: _NeedView) -> int:
        a = v.need.amount_wan
        return self.amount_lo.le(a) & self.amount_hi.ge(a)

    def _pass_term(self, v: _NeedView) -> int:
        t = v.need.term_months
        return self.term_lo.le(t) & self.term_hi.ge(t)

    def _pass_guarantee(self, v: _NeedView) -> int:
        modes = v.need.guarantee_modes
        m = self._modes_cache.get(modes)
        if m is None:
            m = self.modes.get("credit", 0)  # rule 5: a credit product admits any need
            for mode in modes:
                m |= self.modes.get(mode, 0)
            self._modes_cache[modes] = m
        return m

    def _pass_district(self, v: _NeedView) -> int:
        return self.district_any | self.district.get(v.need.enterprise.district, 0)

    def _pass_size(self, v: _NeedView) -> int:
        return self.size_any | self.size.get(v.need.enterprise.size, 0)

    def _pass_tags(self, v: _NeedView) -> int:
        tags = v.need.enterprise.tags
        m = self._tags_cache.get(tags)
        if m is None:
            m = self.tag_any
            for t in tags:
                m |= self.tag.get(t, 0)
            self._tags_cache[tags] = m
        return m

    def _pass_industry(self, v: _NeedView) -> int:
        code = v.need.enterprise.industry or ""
        m = self._industry_cache.get(code)
        if m is None:
            m = self.industry_any
            if code:   # an unset industry fails every industry condition
                for i in range(len(code) + 1):
                    m |= self.industry.get(code[:i], 0)
            self._industry_cache[code] = m
        return m

    def _pass_min_years(self, v: _NeedView) -> int:
        return self.years_any | self.years.le(v.age)

    def _pass_min_revenue(self, v: _NeedView) -> int:
        revenue = v.need.enterprise.revenue_wan
        if revenue is None:
            return self.revenue_any
        return self.revenue_any | self.revenue.le(revenue)

    def _pass_tax_grade(self, v: _NeedView) -> int:
        grade = v.need.enterprise.tax_credit_grade
        return self.grade_any | (self.grade.get(grade, 0) if grade is not None else 0)

    def _pass_loan_kind(self, v: _NeedView) -> int:
        return self.kind_any | self.kind.get(v.need.loan_kind, 0)

    def _pass_core_enterprise(self, v: _NeedView) -> int:
        stated = v.need.enterprise.core_enterprise
        if not stated:
            return self.core_any
        m = self._core_cache.get(stated)
        if m is None:
            m = self.core_any
            for name, names_mask in self.core.items():
                if self.ctx.same_core(stated, name):
                    m |= names_mask
            self._core_cache[stated] = m
        return m

    def _pass_fund(self, v: _NeedView) -> int:
        m = self.fund_any
        for program in self.programs:  # what is not known yet does not refuse (fund_refusal)
            if program.code in self.fund and need_side_refusal(
                    program, v.need, unknown_passes=True) is None:
                m |= self.fund[program.code]
        return m

    def _pass_max_rate(self, v: _NeedView) -> int:
        ceiling = v.need.max_rate
        return self.all if ceiling is None else self.rate_lo.le(ceiling)

    def _pass_existing_customer(self, v: _NeedView) -> int:
        lender = v.need.current_lender_id
        return self.not_eco | (self.eco.get(lender, 0) if lender is not None else 0)

    def verified(self, v: _NeedView) -> bytes:
        """Products whose tags_any the enterprise holds verified, as bytes for _has()."""
        if v.verified is None:
            m = 0
            for tag in v.need.enterprise.verified_tags:
                m |= self.tag.get(tag, 0)
            v.verified = m.to_bytes(self.nbytes, "little") if m else b""
        return v.verified

    def passes(self, v: _NeedView) -> list[int]:
        """Pass masks aligned with CONDITIONS (read, never changed, by the callers)."""
        if v.passes is None:
            v.passes = [self._pass[r.code](v) for r in CONDITIONS]
        return v.passes

    def eligible(self, passes: list[int]) -> int:
        m = self.all
        for p in passes:
            m &= p
        return m

    def near(self, passes: list[int]) -> tuple[int, list[int]]:
        """(products failing exactly one condition, per-condition fail masks)."""
        everything = self.all
        fails = [everything & ~p for p in passes]
        ones = twos = 0
        for f in fails:
            twos |= ones & f
            ones |= f
        return ones & ~twos, fails


# --------------------------------------------------------------------------- the matcher


class Matcher:
    """Built once from the products (and a context); answers for any number of needs.

    Score (0–100, one decimal) = the sum of `Weights` components:
      purpose     18 × 1/(1 + 0.15·(k−1)) for a product listing k purposes;
      fit         40 at most: the product targets this need's situation — 首贷/续贷-only
                   (14; 7 for both), 无还本续贷 at the current lender (+7), the enterprise's
                   core enterprise listed (14), 银税互动 (8), a tag it holds (12, fewer for
                   products listing many; +2 when an organizer verified it), a subsidy that
                   applies to this need (10, +3 each further), its industry (7 for a class or
                   group, 5 for a division, 1 for a section), a local product (5), 小微-only (4);
      amount       8 × (1 − 0.5·d), d = |ln a − ln g| / half the log width of the range (at
                   least ln 2), g its geometric middle (the product's sweet spot): 4 at an edge;
      term         6 × the same on the term range;
      cost        20 × (1 − r / (2.5 × LPR 1y)), r the yearly cost after subsidies
                   (`subsidies.estimate_cost`): 1 percentage point ≈ 2.7 points, so one fit
                   signal outweighs any difference in price between comparable lenders;
      responsiveness 8 × on-time lead answer ratio (4 when unknown).
    Ties: score desc, estimated_rate asc, product ref asc. Scores are absolute: a product's
    score for a need does not depend on the other products, so incremental refresh is exact.
    """

    def __init__(self, products: Iterable[ProductTerms], ctx: MatchContext):
        self.ctx = ctx
        self.products: dict[int, ProductTerms] = {}
        for p in products:
            self.products[p.id] = p
        in_force = {p.code: p for p in ctx.programs if p.in_force(ctx.today)}
        items = [_Prepared(p, ctx, in_force) for p in self.products.values()]
        self._index = _ProductIndex(items, ctx, in_force)
        # per position: the cost of a product no program applies to, at its midpoint rate
        self._mid_costs: list[_Cost | None] = [None] * len(self._index.items)
        self._cost_cache: dict[tuple, _Cost] = {}
        self._text_cache: dict[tuple, str] = {}
        self._verdicts: dict[tuple, Verdict] = {}
        self._w_amount, self._w_term = ctx.weights.amount, ctx.weights.term
        self._by_institution: dict[int, int] | None = None
        self._last_view: _NeedView | None = None

    # ----- eligibility

    def _view(self, need: NeedFacts) -> _NeedView:
        # a product's job asks three things of each need in turn (refresh, the institution's
        # best, the reasons): the view, a tenth of a millisecond, is built once for them
        last = self._last_view
        if last is not None and last.need is need:
            return last
        self._last_view = view = _NeedView(need, self._index.programs)
        return view

    def eligible_mask(self, need: NeedFacts) -> int:
        ix = self._index
        return ix.eligible(ix.passes(self._view(need)))

    # ----- ranking

    def _pair(self, it: _Prepared, v: _NeedView) -> tuple[float, float, float, _Cost]:
        """(score, amount points, term points, cost) — the one formula; `_top` inlines it
        operation for operation, so both give the same float."""
        amount = it.static + (self._w_amount - it.amt_slope * abs(v.ln_amount - it.ln_amt_mid))
        partial = amount + (self._w_term - it.term_slope * abs(v.ln_term - it.ln_term_mid))
        cost = self._cost(it, v)
        score = partial + cost.points
        extra = cost.fit + self._verified_pts(it, v)
        if extra:
            score += min(extra, it.fit_room)
        return (score,
                self._w_amount - it.amt_slope * abs(v.ln_amount - it.ln_amt_mid),
                self._w_term - it.term_slope * abs(v.ln_term - it.ln_term_mid), cost)

    def _verified_pts(self, it: _Prepared, v: _NeedView) -> float:
        if not it.fit_verified or not v.need.enterprise.verified_tags:
            return 0.0
        return it.fit_verified if _has(self._index.verified(v), it.pos) else 0.0

    def _fit_extra(self, it: _Prepared, v: _NeedView, cost: _Cost) -> float:
        """The fit points the need adds to the product's own (capped at the fit weight)."""
        extra = cost.fit + self._verified_pts(it, v)
        return (min(extra, it.fit_room)) if extra else 0.0

    def _cost(self, it: _Prepared, v: _NeedView) -> _Cost:
        """Cached by what the estimate depends on (see subsidies.estimate_cost)."""
        need = v.need
        ceiling = need.max_rate
        override = ceiling if ceiling is not None and ceiling < it.mid_rate else None
        if it.simple:
            key = (override if override is not None else it.mid_rate, it.fee_always)
        else:
            p = it.terms
            sens = it.amount_sens
            amount = need.amount_wan if sens is not None and need.amount_wan >= sens else None
            if it.fee_always:
                fee = True
            elif it.fee_subsidised:
                fee = need.guarantee_modes & p.guarantee_modes == {"guarantee"}
            else:
                fee = False
            key = (it.uid, v.signature if it.programmed else None, override, amount,
                   need.term_months if amount is not None else None, fee)
        cached = self._cost_cache.get(key)
        if cached is None:
            if len(self._cost_cache) > CACHE_SIZE:
                self._cost_cache.clear()
            cached = self._cost_cache[key] = self._estimate(it, need)
        return cached

    def _estimate(self, it: _Prepared, need: NeedFacts) -> _Cost:
        est = estimate_cost(need, it.terms, self._index.in_force, self.ctx.today,
                            self.ctx.guarantee_fee_rate)
        if est.per_day:
            waived = "".join(f"；{a.text_zh}" for a in est.applied)
            return _Cost(est.rate_before, None, BRIDGE_NEG,
                         self.ctx.weights.cost * BRIDGE_COST_SHARE, 0.0,
                         describe_daily(est, need.amount_wan) + waived)
        fee = f"（含担保费{pct(est.guarantee_fee_rate)}）" if est.guarantee_fee_rate > 0 else ""
        if est.applied:
            labels = "、".join(a.label_zh for a in est.applied)
            reason = (f"可享{labels}，预计年化成本由{pct(est.rate_before)}降至"
                      f"{pct(est.rate_after)}{fee}")
        else:
            reason = f"预计年化成本{pct(est.rate_after)}{fee}"
        return _Cost(est.rate_before, est.rate_after, -est.rate_after,
                     _cost_points(float(est.rate_after), self.ctx),
                     subsidy_fit(len(est.applied), self.ctx.weights), reason)

    def _top(self, v: _NeedView, eligible: int, top: int | None) -> list[tuple]:
        """(rank key, pos, score, cost) of the best `top` eligible products, best first.

        Positions come in descending order of each product's upper bound, so once a bound
        falls below the k-th score nothing further can enter; a candidate whose score without
        cost plus its best possible cost is below it is skipped before its cost."""
        items = self._index.items
        cost_of = self._cost
        w_amount, w_term = self._w_amount, self._w_term
        ln_a, ln_t = v.ln_amount, v.ln_term
        if top is None:
            found = []
            for pos in _bits(eligible):
                it = items[pos]
                score, _, _, cost = self._pair(it, v)
                found.append(((round(score, 1), cost.neg_rate, -it.ref_rank), pos, score, cost))
            found.sort(reverse=True)
            return found
        if top <= 0:
            return []
        heap: list[tuple] = []
        full = False
        kth = floor = -1.0
        mid_costs = self._mid_costs
        ceiling = v.need.max_rate
        fast = self._index.fast_free if ceiling is None else self._index.fast_capped
        data = eligible.to_bytes(self._index.nbytes, "little")
        verified = self._index.verified(v) if v.need.enterprise.verified_tags else b""
        for found in _NONZERO.finditer(data):
            byte = found.start()
            base = byte << 3
            for off in _BYTE_BITS[data[byte]]:
                pos = base + off
                (static, a_slope, a_mid, t_slope, t_mid, best_cost, ub_r, simple, mid, room,
                 vb) = fast[pos]
                if full and ub_r < kth:
                    heap.sort(reverse=True)
                    return heap
                # the same operations, in the same order, as _pair()
                partial = (static + (w_amount - a_slope * abs(ln_a - a_mid))
                           + (w_term - t_slope * abs(ln_t - t_mid)))
                if full and partial + best_cost < floor:
                    continue
                if simple and (ceiling is None or ceiling >= mid):
                    cost = mid_costs[pos]
                    if cost is None:
                        cost = mid_costs[pos] = cost_of(items[pos], v)
                else:
                    cost = cost_of(items[pos], v)
                score = partial + cost.points
                extra = cost.fit + (vb if vb and verified and _has(verified, pos) else 0.0)
                if extra:
                    score += min(extra, room)
                if full and score < floor:
                    continue
                entry = ((round(score, 1), cost.neg_rate, -items[pos].ref_rank), pos, score,
                         cost)
                if not full:
                    heapq.heappush(heap, entry)
                    full = len(heap) == top
                elif entry > heap[0]:
                    heapq.heapreplace(heap, entry)
                else:
                    continue
                if full:
                    kth = heap[0][0][0]
                    floor = kth - 0.051     # below this, round(score, 1) < kth for sure
        heap.sort(reverse=True)
        return heap

    def match(self, need: NeedFacts, top: int | None = 10,
              institutions: Iterable[int] | None = None) -> list[Match]:
        """The eligible products, best first; all of them when top is None; only those of
        `institutions` when given (a need's matches at one bank)."""
        v = self._view(need)
        ix = self._index
        eligible = ix.eligible(ix.passes(v))
        if institutions is not None:
            eligible &= self.institution_mask(institutions)
        chosen = self._top(v, eligible, top)
        return [self._build(ix.items[pos], v, score, cost) for _, pos, score, cost in chosen]

    def institution_mask(self, institutions: Iterable[int]) -> int:
        """The positions of these institutions' products."""
        masks = self._institution_masks()
        found = 0
        for institution_id in institutions:
            found |= masks.get(institution_id, 0)
        return found

    def _institution_masks(self) -> dict[int, int]:
        if self._by_institution is None:
            positions: dict[int, list[int]] = {}
            for it in self._index.items:
                positions.setdefault(it.terms.institution_id, []).append(it.pos)
            self._by_institution = {i: _mask(ps, self._index.nbytes)
                                    for i, ps in positions.items()}
        return self._by_institution

    def institution_best(self, need: NeedFacts, institutions: Iterable[int] | None = None,
                         eligible: int | None = None) -> list[RankKey]:
        """Each institution's best eligible product for the need (of `institutions`, or of
        every institution that has one), best first: what leads, whitelists and events offer."""
        v = self._view(need)
        ix = self._index
        if eligible is None:
            eligible = ix.eligible(ix.passes(v))
        if institutions is not None:
            eligible &= self.institution_mask(institutions)
        keys = []
        for (score, neg_rate, _), pos, _s, _c in self._institution_tops(v, eligible):
            p = ix.items[pos].terms
            keys.append(RankKey(score, _rate_of(neg_rate), p.ref, p.id))
        keys.sort(key=rank_order)
        return keys

    def _institution_tops(self, v: _NeedView, eligible: int) -> list[tuple]:
        """`_top(v, eligible & institution mask, 1)` for every institution, in one pass over
        the eligible positions: the same candidates in the same order per institution, each
        pruned against its own institution's best so far (a position whose bound is below
        that best cannot enter, exactly where `_top` would have stopped). Institutions are
        held by slot in lists, not by id in a dict: the loop body runs about 300 times a need."""
        items = self._index.items
        owner = self._index.owner_slot  # position -> its institution's slot, 0 … K-1
        # per slot: the best entry so far, its rounded score, and the floor below which
        # nothing can reach it (minus infinity before any: every test below passes)
        held: list = [None] * self._index.slots
        kths = [-math.inf] * self._index.slots
        floors = kths[:]
        cost_of = self._cost
        w_amount, w_term = self._w_amount, self._w_term
        ln_a, ln_t = v.ln_amount, v.ln_term
        mid_costs = self._mid_costs
        ceiling = v.need.max_rate
        if ceiling is None:
            fast, bound = self._index.fast_free, self._index.bound_free
        else:
            fast, bound = self._index.fast_capped, self._index.bound_capped
        verified = self._index.verified(v) if v.need.enterprise.verified_tags else b""
        data = eligible.to_bytes(self._index.nbytes, "little")
        for found in _NONZERO.finditer(data):
            byte = found.start()
            base = byte << 3
            for off in _BYTE_BITS[data[byte]]:
                pos = base + off
                slot = owner[pos]
                if bound[pos] < kths[slot]:
                    continue
                (static, a_slope, a_mid, t_slope, t_mid, best_cost, _ub, simple, mid, room,
                 vb) = fast[pos]
                # the same operations, in the same order, as _pair() and _top()
                partial = (static + (w_amount - a_slope * abs(ln_a - a_mid))
                           + (w_term - t_slope * abs(ln_t - t_mid)))
                floor = floors[slot]
                if partial + best_cost < floor:
                    continue
                if simple and (ceiling is None or ceiling >= mid):
                    cost = mid_costs[pos]
                    if cost is None:
                        cost = mid_costs[pos] = cost_of(items[pos], v)
                else:
                    cost = cost_of(items[pos], v)
                score = partial + cost.points
                extra = cost.fit + (vb if vb and verified and _has(verified, pos) else 0.0)
                if extra:
                    score += min(extra, room)
                if score < floor:
                    continue
                entry = ((round(score, 1), cost.neg_rate, -items[pos].ref_rank), pos, score,
                         cost)
                if held[slot] is None or entry > held[slot]:
                    held[slot] = entry
                    kths[slot] = kth = entry[0][0]
                    floors[slot] = kth - 0.051
        return [entry for entry in held if entry is not None]

    def product_counts(self, masks: Iterable[int]) -> dict[int, int]:
        """product id -> in how many of these masks (needs' eligible) it is set.

        Counted bit-sliced: planes[i] holds bit i of every position's count, and a mask is
        added as a binary increment of all positions at once (a carry rippling through
        about two planes on average), so a mask costs a few operations on whole integers
        instead of one step per set bit: 5.2 million eligible pairings at 20,000 needs took
        2 s position by position."""
        planes: list[int] = []
        for mask in masks:
            carry = mask
            for i, plane in enumerate(planes):
                if not carry:
                    break
                planes[i] = plane ^ carry
                carry &= plane
            else:
                if carry:
                    planes.append(carry)
        counts = [0] * len(self._index.items)
        for i, plane in enumerate(planes):
            for pos in _bits(plane):
                counts[pos] += 1 << i
        items = self._index.items
        return {items[pos].terms.id: n for pos, n in enumerate(counts) if n}

    def rank_keys(self, need: NeedFacts, top: int | None = 10) -> list[RankKey]:
        """`match()` without the reasons: what a stored result needs for refresh()."""
        v = self._view(need)
        ix = self._index
        out = []
        for (score, neg_rate, _), pos, _s, _c in self._top(v, ix.eligible(ix.passes(v)), top):
            p = ix.items[pos].terms
            out.append(RankKey(score, _rate_of(neg_rate), p.ref, p.id))
        return out

    def matches_for(self, need: NeedFacts, keys: Sequence[RankKey]) -> list[Match]:
        """Full matches (with reasons) for stored keys, in their order."""
        v = self._view(need)
        out = []
        for key in keys:
            out.append(self._build(self._index.by_id[key.product_id], v))
        return out

    def near_mask(self, need: NeedFacts) -> int:
        """The positions of every near miss of the need (all of near_misses, unlimited)."""
        v = self._view(need)
        exact, fails = self._index.near(self._index.passes(v))
        found = 0
        if exact:
            for i in NEAR_MISS_ORDER:
                if fails[i] & exact and actionable(CONDITIONS[i].code, need):
                    found |= exact & fails[i]
        return found

    def product_mask(self, product_ids: Iterable[int]) -> int:
        """The positions of these products (those on the market)."""
        by_id = self._index.by_id
        return _mask((by_id[pid].pos for pid in product_ids if pid in by_id),
                     self._index.nbytes)

    def near_misses(self, need: NeedFacts, top: int | None = None) -> list[NearMiss]:
        """Active products failing exactly one condition, with the condition's reason and
        what would change it, for conditions the enterprise can change (actionable), in
        NEAR_MISS_ORDER (amount, term, guarantee, rate ceiling, a missing tax grade), then
        by the product's best possible score."""
        v = self._view(need)
        ix = self._index
        return self._near(v, ix.passes(v), top)

    def _verdict(self, rule: Rule, need: NeedFacts, it: _Prepared) -> Verdict:
        """rule.check, cached by (rule, product version, the need facts the rule reads)."""
        key = (rule.code, it.uid, rule.need_key(need))
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) > CACHE_SIZE:
                self._verdicts.clear()
            verdict = self._verdicts[key] = rule.check(need, it.terms, self.ctx)
        return verdict

    def _near(self, v: _NeedView, passes: list[int], top: int | None) -> list[NearMiss]:
        ix = self._index
        exact, fails = ix.near(passes)
        out: list[NearMiss] = []
        if not exact:
            return out
        for i in NEAR_MISS_ORDER:
            hit = exact & fails[i]
            rule = CONDITIONS[i]
            if not hit or not actionable(rule.code, v.need):
                continue
            for pos in _bits(hit):
                if top is not None and len(out) >= top:
                    return out
                it = ix.items[pos]
                p = it.terms
                verdict = self._verdict(rule, v.need, it)
                out.append(NearMiss(p.id, p.ref, p.institution_id, p.institution_ref,
                                    rule.code, rule.label, verdict.reason_zh, verdict.fix_zh))
        return out

    def match_all(self, needs: Iterable[NeedFacts], top: int | None = 10,
                  near_top: int | None = None, reserve: int = 0,
                  with_reasons: bool = True,
                  per_institution: bool = False) -> Iterator[NeedResult]:
        """For each need: its best `top` matches (RankKeys when with_reasons is False), its
        first `near_top` near misses, and — to store for refresh() — a Ranking and a
        NearRanking `reserve` entries longer. One pass over the index per need."""
        ix = self._index
        limit = None if top is None else top + reserve
        near_limit = None if near_top is None else near_top + reserve
        for need in needs:
            v = self._view(need)
            passes = ix.passes(v)
            eligible = ix.eligible(passes)
            chosen = self._top(v, eligible, limit)
            keys = [RankKey(k[0], _rate_of(k[1]), ix.items[pos].terms.ref, ix.items[pos].terms.id)
                    for k, pos, _score, _cost in chosen]
            shown = chosen if top is None else chosen[:top]
            if with_reasons:
                matches = [self._build(ix.items[pos], v, score, cost)
                           for _, pos, score, cost in shown]
            else:
                matches = keys[:len(shown)]
            near = self._near(v, passes, near_limit)
            yield NeedResult(
                need, matches, near if near_top is None else near[:near_top],
                Ranking(keys, limit is None or len(keys) < limit),
                NearRanking(near, near_limit is None or len(near) < near_limit), eligible,
                self.institution_best(need, eligible=eligible) if per_institution else [])

    def rank(self, need: NeedFacts, top: int = 10, reserve: int = 5) -> Ranking:
        """The ranking to store for a need: its best top + reserve eligible products."""
        keys = self.rank_keys(need, top + reserve)
        return Ranking(keys, len(keys) < top + reserve)

    def near_ranking(self, need: NeedFacts, top: int = 10, reserve: int = 5) -> NearRanking:
        items = self.near_misses(need, top + reserve)
        return NearRanking(items, len(items) < top + reserve)

    def refresh(self, need: NeedFacts, ranking: Ranking, product_id: int, top: int = 10,
                reserve: int = 5, eligible: bool | None = None) -> Ranking | None:
        """Patch a need's stored ranking after product `product_id` changed (this matcher
        holds its new terms, or lacks it when deleted). None when nothing changed.

        Exact because scores are absolute: only the changed product's key moves, every other
        key stays valid. A full ranking is needed only when the list, no longer complete,
        drops below `top`. `eligible` may come from NeedIndex.impact (else it is checked)."""
        p = self.products.get(product_id)
        if eligible is None:
            eligible = p is not None and is_eligible(need, p, self.ctx)
        new = None
        if eligible and p is not None:
            it = self._index.by_id[product_id]
            score, _, _, cost = self._pair(it, self._view(need))
            new = RankKey(round(score, 1), cost.rate_after, p.ref, p.id)
        keys = ranking.keys
        old = next((k for k in keys if k.product_id == product_id), None)
        if new == old:
            return None
        rest = [k for k in keys if k.product_id != product_id]
        complete = ranking.complete
        # outside a list that is not complete, a product's place is unknown: leave it out
        if new is not None and (complete or (rest and rank_order(new) < rank_order(rest[-1]))):
            rest.append(new)
            rest.sort(key=rank_order)
        if old is None and len(rest) == len(keys):
            return None
        if not complete and len(rest) < top:
            return self.rank(need, top, reserve)
        limit = top + reserve
        return Ranking(rest[:limit], complete and len(rest) <= limit)

    def refresh_products(self, need: NeedFacts, ranking: Ranking, changed: frozenset[int],
                         mask: int, top: int = 10, reserve: int = 5) -> Ranking | None:
        """`refresh` for many products at once (`changed`, at positions `mask` here): what a
        subsidy programme's edit moves, the cost of every product carrying it. None when
        nothing changed.

        Exact for the same reason: the other products' keys stand. Of the changed products
        only the best top + reserve eligible ones can be in the new list; in a list that is
        not complete they enter only above the last key kept, below which the products
        never ranked would have to be compared with them."""
        v = self._view(need)
        ix = self._index
        limit = top + reserve
        eligible = ix.eligible(ix.passes(v)) & mask
        new = [RankKey(k[0], _rate_of(k[1]), ix.items[pos].terms.ref, ix.items[pos].terms.id)
               for k, pos, _s, _c in self._top(v, eligible, limit)]
        rest = [k for k in ranking.keys if k.product_id not in changed]
        if not ranking.complete:
            if not rest:
                return self.rank(need, top, reserve)
            last = rank_order(rest[-1])
            new = [k for k in new if rank_order(k) < last]
        merged = sorted(rest + new, key=rank_order)
        if merged == ranking.keys:
            return None
        if not ranking.complete and len(merged) < top:
            return self.rank(need, top, reserve)
        complete = ranking.complete and len(rest) + eligible.bit_count() <= limit
        return Ranking(merged[:limit], complete)

    def institutions_serving(self, need: NeedFacts, mask: int) -> set[int]:
        """The institutions with a product among `mask`'s positions eligible for the need."""
        ix = self._index
        owner = ix.institution_of
        return {owner[pos] for pos in _bits(self.eligible_mask(need) & mask)}

    def refresh_near(self, need: NeedFacts, near: NearRanking, product_id: int,
                     code: str | None, top: int = 10, reserve: int = 5) -> NearRanking | None:
        """Patch stored near misses after product `product_id` changed; `code` is the one
        condition its new version fails for this need (None: not a near miss), e.g. from
        NeedIndex.impact. None when nothing changed."""
        ix = self._index
        items = near.items
        old = next((x for x in items if x.product_id == product_id), None)
        fresh = None
        if code is not None and product_id in ix.by_id and actionable(code, need):
            it = ix.by_id[product_id]
            rule = RULES_BY_CODE[code]
            verdict = self._verdict(rule, need, it)
            p = it.terms
            fresh = NearMiss(p.id, p.ref, p.institution_id, p.institution_ref, rule.code,
                             rule.label, verdict.reason_zh, verdict.fix_zh)
        if fresh is None and old is None:
            return None
        rest = [x for x in items if x.product_id != product_id]

        def order(x: NearMiss) -> tuple[int, int]:
            return NEAR_RANK[x.rule_code], ix.by_id[x.product_id].pos

        complete = near.complete
        # re-placed even when unchanged: its bound, hence its place, may have moved
        if fresh is not None and (complete or (rest and order(fresh) < order(rest[-1]))):
            rest.append(fresh)
            rest.sort(key=order)
        if rest == items:
            return None
        if not complete and len(rest) < top:
            return self.near_ranking(need, top, reserve)
        limit = top + reserve
        return NearRanking(rest[:limit], complete and len(rest) <= limit)

    # ----- reasons

    def _build(self, it: _Prepared, v: _NeedView, score: float | None = None,
               cost: _Cost | None = None) -> Match:
        """The match with its components and reasons, strongest first."""
        if score is None or cost is None:
            score, _, _, cost = self._pair(it, v)
        w = self.ctx.weights
        p, need = it.terms, v.need
        amount_pts = self._w_amount - it.amt_slope * abs(v.ln_amount - it.ln_amt_mid)
        term_pts = self._w_term - it.term_slope * abs(v.ln_term - it.ln_term_mid)
        extra = self._fit_extra(it, v, cost)
        components = dict(it.static_rounded)
        components["fit"] = round(it.static_parts["fit"][0] + extra, 2)
        components["amount"] = round(amount_pts, 2)
        components["term"] = round(term_pts, 2)
        components["cost"] = round(cost.points, 2)
        subsidy = min(cost.fit, it.fit_room)
        ranked = [
            (it.purpose_pts, self._purpose_reason(it, need.purpose)),
            # a subsidy that applies is fit as well as price: its reason carries both
            (cost.points + subsidy, cost.reason),
            (amount_pts, _range_reason(
                f"金额{v.amount_text}万元{it.amount_text}",
                _closeness(amount_pts, w.amount), v.ln_amount > it.ln_amt_mid, "额度")),
            (term_pts, _range_reason(
                f"期限{need.term_months}个月{it.term_text}",
                _closeness(term_pts, w.term), v.ln_term > it.ln_term_mid, "期限")),
        ]
        for points, signal in it.fit_signals:
            ranked.append((points, self._fit_reason(signal, it, v)))
        ranked.sort(key=_first_desc)
        reasons = [text for _, text in ranked]
        for rule in it.explained:
            verdict = self._verdict(rule, need, it)
            if verdict.applies and verdict.reason_zh not in reasons:
                reasons.append(verdict.reason_zh)
        if need.max_rate is not None:
            reasons.append(self._verdict(_MAX_RATE, need, it).reason_zh)
        caution = fund_caution(need, p, self.ctx) if is_bridge(p) else None
        if caution is not None:
            reasons.append(caution)
        if it.response_reason is not None:
            if it.response_ratio >= 0.5:
                reasons.insert(_position(ranked, it.response_pts), it.response_reason)
            else:
                reasons.append(it.response_reason)      # a weak record is a caution: said last
        return Match(p.id, p.ref, p.institution_id, p.institution_ref, p.version,
                     round(score, 1), reasons, components, cost.rate_after)

    def _fit_reason(self, signal: str, it: _Prepared, v: _NeedView) -> str:
        """Why the product fits this need's situation, for one fit signal (cached)."""
        ent = v.need.enterprise
        verified = signal == "tags" and bool(it.terms.tags_any & ent.verified_tags)
        key = (signal, it.uid, _FIT_FACTS[signal](v.need), verified)
        text = self._text_cache.get(key)
        if text is None:
            if len(self._text_cache) > CACHE_SIZE:
                self._text_cache.clear()
            text = self._text_cache[key] = self._fit_text(signal, it.terms, v.need, verified)
        return text

    def _fit_text(self, signal: str, p: ProductTerms, need: NeedFacts, verified: bool) -> str:
        ent = need.enterprise
        if signal == "loan_kind":
            kind = SHORT_LOAN_KINDS.get(need.loan_kind, need.loan_kind)
            if len(p.loan_kinds) == 1:
                return f"{kind}专属产品，契合本次{kind}需求"
            kinds = "、".join(SHORT_LOAN_KINDS.get(k, k) for k in sorted(p.loan_kinds))
            return f"产品专为{kinds}设计，契合本次{kind}需求"
        if signal == "current_lender":
            return "本机构为企业现贷款机构，可办理无还本续贷等存量客户产品"
        if signal == "core":
            return "供应链产品：" + self.ctx.core_reason(ent.core_enterprise, p.core_enterprises)
        if signal == "tax_grade":
            return f"纳税信用{ent.tax_credit_grade}级，银税互动产品专为纳税信用良好的企业设计"
        if signal == "tags":
            names = _join(label("enterprise_tags", t) for t in sorted(p.tags_any & ent.tags))
            return f"{names}{'（已核验）' if verified else ''}，产品专为此类企业设计"
        if signal == "industry":
            return self._industry_reason(p, ent)
        if signal == "local":
            return f"{ent.district}本地产品"
        sizes = _join(label("sizes", s) for s in _sorted_sizes(p.sizes))
        return f"产品专门面向{sizes}企业"

    def _purpose_reason(self, it: _Prepared, purpose: str) -> str:
        key = (it.uid, purpose)
        text = self._text_cache.get(key)
        if text is None:
            p = it.terms
            k = len(p.purposes)
            if k == 1:
                text = f"产品专为{label('purposes', purpose)}设计"
            elif k <= 3:
                text = f"产品主要用于{_join(label('purposes', c) for c in sorted(p.purposes))}"
            else:
                text = f"综合性产品，用途涵盖{label('purposes', purpose)}等{k}类"
            self._text_cache[key] = text
        return text

    def _industry_reason(self, p: ProductTerms, ent: EnterpriseFacts) -> str:
        code = ent.industry
        matched = max((c for c in p.industries if code.startswith(c)), key=len, default="")
        if len(matched) <= 1:
            return f"产品面向{label('industries', matched)}（{_join(p.industries, 4)}），企业行业{code}符合"
        name = label("industries", matched)
        cluster = f"，属{label('clusters_33618', ent.cluster)}集群" if ent.cluster else ""
        return f"产品聚焦{name}（{matched}），与企业行业{code}相符{cluster}"


# the need facts each fit signal's reason reads (its text cache key)
_FIT_FACTS: dict[str, Callable[[NeedFacts], object]] = {
    "loan_kind": lambda n: n.loan_kind, "current_lender": lambda n: None,
    "core": lambda n: n.enterprise.core_enterprise, "tax_grade": lambda n: n.enterprise.tax_credit_grade,
    "tags": lambda n: n.enterprise.tags, "industry": lambda n: (n.enterprise.industry, n.enterprise.cluster),
    "local": lambda n: n.enterprise.district, "size": lambda n: None,
}


def _first_desc(pair: tuple) -> float:
    return -pair[0]


def _position(ranked: list[tuple[float, str]], points: float) -> int:
    """Where a reason worth `points` goes in reasons sorted by points, descending."""
    return sum(1 for pts, _ in ranked if pts >= points)


def _closeness(points: float, weight: float) -> float:
    return (points / weight - (1 - EDGE_SHARE)) / EDGE_SHARE if weight else 0.0


def _range_reason(text: str, closeness: float, above: bool, what: str) -> str:
    if closeness >= 0.75:
        return f"{text}，贴近产品常规{what}"
    if closeness <= 0.25:
        return f"{text}，接近产品{what}{'上限' if above else '下限'}"
    return text


class NeedResult(NamedTuple):
    need: NeedFacts
    matches: list            # list[Match], or list[RankKey] when with_reasons is False
    near_misses: list[NearMiss]
    ranking: Ranking         # to store: top + reserve keys
    near_ranking: NearRanking
    eligible: int = 0        # mask of every eligible product (Matcher.product_ids)
    institution_best: tuple | list = ()  # RankKeys: each institution's best (per_institution=True)


# --------------------------------------------------------------------------- needs side


class _SortedNeeds:
    """Need positions sorted by one value, with cumulative masks every BLOCK entries."""
    BLOCK = 256
    __slots__ = ("covered", "cum", "nbytes", "pos", "values")

    def __init__(self, pairs: list[tuple], nbytes: int):
        pairs.sort(key=lambda vp: vp[0])
        self.values = [v for v, _ in pairs]
        self.pos = [p for _, p in pairs]
        self.nbytes = nbytes
        self.cum = [0]
        acc = 0
        for start in range(0, len(self.pos), self.BLOCK):
            acc |= _mask(self.pos[start:start + self.BLOCK], nbytes)
            self.cum.append(acc)
        self.covered = acc

    def _prefix(self, k: int) -> int:
        block, rest = divmod(k, self.BLOCK)
        m = self.cum[block]
        if rest:
            m |= _mask(self.pos[block * self.BLOCK:k], self.nbytes)
        return m

    def le(self, x) -> int:
        return self._prefix(bisect_right(self.values, x))

    def ge(self, x) -> int:
        return self.covered & ~self._prefix(bisect_left(self.values, x))


@dataclass(frozen=True, slots=True)
class ProductImpact:
    product_id: int
    eligible: frozenset[int]        # need ids the product serves
    near_miss: Mapping[int, str]    # need id -> the one condition it fails


class NeedIndex:
    """Bitsets over needs: which needs one product serves or nearly serves, without
    evaluating it against each need in turn. Built over the stored needs each time a product
    changed (matching.service.patch_needs)."""

    def __init__(self, needs: Sequence[NeedFacts], ctx: MatchContext):
        self.ctx = ctx
        self.needs = list(needs)
        self.ids = [n.id for n in self.needs]
        nb = self.nbytes = (len(self.needs) + 7) >> 3
        self.all = (1 << len(self.needs)) - 1

        def masks(key) -> dict:
            by: dict = {}
            for i, n in enumerate(self.needs):
                for value in key(n):
                    by.setdefault(value, []).append(i)
            return {k: _mask(v, nb) for k, v in by.items()}

        self.purpose = masks(lambda n: (n.purpose,))
        self.modes = masks(lambda n: n.guarantee_modes)
        self.district = masks(lambda n: (n.enterprise.district,))
        self.size = masks(lambda n: (n.enterprise.size,))
        self.tag = masks(lambda n: n.enterprise.tags)
        self.industry = masks(lambda n: (n.enterprise.industry,) if n.enterprise.industry else ())
        self.grade = masks(lambda n: (n.enterprise.tax_credit_grade,)
                           if n.enterprise.tax_credit_grade is not None else ())
        self.kind = masks(lambda n: (n.loan_kind,))
        self.core = masks(lambda n: (n.enterprise.core_enterprise,)
                          if n.enterprise.core_enterprise else ())
        self.lender = masks(lambda n: (n.current_lender_id,)
                            if n.current_lender_id is not None else ())
        rows = list(enumerate(self.needs))
        self.amount = _SortedNeeds([(n.amount_wan, i) for i, n in rows], nb)
        self.term = _SortedNeeds([(n.term_months, i) for i, n in rows], nb)
        self.age = _SortedNeeds([(age_months(n.enterprise.founded, n.created), i)
                                 for i, n in rows], nb)
        self.revenue = _SortedNeeds([(n.enterprise.revenue_wan, i) for i, n in rows
                                     if n.enterprise.revenue_wan is not None], nb)
        self.max_rate = _SortedNeeds([(n.max_rate, i) for i, n in rows
                                      if n.max_rate is not None], nb)
        self.no_max_rate = self.all & ~self.max_rate.covered
        self._prefix_cache: dict[str, int] = {}
        self._core_cache: dict[tuple, int] = {}
        self._fund_cache: dict[str, int] = {}

    def _any(self, table: dict, codes: Iterable) -> int:
        m = 0
        for c in codes:
            m |= table.get(c, 0)
        return m

    def _industry_prefix(self, prefix: str) -> int:
        m = self._prefix_cache.get(prefix)
        if m is None:
            m = self._any(self.industry, (c for c in self.industry if c.startswith(prefix)))
            self._prefix_cache[prefix] = m
        return m

    def _funded(self, p: ProductTerms) -> int:
        """The needs a bridge fund serves (its programmes' need-side conditions)."""
        governing = fund_programs(p, self.ctx.programs, self.ctx.today)
        if not governing:
            return self.all
        m = 0
        for program in governing:
            admitted = self._fund_cache.get(program.code)
            if admitted is None:
                admitted = self._fund_cache[program.code] = _mask(
                    (i for i, n in enumerate(self.needs)
                     if need_side_refusal(program, n, unknown_passes=True) is None),
                    self.nbytes)
            m |= admitted
        return m

    def _core_names(self, names: tuple[str, ...]) -> int:
        m = self._core_cache.get(names)
        if m is None:
            m = self._any(self.core, (s for s in self.core
                                      if any(self.ctx.same_core(s, n) for n in names)))
            self._core_cache[names] = m
        return m

    def passes(self, p: ProductTerms) -> list[int]:
        """Masks of the needs each condition admits, aligned with CONDITIONS."""
        every = self.all
        by_code = {
            "purpose": self._any(self.purpose, p.purposes),
            "amount": self.amount.ge(p.amount_min_wan) & self.amount.le(p.amount_max_wan),
            "term": self.term.ge(p.term_min_months) & self.term.le(p.term_max_months),
            "guarantee": (every if "credit" in p.guarantee_modes
                          else self._any(self.modes, p.guarantee_modes)),
            "district": self._any(self.district, p.districts) if p.districts else every,
            "size": self._any(self.size, p.sizes) if p.sizes else every,
            "tags": self._any(self.tag, p.tags_any) if p.tags_any else every,
            "industry": (self._any(self._prefix_masks(p.industries), p.industries)
                         if p.industries else every),
            "min_years": (self.age.ge(required_months(p.min_years))
                          if p.min_years is not None else every),
            "min_revenue": (self.revenue.ge(p.min_revenue_wan)
                            if p.min_revenue_wan is not None else every),
            "tax_grade": (self._any(self.grade, p.tax_credit_grades)
                          if p.tax_credit_grades else every),
            "loan_kind": self._any(self.kind, p.loan_kinds) if p.loan_kinds else every,
            "core_enterprise": (self._core_names(tuple(p.core_enterprises))
                                if p.core_enterprises else every),
            "fund": self._funded(p) if is_bridge(p) else every,
            "max_rate": self.no_max_rate | self.max_rate.ge(p.rate_min),
            "existing_customer": (self.lender.get(p.institution_id, 0)
                                  if p.existing_customers_only else every),
        }
        return [by_code[r.code] for r in CONDITIONS]

    def _prefix_masks(self, prefixes: Iterable[str]) -> dict[str, int]:
        return {c: self._industry_prefix(c) for c in prefixes}

    def impact(self, p: ProductTerms | None) -> ProductImpact | None:
        """The needs `p` serves, and those it misses by exactly one condition."""
        if p is None:
            return None
        if not p.active:
            return ProductImpact(p.id, frozenset(), {})
        every = self.all
        fails = [every & ~m for m in self.passes(p)]
        ones = twos = 0
        for f in fails:
            twos |= ones & f
            ones |= f
        eligible = {self.ids[i] for i in _bits(every & ~ones)}
        near: dict[int, str] = {}
        exact = ones & ~twos
        for rule, f in zip(CONDITIONS, fails):
            for i in _bits(exact & f):
                if actionable(rule.code, self.needs[i]):
                    near[self.ids[i]] = rule.code
        return ProductImpact(p.id, frozenset(eligible), near)


# --------------------------------------------------------------------------- output


def to_spec_json(need_ref: str, matches: Sequence[Match]) -> dict:
    """The spec's "Match output" object (exchange-format.md): numbers as JSON numbers,
    estimated_rate left out when unknown."""
    out = []
    for m in matches:
        row = {"product_ref": m.product_ref, "institution_ref": m.institution_ref,
               "score": float(m.score), "reasons": list(m.reasons)}
        if m.estimated_rate is not None:
            row["estimated_rate"] = float(m.estimated_rate)
        out.append(row)
    return {"need_ref": need_ref, "matches": out}


Matcher.to_spec_json = staticmethod(to_spec_json)
