"""Expected yearly cost of a loan after the subsidy programs an enterprise qualifies for.

Pure (no Flask, no database): programs are data, `SubsidyProgram` records whose settings
(shares, caps, points) and validity dates administrators edit; callers pass the records they
loaded. `DEFAULT_PROGRAMS` holds the values of the packaged vocabulary for tests and
benchmarks.

Programs (vocabulary `subsidy_programs`):
- tech_upgrade_interest — 渝经信规范〔2024〕7号 四（一）: "对获得'技改专项贷'支持的制造业项目，
  按照不超项目实际贷款利率的50%给予贴息补助，单个企业项目每年贴息不超1000万元".
- equipment_renewal_relending — 永金组发〔2023〕1号 五（一）: "落实好中央财政贴息2.5%政策".
- guarantee_fee_subsidy — 渝经信规范〔2024〕7号 四（一）: "年化担保费率不超过1%的融资担保机构，
  按不超过实际担保费率的50%给予最高不超100万元补助". The vocabulary counts this as lowering
  the enterprise's cost (the guarantor passes it on), and so do we.
- bridge_fee_waiver — 渝经信规范〔2024〕7号 四（二）: "对符合条件的国家和市级专精特新中小企业
  免收应急转贷周转金使用费"; at most 8000万元 (双百企业), 3000万元 otherwise.

Choices made here, stated once:
- Base rate: the midpoint of the product's range, the unbiased guess without the bank's
  pricing grid; when the need states a `max_rate` at or above `rate_min` but below that
  midpoint, the enterprise's ceiling (it would not take the loan above it, and the product
  can price there).
- A guarantee fee (default 1.0 % a year, the ceiling 渝府办发〔2020〕76号 (十) asks policy
  guarantors to reach) is counted when the product's institution is a guarantee institution,
  or when the only guarantee mode need and product share is `guarantee` and the product lists
  guarantee_fee_subsidy (a bank–guarantor product, 银担合作).
- Programs apply in a fixed order: central relending points first (they lower the rate the
  bank charges), then the 50 % 技改 interest subsidy on the rate that remains (the 实际利率
  the enterprise pays), then the guarantee fee subsidy, then the bridge fee waiver. Rates
  never go below 0. Caps in 万元 a year are converted against the loan amount.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
DEFAULT_GUARANTEE_FEE_RATE = Decimal("1.0")

TECH_UPGRADE_INTEREST = "tech_upgrade_interest"
EQUIPMENT_RENEWAL_RELENDING = "equipment_renewal_relending"
GUARANTEE_FEE_SUBSIDY = "guarantee_fee_subsidy"
BRIDGE_FEE_WAIVER = "bridge_fee_waiver"
# the order programs are applied in (see the module docstring)
ORDER = (EQUIPMENT_RENEWAL_RELENDING, TECH_UPGRADE_INTEREST, GUARANTEE_FEE_SUBSIDY,
         BRIDGE_FEE_WAIVER)

# who qualifies, where a program's settings do not say otherwise (vocabulary rule texts)
DEFAULT_PURPOSES = {
    TECH_UPGRADE_INTEREST: ("tech_upgrade",),
    EQUIPMENT_RENEWAL_RELENDING: ("tech_upgrade", "equipment_lease"),
}
DEFAULT_WAIVER_TAGS = ("specialized_sme", "little_giant", "single_champion")
DOUBLE_HUNDRED = "double_hundred"

# validity of the packaged defaults: 渝经信规范〔2024〕7号 applies 30 days after 2024-02-21 and
# runs to 2027 (its title, and 四（二） "阶段性减免至2027年"); 永金组发〔2023〕1号 is dated
# 2023-02-06 and names no end
DEFAULT_DATES = {
    TECH_UPGRADE_INTEREST: (date(2024, 3, 22), date(2027, 12, 31)),
    GUARANTEE_FEE_SUBSIDY: (date(2024, 3, 22), date(2027, 12, 31)),
    BRIDGE_FEE_WAIVER: (date(2024, 3, 22), date(2027, 12, 31)),
    EQUIPMENT_RENEWAL_RELENDING: (date(2023, 2, 6), None),
}


@dataclass(frozen=True, slots=True)
class SubsidyProgram:
    code: str
    label: str
    source: str
    settings: Mapping[str, Any]
    effective_from: date
    effective_to: date | None = None

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


def default_programs() -> tuple[SubsidyProgram, ...]:
    """The packaged vocabulary's programs with their settings and the dates above."""
    return _default_programs()


@cache
def _default_programs() -> tuple[SubsidyProgram, ...]:
    from .. import vocab  # package data, loaded once; kept out of module import

    programs = []
    for entry in vocab.entries("subsidy_programs"):
        start, end = DEFAULT_DATES.get(entry["code"], (date(2024, 3, 22), None))
        programs.append(SubsidyProgram(entry["code"], entry["label"], entry["source"],
                                       dict(entry["settings"]), start, end))
    return tuple(programs)


