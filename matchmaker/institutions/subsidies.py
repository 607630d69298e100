"""Expected cost of a loan after the subsidy programmes an enterprise qualifies for.

Pure (no Flask, no database). A programme is data (`SubsidyProgram`): who qualifies, what it
pays, to whom, from when to when, with what it stacks, and the sentence of the document it
implements. Administrators write and version them (policy domain); callers pass the records
they loaded. `default_programs()` builds the four programmes of the packaged vocabulary
(`data/vocabulary.json`, restated from the documents) for tests and benchmarks; the database
rows are written by the migrations the same way.

What a programme pays (`benefit`):
- rate_share  — a share of the actual loan rate (技改贴息: 不超实际利率的50%);
- rate_points — percentage points off the rate, never below 0 (中央财政贴息2.5%);
- fee_share   — a share of the annual guarantee fee, only where the fee is at most
                `max_fee_rate` (担保费补助);
- use_fee     — a bridge fund's use fee (应急转贷周转金使用费), charged by the day: waived for
                the holders of `waiver_tags`, reduced by `reduced_share` (when an administrator
                sets the figure) for 中小微企业.
Caps (settings, 万元): `cap_wan_per_year` on the yearly saving; `cap_wan` on the total of one
need (a 技改 project, a guarantee), or for a bridge the most the fund bridges; an enterprise-wide
`cap_wan_per_enterprise` is applied to the one need in view (its other needs are not known here).

Who receives it (`payee`): only an enterprise-paid programme lowers the enterprise's cost. The
担保费补助 is paid to the 融资担保机构 (7号 四（一）): it is shown as a note, never as the
enterprise's saving.

Who qualifies (`eligibility`, all that are set must hold): purposes (the need's), product_purposes
and institution_kinds (the product's), loan_kinds, industries (code prefixes), sizes (the size
derived by the 300号 rule, never the declared one), tags (held AND verified by an organizer),
ownership (the enterprise's 控股情况; unknown satisfies no condition on it). `any_of` lists
alternatives, each a set of the enterprise's criteria: one of them must hold in full besides
the other keys (the bridge fund: 制造业中小微企业, or a verified 双百企业 that is large and
private). For a bridge, a need that qualifies for none of the fund's programmes is no match
at all (`fund_refusal`, the matcher's `fund` condition), not merely one without the waiver;
there, what is not known yet (a tag held but unverified, no ownership or size stated) does not
refuse: the match is kept and says what to verify (`matcher.fund_caution`).

Stacking is off unless a programme names the other in `stacks_with` (either side suffices).
Where two programmes that do not stack both apply, the one that saves the enterprise more is
taken and the other is named as not stacked.

Choices made here, stated once:
- Base rate: the midpoint of the product's range, the unbiased guess without the bank's
  pricing grid; when the need states a `max_rate` at or above `rate_min` but below that
  midpoint, the enterprise's ceiling.
- A guarantee fee (the platform's typical rate, a setting) is counted in the enterprise's cost
  when the product's institution is a guarantee institution, or when the only guarantee mode
  need and product share is `guarantee` and the product carries guarantee_fee_subsidy (a
  bank–guarantor product, 银担合作).
- Programmes apply in a fixed order of their benefit: points, then the share of the rate that
  remains (the 实际利率 the enterprise pays), then the fee share, then the use fee.
- A bridge (a product of a `bridge_fund` institution) is used for days: its rate is an
  annualised use fee, shown as a fee per day for the days used; the matcher does not rank it as
  an annual loan cost (`CostEstimate.per_day`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from ..policy.terms import BENEFITS, OWNERSHIPS, describe_alternative

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
DAYS_A_YEAR = Decimal(360)          # 日利率 = 年利率 / 360 (the banks' convention)
DEFAULT_GUARANTEE_FEE_RATE = Decimal("1.0")

TECH_UPGRADE_INTEREST = "tech_upgrade_interest"
EQUIPMENT_RENEWAL_RELENDING = "equipment_renewal_relending"
GUARANTEE_FEE_SUBSIDY = "guarantee_fee_subsidy"
BRIDGE_FEE_WAIVER = "bridge_fee_waiver"
BRIDGE_KIND = "bridge_fund"
SME_SIZES = ("medium", "small", "micro")

BENEFIT_ORDER = tuple(BENEFITS)

# Who the 应急转贷 fund serves (7号 四（二）): 制造业中小微企业, or a large private (民营)
# enterprise that an organizer verified as a 双百企业; the size is the 300号 one.
BRIDGE_ELIGIBILITY = {
    "institution_kinds": [BRIDGE_KIND],
    "any_of": [{"industries": ["C"], "sizes": list(SME_SIZES)},
               {"sizes": ["large"], "tags": ["double_hundred"], "ownership": ["private"]}],
}

# The structure of the four programmes of the vocabulary, from the sentences they implement
# (the vocabulary holds their figures, dates and quotes). 渝经信规范〔2024〕7号 speaks of
# 制造业 projects and enterprises (industries C); 永金组发〔2023〕1号 of 再贷款 for bank loans.
SEEDED = {
    TECH_UPGRADE_INTEREST: {
        "benefit": "rate_share", "payee": "enterprise", "basis": "year",
        # a loan: a bank's, or one a guarantor arranges with its bank (银担合作); not leasing
        "eligibility": {"purposes": ["tech_upgrade"], "institution_kinds": ["bank", "guarantee"],
                        "industries": ["C"]},
        "how_to_apply": "项目获得“技改专项贷”支持后，由企业按年度向区县经济信息部门申报贴息，"
                        "经审核后拨付。",
    },
    EQUIPMENT_RENEWAL_RELENDING: {
        "benefit": "rate_points", "payee": "enterprise", "basis": "year",
        "eligibility": {"purposes": ["tech_upgrade"], "institution_kinds": ["bank"]},
        "how_to_apply": "向承办设备更新改造专项再贷款的银行申请贷款，贴息由中央财政通过"
                        "贷款银行落实。",
    },
    GUARANTEE_FEE_SUBSIDY: {
        "benefit": "fee_share", "payee": "guarantor", "basis": "year",
        "eligibility": {"purposes": ["tech_upgrade"], "industries": ["C"]},
        "how_to_apply": "由提供担保的融资担保机构申报，补助拨付给担保机构；企业可向担保机构"
                        "了解是否让利。",
    },
    BRIDGE_FEE_WAIVER: {
        "benefit": "use_fee", "payee": "enterprise", "basis": "day",
        # 为符合条件…的制造业中小微企业、双百企业中的大型民营企业提供…应急周转资金支持
        "eligibility": BRIDGE_ELIGIBILITY,
        "how_to_apply": "贷款到期前，经合作银行同意续贷后向应急转贷资金管理机构申请；"
                        "专精特新中小企业提交认定文件，免收使用费。",
    },
}


@dataclass(frozen=True, slots=True)
class SubsidyProgram:
    code: str
    label: str
    source: str
    settings: Mapping[str, Any]
    effective_from: date
    effective_to: date | None = None
    benefit: str = "rate_share"
    payee: str = "enterprise"
    basis: str = "year"
    eligibility: Mapping[str, Any] = field(default_factory=dict)
    stacks_with: tuple[str, ...] = ()
    quote: str = ""
    how_to_apply: str = ""
    version: int = 1

    def in_force(self, day: date) -> bool:
        """True on every day from effective_from to effective_to, both included."""
        return self.effective_from <= day and (self.effective_to is None
                                               or day <= self.effective_to)

    def number(self, key: str, default: Decimal | int | str | None = None) -> Decimal:
        """A numeric setting as an exact Decimal (JSON gives floats: go through str)."""
        value = self.settings.get(key, default)
        if value is None:
            raise KeyError(f"subsidy program {self.code}: setting {key} is missing")
        return value if isinstance(value, Decimal) else Decimal(str(value))

    def maybe(self, key: str) -> Decimal | None:
        value = self.settings.get(key)
        return None if value is None else self.number(key)

    def stacks(self, other: SubsidyProgram) -> bool:
        return other.code in self.stacks_with or self.code in other.stacks_with

    @property
    def pays_enterprise(self) -> bool:
        return self.payee == "enterprise"


@dataclass(frozen=True, slots=True)
class AppliedRule:
    code: str
    label_zh: str
    saving_rate: Decimal            # percentage points of yearly cost saved
    saving_wan_per_year: Decimal
    text_zh: str                    # the rule as applied, in Chinese, with its figures


@dataclass(frozen=True, slots=True)
class CostEstimate:
    base_rate: Decimal              # the loan rate assumed, annual %
    basis_zh: str                   # why that rate
    guarantee_fee_rate: Decimal     # annual %, 0 when no guarantee fee is counted
    rate_before: Decimal            # base_rate + guarantee_fee_rate
    rate_after: Decimal             # after the programs, never below 0
    cost_wan_before: Decimal        # yearly, 万元
    cost_wan_after: Decimal
    saving_wan_per_year: Decimal
    applied: tuple[AppliedRule, ...] = ()
    not_applied: tuple[str, ...] = field(default=())   # listed programs that did not apply, why
    notes: tuple[str, ...] = ()     # programmes that pay someone else (the guarantor)
    per_day: bool = False           # a bridge: a use fee by the day, not an annual loan cost
    fee_wan_per_day_before: Decimal | None = None
    fee_wan_per_day: Decimal | None = None


def default_programs() -> tuple[SubsidyProgram, ...]:
    """The packaged vocabulary's programmes, structured as SEEDED says."""
    return _default_programs()


