"""The bank scorecard (渝经信规范〔2024〕7号 五(五): 制造业贷款占比和增速列入绩效考评; 东至县
意见 强化考核评价): criteria and weights are rows of monitoring_score_criteria; each bank's
quarter is scored from its inputs, every score shown with the figures it came from.

Inputs per bank and quarter:
- from its monthly returns (the quarter's last month filed): 制造业贷款占比 = 余额 / 各项贷款余额;
  增速 = 余额 against the same month last year; 中长期 and 信用 shares of the 制造业 balance;
  首贷户 = the quarter's three months summed;
- from the platform: the weighted rate of its funded loans (lower is better), the share of its
  claims contacted and decided on time, the enterprises' mean rating.
A criterion scores weight × (value − worst) / (best − worst) among the banks that have the
value; all equal → full weight; a missing value → 0 (say so: a bank that files nothing scores
nothing on the return's criteria)."""
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select

from ..events.figures import add_months
from ..extensions import db
from ..leads.models import Lead
from .indicators import Period, Slice, funded_loans, service_figures, summarize
from .models import BankReturn, ScoreCriterion
from .returns import banks

LOWER_IS_BETTER = {"rate"}


@dataclass
class Line:
    criterion: ScoreCriterion
    value: Decimal | None
    inputs: str  # the figures behind the value, in words
    score: Decimal = Decimal(0)


@dataclass
class Card:
    institution: object
    lines: list = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.score for line in self.lines), Decimal(0))


def criteria() -> list[ScoreCriterion]:
    return list(db.session.scalars(select(ScoreCriterion).order_by(ScoreCriterion.position)))


def _returns(bank_id: int, months) -> dict:
    rows = db.session.scalars(select(BankReturn).where(BankReturn.institution_id == bank_id,
                                                       BankReturn.month.in_(months)))
    return {row.month: row for row in rows}


def _pct(part, whole) -> Decimal | None:
    return Decimal(100) * part / whole if whole else None


def _inputs(bank, period: Period) -> dict[str, tuple]:
    """criterion key -> (value, the inputs in words)."""
    last = add_months(period.end, -1)
    months = [add_months(period.start, n) for n in range(3)]
    year_ago = add_months(last, -12)
    rows = _returns(bank.id, months + [year_ago])
    end, before = rows.get(last), rows.get(year_ago)
    out: dict[str, tuple] = {}
    if end:
        out["mfg_share"] = (_pct(end.mfg_balance_wan, end.loans_total_wan),
                            (f"{last:%Y-%m} 制造业贷款余额 {end.mfg_balance_wan} / 各项贷款 "
                            f"{end.loans_total_wan} 万元"))
        out["long_term_share"] = (_pct(end.long_term_wan, end.mfg_balance_wan),
                                  f"中长期 {end.long_term_wan} / 制造业 {end.mfg_balance_wan} 万元")
        out["credit_share"] = (_pct(end.credit_wan, end.mfg_balance_wan),
                               f"信用 {end.credit_wan} / 制造业 {end.mfg_balance_wan} 万元")
    if end and before and before.mfg_balance_wan:
        out["mfg_growth"] = (_pct(end.mfg_balance_wan - before.mfg_balance_wan,
                                  before.mfg_balance_wan),
                             f"余额 {end.mfg_balance_wan} 较上年同月 {before.mfg_balance_wan} 万元")
    filed = [rows[m] for m in months if m in rows]
    if filed:
        out["first_loans"] = (Decimal(sum(r.first_loan_borrowers for r in filed)),
                              f"{len(filed)} 个月月报首贷户合计")
    where = Slice(institution_id=bank.id)
    funded = summarize(funded_loans(period.start, period.end, where))
    if funded.rate is not None:
        out["rate"] = (funded.rate, f"平台放款 {funded.count} 笔 {funded.amount} 万元加权")
    service = service_figures(period, where)
    if service.due:
        out["timeliness"] = (service.on_time_share,
                             f"按时联系并答复 {service.on_time} / {service.due} 笔")
    start_at, end_at = period.bounds()
    rating, n = db.session.execute(
        select(func.avg(Lead.rating), func.count(Lead.rating)).where(
            Lead.institution_id == bank.id, Lead.rated_at >= start_at,
            Lead.rated_at < end_at)).one()
    if n:
        out["rating"] = (Decimal(str(rating)), f"{n} 条企业评价的平均星级")
    return out


def _score(lines: list[Line], key: str) -> None:
    values = [line.value for line in lines if line.value is not None]
    if not values:
        return
    best, worst = (min(values), max(values)) if key in LOWER_IS_BETTER else (max(values),
                                                                              min(values))
    for line in lines:
        if line.value is None:
            continue
        weight = line.criterion.weight
        line.score = weight if best == worst else weight * (line.value - worst) / (best - worst)


def scorecard(period: Period) -> list[Card]:
    """Every bank's card for the quarter, best total first."""
    rules = criteria()
    cards = []
    for bank in db.session.scalars(banks()):
        inputs = _inputs(bank, period)
        card = Card(bank)
        for rule in rules:
            value, words = inputs.get(rule.key, (None, "无数据"))
            card.lines.append(Line(rule, value, words))
        cards.append(card)
    for i, rule in enumerate(rules):
        _score([card.lines[i] for card in cards], rule.key)
    return sorted(cards, key=lambda card: (-card.total, card.institution.name))