def __getattr__(name: str):
    if name == "DEFAULT_PROGRAMS":
        return _default_programs()
    raise AttributeError(name)


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def pct(value: Decimal) -> str:
    return f"{q(value)}%"


def wan(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def base_rate(need, product) -> tuple[Decimal, str]:
    """The loan rate to expect, and the reason for it in Chinese."""
    mid = (product.rate_min + product.rate_max) / 2
    span = f"{pct(product.rate_min)}–{pct(product.rate_max)}"
    ceiling = need.max_rate
    if ceiling is not None and product.rate_min <= ceiling < mid:
        return ceiling, f"按企业可接受利率上限{pct(ceiling)}估算（产品利率{span}）"
    return mid, f"按产品利率区间{span}的中值{pct(mid)}估算"


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


@dataclass(slots=True)
class _Running:
    """The cost as programs are applied: interest and fee rates, yearly 万元."""
    amount: Decimal
    interest: Decimal
    fee: Decimal
    applied: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def estimate_cost(need, product, programs: Iterable[SubsidyProgram] | Mapping[str, SubsidyProgram],
                  today: date,
                  guarantee_fee_rate: Decimal = DEFAULT_GUARANTEE_FEE_RATE) -> CostEstimate:
    """The enterprise's yearly cost under `product`, before and after each program the product
    lists, that is in force on `today`, and that the need and enterprise qualify for."""
    rate, basis = base_rate(need, product)
    fee = guarantee_fee_rate if guarantee_fee_applies(need, product) else ZERO
    run = _Running(amount=need.amount_wan, interest=rate, fee=fee)
    in_force = {code: p for code, p in _by_code(programs).items() if p.in_force(today)}
    listed = set(product.subsidy_programs)
    for code in ORDER + tuple(sorted(listed - set(ORDER))):
        if code not in listed:
            continue
        program = in_force.get(code)
        handler = _HANDLERS.get(code)
        if program is None:
            run.skipped.append(f"{code}：不在有效期内或未启用")
        elif handler is None:
            run.skipped.append(f"{program.label}：暂不能估算")
        else:
            handler(program, need, run)
    before = rate + fee
    after = max(ZERO, run.interest + run.fee)
    amount = need.amount_wan
    cost_before, cost_after = amount * before / HUNDRED, amount * after / HUNDRED
    return CostEstimate(
        base_rate=q(rate), basis_zh=basis, guarantee_fee_rate=q(fee),
        rate_before=q(before), rate_after=q(after),
        cost_wan_before=q(cost_before), cost_wan_after=q(cost_after),
        saving_wan_per_year=q(cost_before - cost_after),
        applied=tuple(run.applied), not_applied=tuple(run.skipped))


def _qualifies_by_purpose(program, need, run) -> bool:
    purposes = program.settings.get("purposes") or DEFAULT_PURPOSES.get(program.code, ())
    if need.purpose in purposes:
        return True
    run.skipped.append(f"{program.label}：融资用途不在支持范围内")
    return False


def _relending(program, need, run):
    # 永金组发〔2023〕1号: 中央财政贴息2.5个百分点, and never more than the rate itself
    if not _qualifies_by_purpose(program, need, run):
        return
    points = program.number("points")
    cut = min(points, run.interest)
    was = run.interest
    run.interest -= cut
    saving = run.amount * cut / HUNDRED
    floor = "（贴息不超过实际利率，利率不低于0）" if cut < points else ""
    run.applied.append(AppliedRule(
        program.code, program.label, q(cut), q(saving),
        f"{program.label}：中央财政贴息{wan(points)}个百分点，实际利率由{pct(was)}降至"
        f"{pct(run.interest)}，年贴息额{q(saving)}万元{floor}"))


def _tech_interest(program, need, run):
    # 渝经信规范〔2024〕7号 四（一）: 不超实际利率50%，单个企业每年不超1000万元
    if not _qualifies_by_purpose(program, need, run):
        return
    share = program.number("share_of_rate")
    cap = program.number("cap_wan_per_year")
    actual = run.interest
    cut = actual * share
    saving = run.amount * cut / HUNDRED
    head = f"{program.label}：按实际利率{pct(actual)}的{wan(share * HUNDRED)}%贴息"
    if saving > cap:
        text = (f"{head}，应贴息{q(saving)}万元，超过每年{wan(cap)}万元上限，按{q(cap)}万元"
                f"贴息（折合年利率{pct(cap * HUNDRED / run.amount)}）")
        saving, cut = cap, cap * HUNDRED / run.amount
    else:
        text = f"{head}，年贴息额{q(saving)}万元（未超过每年{wan(cap)}万元上限）"
    run.interest -= cut
    run.applied.append(AppliedRule(program.code, program.label, q(cut), q(saving), text))


def _guarantee_fee(program, need, run):
    # 渝经信规范〔2024〕7号 四（一）: 担保费率不超过1%的，按不超过担保费率50%补助，最高100万元
    if run.fee <= 0:
        run.skipped.append(f"{program.label}：未经融资担保机构担保")
        return
    ceiling = program.number("max_fee_rate")
    if run.fee > ceiling:
        run.skipped.append(f"{program.label}：担保费率{pct(run.fee)}高于{pct(ceiling)}")
        return
    share = program.number("share_of_fee")
    cap = program.number("cap_wan_per_year")
    cut = run.fee * share
    saving = run.amount * cut / HUNDRED
    head = f"{program.label}：按担保费率{pct(run.fee)}的{wan(share * HUNDRED)}%补助"
    if saving > cap:
        text = (f"{head}，应补助{q(saving)}万元，超过每年{wan(cap)}万元上限，按{q(cap)}万元"
                f"补助（折合年费率{pct(cap * HUNDRED / run.amount)}）")
        saving, cut = cap, cap * HUNDRED / run.amount
    else:
        text = f"{head}，年补助{q(saving)}万元（未超过每年{wan(cap)}万元上限）"
    run.fee -= cut
    run.applied.append(AppliedRule(program.code, program.label, q(cut), q(saving), text))


def _bridge_waiver(program, need, run):
    # 渝经信规范〔2024〕7号 四（二）: 专精特新中小企业免收应急转贷周转金使用费; 最高8000万元
    tags = need.enterprise.tags
    qualifying = program.settings.get("tags") or DEFAULT_WAIVER_TAGS
    if not set(qualifying) & set(tags):
        run.skipped.append(f"{program.label}：企业不是专精特新中小企业、小巨人或单项冠军")
        return
    if DOUBLE_HUNDRED in tags:
        cap = program.number("cap_wan_double_hundred", program.settings.get("cap_wan"))
    else:
        cap = program.number("cap_wan")
    waived = min(run.amount, cap)
    cut = run.interest * waived / run.amount
    saving = waived * run.interest / HUNDRED
    part = "" if waived == run.amount else f"（超过{wan(cap)}万元上限的部分照常收费）"
    run.applied.append(AppliedRule(
        program.code, program.label, q(cut), q(saving),
        f"{program.label}：免收{wan(waived)}万元应急转贷资金的使用费（年化{pct(run.interest)}），"
        f"年减免{q(saving)}万元{part}"))
    run.interest -= cut


_HANDLERS = {
    EQUIPMENT_RENEWAL_RELENDING: _relending,
    TECH_UPGRADE_INTEREST: _tech_interest,
    GUARANTEE_FEE_SUBSIDY: _guarantee_fee,
    BRIDGE_FEE_WAIVER: _bridge_waiver,
}


def cost_lower_bound(product, programs: Mapping[str, SubsidyProgram] | Iterable[SubsidyProgram],
                     today: date) -> Decimal:
    """A rate no need can get below under this product (any purpose, any tags, no caps):
    lets the matcher stop scanning candidates early. Fees are taken as 0."""
    in_force = {c: p for c, p in _by_code(programs).items() if p.in_force(today)}
    listed = set(product.subsidy_programs)
    rate = product.rate_min
    if EQUIPMENT_RENEWAL_RELENDING in listed and EQUIPMENT_RENEWAL_RELENDING in in_force:
        rate = max(ZERO, rate - in_force[EQUIPMENT_RENEWAL_RELENDING].number("points"))
    if TECH_UPGRADE_INTEREST in listed and TECH_UPGRADE_INTEREST in in_force:
        share = in_force[TECH_UPGRADE_INTEREST].number("share_of_rate")
        rate = rate * max(ZERO, 1 - share)
    if BRIDGE_FEE_WAIVER in listed and BRIDGE_FEE_WAIVER in in_force:
        rate = ZERO
    return max(ZERO, rate)


def amount_sensitivity(product, programs, today: date,
                       guarantee_fee_rate: Decimal = DEFAULT_GUARANTEE_FEE_RATE) -> Decimal | None:
    """Smallest loan amount (万元) at which a cap could bind for this product, or None when
    no cap can: below it, rate_after does not depend on the amount."""
    in_force = {c: p for c, p in _by_code(programs).items() if p.in_force(today)}
    listed = set(product.subsidy_programs) & set(in_force)
    limits = []
    top_rate = max(product.rate_max, product.rate_min)
    if TECH_UPGRADE_INTEREST in listed:
        p = in_force[TECH_UPGRADE_INTEREST]
        share = p.number("share_of_rate")
        if share > 0 and top_rate > 0:
            limits.append(p.number("cap_wan_per_year") * HUNDRED / (top_rate * share))
    if GUARANTEE_FEE_SUBSIDY in listed:
        p = in_force[GUARANTEE_FEE_SUBSIDY]
        share = p.number("share_of_fee")
        if share > 0 and guarantee_fee_rate > 0:
            limits.append(p.number("cap_wan_per_year") * HUNDRED / (guarantee_fee_rate * share))
    if BRIDGE_FEE_WAIVER in listed:
        p = in_force[BRIDGE_FEE_WAIVER]
        limits.append(min(p.number("cap_wan"),
                          p.number("cap_wan_double_hundred", p.settings.get("cap_wan"))))
    return min(limits) if limits else None