@cache
def _default_programs() -> tuple[SubsidyProgram, ...]:
    from .. import vocab  # package data, loaded once; kept out of module import

    return tuple(program_from_vocabulary(entry) for entry in vocab.entries("subsidy_programs"))


def program_from_vocabulary(entry: Mapping[str, Any]) -> SubsidyProgram:
    shape = SEEDED.get(entry["code"], {})
    end = entry.get("valid_to")
    return SubsidyProgram(
        code=entry["code"], label=entry["label"], source=entry["source"],
        settings=dict(entry.get("settings") or {}),
        effective_from=date.fromisoformat(entry["valid_from"]),
        effective_to=date.fromisoformat(end) if end else None,
        benefit=shape.get("benefit", "rate_share"), payee=shape.get("payee", "enterprise"),
        basis=shape.get("basis", "year"), eligibility=dict(shape.get("eligibility", {})),
        stacks_with=(), quote=entry.get("quote", ""),
        how_to_apply=shape.get("how_to_apply", ""))


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def pct(value: Decimal) -> str:
    return f"{q(value)}%"


def wan(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fee_wan(value: Decimal) -> str:
    """A daily fee in 万元: four places (0.0123万元 = 123元)."""
    return wan(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def is_bridge(product) -> bool:
    return product.institution_kind == BRIDGE_KIND


def base_rate(need, product) -> tuple[Decimal, str]:
    """The loan rate to expect, and the reason for it in Chinese."""
    mid = (product.rate_min + product.rate_max) / 2
    span = f"{pct(product.rate_min)}–{pct(product.rate_max)}"
    ceiling = need.max_rate
    if ceiling is not None and product.rate_min <= ceiling < mid:
        return ceiling, f"按企业可接受利率上限{pct(ceiling)}估算（产品利率{span}）"
    return mid, f"按产品利率区间{span}的中值{pct(mid)}估算"


def guarantee_fee_possible(product) -> bool:
    """True when some need's loan under this product may carry a guarantee fee
    (guarantee_fee_applies for some need): what a change of the fee rate can move."""
    return product.institution_kind == "guarantee" or \
        GUARANTEE_FEE_SUBSIDY in product.subsidy_programs


def guarantee_fee_applies(need, product) -> bool:
    """True when the loan will carry a guarantee institution's fee (see module docstring)."""
    if product.institution_kind == "guarantee":
        return True
    shared = need.guarantee_modes & product.guarantee_modes
    return shared == {"guarantee"} and GUARANTEE_FEE_SUBSIDY in product.subsidy_programs


def _by_code(programs) -> dict[str, SubsidyProgram]:
    if isinstance(programs, Mapping):
        return dict(programs)
    return {p.code: p for p in programs}


def _labels(kind: str, codes) -> str:
    from .. import vocab

    return "、".join(vocab.label(kind, c) for c in codes)


# --- who qualifies --------------------------------------------------------------------------

def derived_size(enterprise) -> str | None:
    """The size that decides eligibility: the 300号 result, never a declared size."""
    return getattr(enterprise, "derived_size", None)


def need_side_refusal(program: SubsidyProgram, need, *, unknown_passes: bool = False) -> str | None:
    """Why the need or its enterprise does not qualify (Chinese), or None when it does.

    `unknown_passes`: what the platform does not know (a tag held but not yet verified, an
    ownership or a 300号 size nobody stated) does not refuse. The fund's condition on who may
    be matched at all reads it so; what a programme pays never does."""
    rules = program.eligibility
    refusal = _criteria_refusal(rules, need, unknown_passes)
    if refusal is None and rules.get("any_of"):
        refusals = [_criteria_refusal(alt, need, unknown_passes) for alt in rules["any_of"]]
        if all(r is not None for r in refusals):
            return "须符合以下条件之一：" + "；或".join(
                describe_alternative(alt) for alt in rules["any_of"])
    return refusal


def _criteria_refusal(rules: Mapping[str, Any], need, unknown_passes: bool = False) -> str | None:
    e = need.enterprise
    size = derived_size(e)
    tags = set(e.tags if unknown_passes else e.verified_tags)
    ownership = getattr(e, "ownership", None)
    if rules.get("purposes") and need.purpose not in rules["purposes"]:
        return "融资用途不在支持范围内（限" + _labels("purposes", rules["purposes"]) + "）"
    if rules.get("loan_kinds") and need.loan_kind not in rules["loan_kinds"]:
        return "贷款类型不在支持范围内（限" + _labels("loan_kinds", rules["loan_kinds"]) + "）"
    if rules.get("industries") and not any((e.industry or "").startswith(c)
                                           for c in rules["industries"]):
        return "仅支持" + ("制造业" if list(rules["industries"]) == ["C"]
                           else "、".join(rules["industries"]) + "行业") + "企业"
    if rules.get("sizes") and size not in rules["sizes"] and not (
            unknown_passes and size is None):
        return ("企业规模（按工信部联企业〔2011〕300号标准测算）不在支持范围内（限"
                + _labels("sizes", rules["sizes"]) + "企业）")
    if rules.get("tags") and not set(rules["tags"]) & tags:
        return "须经组织方核验具备以下资质之一：" + _labels("enterprise_tags", rules["tags"])
    if rules.get("ownership") and ownership not in rules["ownership"] and not (
            unknown_passes and ownership is None):
        return "所有制类型不在支持范围内（限" + "、".join(
            OWNERSHIPS.get(o, o) for o in rules["ownership"]) + "企业）"
    return None


def fund_programs(product, programs, today: date) -> list[SubsidyProgram]:
    """The programmes that say whom a bridge fund serves: in force on `today`, paying a use
    fee (应急转贷) and admitting the product. Its own declaration does not matter: the fund's
    condition holds whether or not the fund listed the waiver on its product."""
    if not is_bridge(product):
        return []
    values = programs.values() if isinstance(programs, Mapping) else programs
    return [p for p in values if p.benefit == "use_fee" and p.in_force(today)
            and product_side_refusal(p, product) is None]


def fund_refusal(need, product, programs, today: date) -> str | None:
    """Why a bridge fund cannot serve this need (Chinese), or None: the need qualifies for
    one of the fund's programmes, or the product is no bridge, or no programme says whom the
    fund serves."""
    funds = fund_programs(product, programs, today)
    # a firm the platform cannot yet place (a 双百 tag not verified, no ownership stated) is
    # not refused: the fund decides on the papers; only what is known rules it out
    refusals = [need_side_refusal(p, need, unknown_passes=True) for p in funds]
    if not refusals or any(r is None for r in refusals):
        return None
    return f"{funds[0].label}：{refusals[0]}"


def product_side_refusal(program: SubsidyProgram, product) -> str | None:
    rules = program.eligibility
    if rules.get("institution_kinds") and product.institution_kind not in \
            rules["institution_kinds"]:
        return "产品所属机构类型不在支持范围内（限" + _labels(
            "institution_kinds", rules["institution_kinds"]) + "）"
    if rules.get("product_purposes") and not set(rules["product_purposes"]) & set(
            product.purposes):
        return "产品用途不在支持范围内"
    return None


def need_signature(programs: Iterable[SubsidyProgram], need) -> tuple:
    """Everything about a need that the programmes' cost depends on, apart from its amount,
    term, rate ceiling and guarantee modes: the matcher caches costs by it."""
    e = need.enterprise
    out = []
    for p in programs:
        ok = need_side_refusal(p, need) is None
        waiver = bool(set(p.settings.get("waiver_tags") or ()) & set(e.verified_tags))
        out.append((ok, waiver, derived_size(e) in SME_SIZES))
    return tuple(out)


# --- what it pays ---------------------------------------------------------------------------

@dataclass(slots=True)
class _Running:
    """The cost as programmes are applied: interest and fee rates, yearly 万元."""
    amount: Decimal
    term: int
    interest: Decimal
    fee: Decimal
    applied: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _yearly_cap(program: SubsidyProgram, run: _Running) -> tuple[Decimal | None, str]:
    """The tightest cap on the yearly saving (万元), and how it reads."""
    caps = []
    per_year = program.maybe("cap_wan_per_year")
    if per_year is not None:
        caps.append((per_year, f"每年{wan(per_year)}万元上限"))
    total = program.maybe("cap_wan") if program.benefit != "use_fee" else None
    if total is not None:
        years = max(Decimal(run.term) / 12, Decimal(1))
        caps.append((total / years, f"最高{wan(total)}万元上限"))
    per_enterprise = program.maybe("cap_wan_per_enterprise")
    if per_enterprise is not None:
        caps.append((per_enterprise, f"单户企业{wan(per_enterprise)}万元上限"))
    if not caps:
        return None, ""
    return min(caps, key=lambda c: c[0])


def _capped(program, run, cut: Decimal, head: str, verb: str) -> tuple[Decimal, Decimal, str]:
    saving = run.amount * cut / HUNDRED
    cap, cap_text = _yearly_cap(program, run)
    if cap is not None and saving > cap:
        text = (f"{head}，应{verb}{q(saving)}万元，超过{cap_text}，按每年{q(cap)}万元{verb}"
                f"（折合年利率{pct(cap * HUNDRED / run.amount)}）")
        return cap * HUNDRED / run.amount, cap, text
    tail = f"（未超过{cap_text}）" if cap is not None else ""
    return cut, saving, f"{head}，年{verb}额{q(saving)}万元{tail}"


def _rate_points(program, run):
    points = program.number("points")
    cut = min(points, run.interest)
    was = run.interest
    head = f"{program.label}：贴息{wan(points)}个百分点，实际利率由{pct(was)}降至"
    cut, saving, _ = _capped(program, run, cut, "", "贴息")
    floor = "（贴息不超过实际利率，利率不低于0）" if cut < points and cut == was else ""
    run.interest -= cut
    run.applied.append(AppliedRule(
        program.code, program.label, q(cut), q(saving),
        f"{head}{pct(run.interest)}，年贴息额{q(saving)}万元{floor}"))


def _rate_share(program, run):
    share = program.number("share_of_rate")
    actual = run.interest
    head = f"{program.label}：按实际利率{pct(actual)}的{wan(share * HUNDRED)}%贴息"
    cut, saving, text = _capped(program, run, actual * share, head, "贴息")
    run.interest -= cut
    run.applied.append(AppliedRule(program.code, program.label, q(cut), q(saving), text))


def _fee_share(program, run):
    if run.fee <= 0:
        run.skipped.append(f"{program.label}：未经融资担保机构担保")
        return
    share = program.number("share_of_fee")
    ceiling = program.maybe("max_fee_rate")
    if not program.pays_enterprise:
        condition = f"年化担保费率不超过{pct(ceiling)}的，" if ceiling is not None else ""
        run.notes.append(f"{program.label}：{condition}由融资担保机构申请，按不超过担保费率的"
                         f"{wan(share * HUNDRED)}%补助给担保机构，不直接降低企业成本")
        return
    if ceiling is not None and run.fee > ceiling:
        run.skipped.append(f"{program.label}：担保费率{pct(run.fee)}高于{pct(ceiling)}")
        return
    head = f"{program.label}：按担保费率{pct(run.fee)}的{wan(share * HUNDRED)}%补助"
    cut, saving, text = _capped(program, run, run.fee * share, head, "补助")
    run.fee -= cut
    run.applied.append(AppliedRule(program.code, program.label, q(cut), q(saving), text))


def _use_fee(program, run, need):
    """A bridge's use fee: waived for the holders of waiver_tags (verified), else reduced by
    reduced_share for 中小微企业 when set; on at most cap_wan of the amount."""
    e = need.enterprise
    tags = program.settings.get("waiver_tags") or ()
    reduced = program.maybe("reduced_share")
    if set(tags) & set(e.verified_tags):
        share, who = Decimal(1), _labels("enterprise_tags", sorted(set(tags) & set(
            e.verified_tags)))
    elif reduced is not None and derived_size(e) in SME_SIZES:
        share, who = reduced, "中小微企业"
    else:
        if tags and set(tags) & set(e.tags):
            run.skipped.append(f"{program.label}：企业资质尚未经组织方核验，暂不能免收使用费")
        elif reduced is None:
            run.skipped.append(f"{program.label}：免收使用费限经核验的"
                               + _labels("enterprise_tags", tags)
                               + "；中小微企业阶段性减免以转贷机构公布标准为准")
        else:
            run.skipped.append(f"{program.label}：企业不符合使用费减免条件")
        return
    cap = program.maybe("cap_wan")
    covered = run.amount if cap is None else min(run.amount, cap)
    cut = run.interest * share * covered / run.amount
    saving = covered * run.interest * share / HUNDRED
    part = "" if covered == run.amount else f"（超过{wan(cap)}万元上限的部分照常收费）"
    what = "免收" if share == 1 else f"减免{wan(share * HUNDRED)}%"
    run.applied.append(AppliedRule(
        program.code, program.label, q(cut), q(saving),
        f"{program.label}：{who}{what}{wan(covered)}万元应急转贷资金的使用费{part}"))
    run.interest -= cut


_HANDLERS = {"rate_points": _rate_points, "rate_share": _rate_share, "fee_share": _fee_share}


def _apply(program, need, run):
    if program.benefit == "use_fee":
        _use_fee(program, run, need)
    else:
        _HANDLERS[program.benefit](program, run)


def _order(program: SubsidyProgram) -> tuple:
    return (BENEFIT_ORDER.index(program.benefit) if program.benefit in BENEFIT_ORDER else 99,
            program.code)


def estimate_cost(need, product, programs: Iterable[SubsidyProgram] | Mapping[str, SubsidyProgram],
                  today: date,
                  guarantee_fee_rate: Decimal = DEFAULT_GUARANTEE_FEE_RATE) -> CostEstimate:
    """The enterprise's cost under `product`, before and after each programme the product
    carries (confirmed by an organizer: the caller passes only those), that is in force on
    `today`, and that the need and enterprise qualify for."""
    rate, basis = base_rate(need, product)
    bridge = is_bridge(product)
    fee = guarantee_fee_rate if not bridge and guarantee_fee_applies(need, product) else ZERO
    term = getattr(need, "term_months", 12) or 12
    by_code = _by_code(programs)
    listed = list(product.subsidy_programs)
    qualifying: list[SubsidyProgram] = []
    skipped, notes = [], []
    for code in listed:
        program = by_code.get(code)
        if program is None or not program.in_force(today):
            skipped.append(f"{code}：不在有效期内或未启用")
            continue
        refusal = product_side_refusal(program, product) or need_side_refusal(program, need)
        if refusal:
            skipped.append(f"{program.label}：{refusal}")
            continue
        qualifying.append(program)
    chosen = _stack(qualifying, need, rate, fee, term, skipped)
    run = _Running(amount=need.amount_wan, term=term, interest=rate, fee=fee,
                   skipped=skipped, notes=notes)
    for program in sorted(chosen, key=_order):
        _apply(program, need, run)
    before = rate + fee
    after = max(ZERO, run.interest + run.fee)
    amount = need.amount_wan
    cost_before, cost_after = amount * before / HUNDRED, amount * after / HUNDRED
    daily_before = daily_after = None
    if bridge:
        daily_before = amount * before / HUNDRED / DAYS_A_YEAR
        daily_after = amount * after / HUNDRED / DAYS_A_YEAR
    return CostEstimate(
        base_rate=q(rate), basis_zh=basis, guarantee_fee_rate=q(fee),
        rate_before=q(before), rate_after=q(after),
        cost_wan_before=q(cost_before), cost_wan_after=q(cost_after),
        saving_wan_per_year=q(cost_before - cost_after),
        applied=tuple(run.applied), not_applied=tuple(run.skipped), notes=tuple(run.notes),
        per_day=bridge, fee_wan_per_day_before=daily_before, fee_wan_per_day=daily_after)


def _stack(qualifying, need, rate, fee, term, skipped) -> list[SubsidyProgram]:
    """The programmes taken together: the best for the enterprise first, then each further
    one that stacks with every one taken (off unless a programme says so)."""
    if len(qualifying) <= 1:
        return qualifying

    def alone(p):
        run = _Running(amount=need.amount_wan, term=term, interest=rate, fee=fee)
        _apply(p, need, run)
        return sum((a.saving_wan_per_year for a in run.applied), ZERO)

    ranked = sorted(qualifying, key=lambda p: (-alone(p), _order(p)))
    chosen: list[SubsidyProgram] = []
    for p in ranked:
        clash = next((c for c in chosen if c.pays_enterprise and p.pays_enterprise
                      and not p.stacks(c)), None)
        if clash is None:
            chosen.append(p)
        else:
            skipped.append(f"{p.label}：不与{clash.label}叠加享受，按对企业更优的"
                           f"{clash.label}计算")
    return chosen


def describe_daily(est: CostEstimate, amount_wan: Decimal) -> str:
    """A bridge's fee in Chinese: by the day, for the days used."""
    if est.fee_wan_per_day is None:
        return ""
    if est.rate_after <= 0:
        return (f"应急转贷使用费按实际使用天数计收，本笔{wan(amount_wan)}万元免收使用费"
                f"（原年化{pct(est.rate_before)}，约{fee_wan(est.fee_wan_per_day_before)}万元/天）")
    cut = ""
    if est.applied:
        cut = f"（减免前约{fee_wan(est.fee_wan_per_day_before)}万元/天）"
    return (f"应急转贷使用费按实际使用天数计收：年化{pct(est.rate_after)}，{wan(amount_wan)}万元"
            f"约{fee_wan(est.fee_wan_per_day)}万元/天{cut}，不按全年贷款成本计")


# --- bounds the matcher uses to skip work ----------------------------------------------------

def cost_lower_bound(product, programs: Mapping[str, SubsidyProgram] | Iterable[SubsidyProgram],
                     today: date) -> Decimal:
    """A rate no need can get below under this product (any need, no caps, every programme
    stacked): lets the matcher stop scanning candidates early. Fees are taken as 0."""
    in_force = {c: p for c, p in _by_code(programs).items() if p.in_force(today)}
    listed = [in_force[c] for c in product.subsidy_programs
              if c in in_force and in_force[c].pays_enterprise
              and product_side_refusal(in_force[c], product) is None]
    rate = product.rate_min
    for p in sorted(listed, key=_order):
        if p.benefit == "rate_points":
            rate = max(ZERO, rate - p.number("points"))
        elif p.benefit == "rate_share":
            rate = rate * max(ZERO, 1 - p.number("share_of_rate"))
        elif p.benefit == "use_fee":
            rate = ZERO
    return max(ZERO, rate)


def amount_sensitivity(product, programs, today: date,
                       guarantee_fee_rate: Decimal = DEFAULT_GUARANTEE_FEE_RATE) -> Decimal | None:
    """Smallest loan amount (万元) at which the cost could depend on the amount (or the term)
    for this product, or None when it cannot: below it, rate_after does not depend on them."""
    if is_bridge(product):
        return ZERO                 # the fee by the day is in 万元
    in_force = {c: p for c, p in _by_code(programs).items() if p.in_force(today)}
    listed = [in_force[c] for c in product.subsidy_programs
              if c in in_force and in_force[c].pays_enterprise]
    limits = []
    top_rate = max(product.rate_max, product.rate_min) + guarantee_fee_rate
    for p in listed:
        if p.maybe("cap_wan") is not None:
            return ZERO             # a cap on the need's total: the term matters too
        share = p.maybe("share_of_rate") or p.maybe("share_of_fee") or ZERO
        points = p.maybe("points") or ZERO
        per_point = max(top_rate * share, points)
        for key in ("cap_wan_per_year", "cap_wan_per_enterprise"):
            cap = p.maybe(key)
            if cap is not None and per_point > 0:
                limits.append(cap * HUNDRED / per_point)
    if len(listed) > 1:
        return ZERO                 # which of two non-stacking programmes wins can turn on it
    return min(limits) if limits else None
