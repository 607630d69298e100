"""The monitored figures, computed from what the leads store (approved amount, rate, term,
guarantee mode, the need's loan kind, the funded date), the claims' times, whitelist pushes,
event meetings and the organizers' off-platform activities.

A period is a month, a quarter or a year of China dates; every figure comes with the same
period a year earlier. Slices (district, institution, institution kind, 33618 cluster, loan
kind, enterprise size) filter the population; a district organizer's district is forced by
the caller (permissions.district_of). Read only. The enterprise-size slice (the stored
`Enterprise.size_class`: declared, else the 300号 rule) filters every figure about
enterprises: funded loans, service times, pushes, whitelist entries, event meetings and the
enterprises served through leads and events; off-platform activities record a head count
only, so under a size slice they are left out (`Served.by_activities` is None). Events and
activities have no institution slice.

Definitions (policy-docs, see README):
- 首贷户: an enterprise funded through the platform on a need of loan kind first_loan
  (从未获得银行贷款), counted once per period (003 扩面; 002 首贷占比).
- 贷款户数: distinct enterprises funded in the period (003 扩面: 增长不低于10%).
- 中长期: approved term > 12 months; 信用: approved guarantee mode credit (001 一(二); 003 提质).
- weighted average rate: Σ(amount × rate) / Σ amount (003 降本).
- enterprises served (家次, 001 一(二) 1000家(次)): enterprises a bank contacted through a lead
  (once per period each), enterprise × event with a meeting held, and the enterprises
  recorded at off-platform activities.
"""
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, text

from .. import clock
from ..enterprises.models import Enterprise, Need
from ..events.figures import FOLLOW_MONTHS, add_months
from ..events.models import Event, Meeting, MeetingResult, Registration
from ..extensions import db
from ..institutions.models import Institution
from ..leads.models import Claim, Lead
from ..whitelists.models import Push, WhitelistEntry
from .models import Activity

PERIOD_KINDS = ("month", "quarter", "year")
PERIOD_LABELS = {"month": "月", "quarter": "季度", "year": "年"}
SLICES = ("district", "institution", "institution_kind", "cluster", "loan_kind", "size")
SLICE_LABELS = {"district": "区县", "institution": "金融机构", "institution_kind": "机构类型",
                "cluster": "33618集群", "loan_kind": "贷款类型", "size": "企业规模"}
LONG_TERM_MONTHS = 12  # 中长期: more than a year
ANSWERED = ("claimed", "contacted", "approved", "declined", "withdrawn", "funded")


# --- periods ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | year
    year: int
    number: int = 1  # the month (1-12) or quarter (1-4); 1 for a year

    @property
    def start(self) -> date:
        month = {"month": self.number, "quarter": 3 * self.number - 2, "year": 1}[self.kind]
        return date(self.year, month, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return add_months(self.start, {"month": 1, "quarter": 3, "year": 12}[self.kind])

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}年{self.number}月"
        if self.kind == "quarter":
            return f"{self.year}年第{self.number}季度"
        return f"{self.year}年"

    def last_year(self) -> "Period":
        return replace(self, year=self.year - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as aware instants: China midnight to China midnight."""
        return clock.china_midnight(self.start), clock.china_midnight(self.end)

    @classmethod
    def parse(cls, kind: str | None, year, number) -> "Period":
        """From query arguments; bad or missing values fall back to this year's."""
        today = clock.china_today()
        kind = kind if kind in PERIOD_KINDS else "year"
        try:
            year = int(year) if year else today.year
            number = int(number) if number else 1
        except (TypeError, ValueError):
            year, number = today.year, 1
        top = {"month": 12, "quarter": 4, "year": 1}[kind]
        if not 2000 <= year <= 2100:
            year = today.year
        return cls(kind, year, min(max(number, 1), top))


@dataclass(frozen=True)
class Slice:
    """Filters on the population; None = all."""

    district: str | None = None
    institution_id: int | None = None
    institution_kind: str | None = None
    cluster: str | None = None
    loan_kind: str | None = None
    size: str | None = None

    def where(self, query):
        """The SQL filters (the query joins the tables they name: see _lead_scope)."""
        if self.district:
            query = query.where(Enterprise.district == self.district)
        if self.institution_id:
            query = query.where(Institution.id == self.institution_id)
        if self.institution_kind:
            query = query.where(Institution.kind == self.institution_kind)
        if self.cluster:
            query = query.where(Enterprise.cluster == self.cluster)
        if self.loan_kind:
            query = query.where(Need.loan_kind == self.loan_kind)
        if self.size:
            query = query.where(Enterprise.size_class == self.size)
        return query

    @property
    def on_enterprises(self) -> bool:
        """Whether a filter reads the enterprise (its table must be joined)."""
        return bool(self.district or self.cluster or self.size)


# --- funded loans ------------------------------------------------------------------------------

_ATTRIBUTE = {"institution": "institution_id"}


@dataclass(frozen=True)
class Loan:
    """One funded lead, as the figures read it."""

    lead_id: int
    enterprise_id: int
    amount: Decimal
    rate: Decimal
    term: int
    mode: str | None
    loan_kind: str
    day: date  # funded, China date
    district: str
    cluster: str | None
    size: str
    institution_id: int
    institution_kind: str

    @property
    def long_term(self) -> bool:
        return self.term > LONG_TERM_MONTHS

    @property
    def credit(self) -> bool:
        return self.mode == "credit"

    @property
    def first_loan(self) -> bool:
        return self.loan_kind == "first_loan"

    def key(self, dimension: str):
        if dimension == "cluster":
            return self.cluster or ""
        return getattr(self, _ATTRIBUTE.get(dimension, dimension))


def _funded_query(first: date, end: date, where: Slice):
    start_at, end_at = clock.china_midnight(first), clock.china_midnight(end)
    query = (select(Lead.id, Need.enterprise_id, Lead.approved_amount_wan, Lead.approved_rate,
                    Lead.approved_term_months, Lead.approved_guarantee_mode, Need.loan_kind,
                    Lead.funded_at, Enterprise.district, Enterprise.cluster,
                    Enterprise.size_class, Lead.institution_id, Institution.kind)
             .join(Need, Need.id == Lead.need_id)
             .join(Enterprise, Enterprise.id == Need.enterprise_id)
             .join(Institution, Institution.id == Lead.institution_id)
             .where(Lead.status == "funded", Lead.funded_at >= start_at,
                    Lead.funded_at < end_at))
    return where.where(query)


def funded_loans(first: date, end: date, where: Slice) -> list[Loan]:
    """Funded leads whose funded date (China) is in [first, end), in the slice."""
    loans = []
    for (lead_id, ent, amount, rate, term, mode, kind, funded_at, district, cluster, size,
         inst, inst_kind) in db.session.execute(_funded_query(first, end, where)):
        loans.append(Loan(lead_id, ent, amount or Decimal(0), rate or Decimal(0), term or 0,
                          mode, kind, clock.china_date(funded_at), district, cluster,
                          size or "unknown", inst, inst_kind))
    return loans


def _share(part, whole) -> Decimal | None:
    return (Decimal(100) * part / whole) if whole else None


def growth(now, before) -> Decimal | None:
    """Percent change on the same period last year; None when last year had nothing."""
    if not before:
        return None
    return Decimal(100) * (Decimal(now) - Decimal(before)) / Decimal(before)


@dataclass
class Funded:
    """The funded-loan figures of one population."""

    count: int = 0
    amount: Decimal = Decimal(0)
    borrowers: int = 0  # 贷款户数
    first_loan_borrowers: int = 0  # 首贷户
    long_term_count: int = 0
    long_term_amount: Decimal = Decimal(0)
    credit_count: int = 0
    credit_amount: Decimal = Decimal(0)
    rate: Decimal | None = None  # weighted by amount
    rate_by_kind: dict = field(default_factory=dict)

    @property
    def first_loan_share(self):
        return _share(self.first_loan_borrowers, self.borrowers)

    @property
    def long_term_share(self):
        return _share(self.long_term_amount, self.amount)

    @property
    def long_term_count_share(self):
        return _share(self.long_term_count, self.count)

    @property
    def credit_share(self):
        return _share(self.credit_amount, self.amount)

    @property
    def credit_count_share(self):
        return _share(self.credit_count, self.count)


def summarize(loans: list[Loan]) -> Funded:
    """One pass over the loans (the page summarizes each slice's groups: keep it cheap)."""
    out = Funded()
    zero = Decimal(0)
    amount = weighted = zero
    borrowers, first = set(), set()
    kinds: dict[str, list] = {}  # kind -> [amount, amount × rate]
    for loan in loans:
        out.count += 1
        amount += loan.amount
        product = loan.amount * loan.rate
        weighted += product
        borrowers.add(loan.enterprise_id)
        if loan.loan_kind == "first_loan":
            first.add(loan.enterprise_id)
        if loan.term > LONG_TERM_MONTHS:
            out.long_term_count += 1
            out.long_term_amount += loan.amount
        if loan.mode == "credit":
            out.credit_count += 1
            out.credit_amount += loan.amount
        sums = kinds.setdefault(loan.loan_kind, [zero, zero])
        sums[0] += loan.amount
        sums[1] += product
    out.amount, out.borrowers, out.first_loan_borrowers = amount, len(borrowers), len(first)
    out.rate = weighted / amount if amount else None
    out.rate_by_kind = {k: (v[1] / v[0] if v[0] else None) for k, v in sorted(kinds.items())}
    return out


# --- service, pushes, events, activities ---------------------------------------------------------

@dataclass
class Service:
    claims: int = 0
    claim_hours: float | None = None  # lead opened -> claimed, mean
    contact_hours: float | None = None  # claimed -> first contact, mean
    decision_days: float | None = None  # claimed -> decision, mean
    on_time: int = 0  # contacted and decided by their due dates
    due: int = 0  # claims whose decision is in (or overdue)
    declines: dict = field(default_factory=dict)  # reason -> count
    pushed: int = 0  # leads opened in the period
    pushed_funded: int = 0  # ... of which funded (by now)

    @property
    def on_time_share(self):
        return _share(self.on_time, self.due)

    @property
    def conversion(self):
        return _share(self.pushed_funded, self.pushed)


def _mean(values):
    return sum(values) / len(values) if values else None


def _lead_scope(query, where: Slice):
    """Join only the tables the slice filters on: the city's unsliced figures then scan
    leads and needs alone (three fewer hash joins over 100,000 needs per query)."""
    query = query.join(Need, Need.id == Lead.need_id)
    if where.on_enterprises:
        query = query.join(Enterprise, Enterprise.id == Need.enterprise_id)
    if where.institution_id or where.institution_kind:
        query = query.join(Institution, Institution.id == Lead.institution_id)
    return where.where(query)


def service_figures(period: Period, where: Slice) -> Service:
    start_at, end_at = period.bounds()
    today = clock.china_today()
    out = Service()
    claims = db.session.execute(_lead_scope(
        select(Claim.claimed_at, Claim.contacted_at, Claim.decided_at, Claim.contact_due,
               Claim.decision_due, Claim.status, Lead.created_at)
        .select_from(Claim).join(Lead, Lead.id == Claim.lead_id), where)
        .where(Claim.claimed_at >= start_at, Claim.claimed_at < end_at)).all()
    claim_h, contact_h, decision_d = [], [], []
    for claimed, contacted, decided, contact_due, decision_due, status, opened in claims:
        out.claims += 1
        claim_h.append((claimed - opened).total_seconds() / 3600)
        if contacted:
            contact_h.append((contacted - claimed).total_seconds() / 3600)
        if decided:
            decision_d.append((decided - claimed).total_seconds() / 86400)
        if decided or today > decision_due or status == "lapsed":
            out.due += 1
            out.on_time += bool(
                contacted and decided and clock.china_date(contacted) <= contact_due
                and clock.china_date(decided) <= decision_due)
    out.claim_hours, out.contact_hours = _mean(claim_h), _mean(contact_h)
    out.decision_days = _mean(decision_d)
    out.declines = dict(db.session.execute(_lead_scope(
        select(Lead.decline_reason, func.count(Lead.id)).select_from(Lead), where)
        .where(Lead.outcome == "declined", Lead.decided_at >= start_at,
               Lead.decided_at < end_at).group_by(Lead.decline_reason)).all())
    pushed = dict(db.session.execute(_lead_scope(
        select(Lead.status, func.count(Lead.id)).select_from(Lead), where)
        .where(Lead.created_at >= start_at, Lead.created_at < end_at)
        .group_by(Lead.status)).all())
    out.pushed = sum(pushed.values())
    out.pushed_funded = pushed.get("funded", 0)
    return out


@dataclass
class Whitelisted:
    pushed: int = 0
    answered: int = 0
    funded: int = 0


def whitelist_figures(period: Period, where: Slice) -> Whitelisted:
    """Whitelist entries pushed to a bank in the period, answered (the bank claimed or decided
    the lead), funded."""
    start_at, end_at = period.bounds()
    query = (select(Lead.status, func.count(Push.id)).select_from(Push)
             .join(WhitelistEntry, WhitelistEntry.id == Push.entry_id)
             .join(Lead, Lead.id == Push.lead_id)
             .where(Push.status == "sent", Push.sent_at >= start_at, Push.sent_at < end_at))
    rows = dict(db.session.execute(_lead_scope(query, where).group_by(Lead.status)).all())
    return Whitelisted(pushed=sum(rows.values()),
                       answered=sum(n for s, n in rows.items() if s in ANSWERED),
                       funded=rows.get("funded", 0))


@dataclass
class Events:
    meetings_held: int = 0
    intentions: int = 0
    intentions_funded: int = 0  # funded within FOLLOW_MONTHS of the event

    @property
    def intentions_funded_share(self):
        return _share(self.intentions_funded, self.intentions)


def _event_meetings(period: Period, where: Slice):
    query = (select(Meeting.id, Event.day, Registration.enterprise_id, Meeting.event_id)
             .join(Event, Event.id == Meeting.event_id)
             .join(Registration, Registration.id == Meeting.enterprise_registration_id)
             .join(Enterprise, Enterprise.id == Registration.enterprise_id)
             .where(Meeting.status == "held", Event.day >= period.start, Event.day < period.end))
    if where.district:
        query = query.where(Enterprise.district == where.district)
    if where.cluster:
        query = query.where(Enterprise.cluster == where.cluster)
    if where.size:
        query = query.where(Enterprise.size_class == where.size)
    return db.session.execute(query).all()


def event_figures(period: Period, where: Slice) -> Events:
    meetings = _event_meetings(period, where)
    out = Events(meetings_held=len(meetings))
    days = {m.id: m.day for m in meetings}
    if not days:
        return out
    rows = db.session.execute(
        select(MeetingResult.meeting_id, Lead.funded_at, Lead.status)
        .join(Lead, Lead.id == MeetingResult.lead_id, isouter=True)
        .where(MeetingResult.meeting_id.in_(days), MeetingResult.outcome == "intention")).all()
    seen: dict[int, bool] = {}
    for meeting_id, funded_at, status in rows:
        cutoff = add_months(days[meeting_id], FOLLOW_MONTHS)
        funded = bool(status == "funded" and funded_at
                      and clock.china_date(funded_at) <= cutoff)
        seen[meeting_id] = seen.get(meeting_id, False) or funded
    out.intentions, out.intentions_funded = len(seen), sum(seen.values())
    return out


@dataclass
class Served:
    by_leads: int = 0
    by_events: int = 0
    by_activities: int | None = 0  # None: not countable in the slice (activities have no sizes)

    @property
    def total(self) -> int:
        return self.by_leads + self.by_events + (self.by_activities or 0)


def served_figures(period: Period, where: Slice) -> Served:
    start_at, end_at = period.bounds()
    contacted = _lead_scope(
        select(func.count(func.distinct(Need.enterprise_id))).select_from(Claim)
        .join(Lead, Lead.id == Claim.lead_id), where).where(
        Claim.contacted_at >= start_at, Claim.contacted_at < end_at)
    events = len({(m.event_id, m.enterprise_id) for m in _event_meetings(period, where)})
    activities = select(func.coalesce(func.sum(Activity.enterprises), 0)).where(
        Activity.day >= period.start, Activity.day < period.end)
    if where.district:
        activities = activities.where(Activity.district == where.district)
    return Served(by_leads=db.session.scalar(contacted) or 0, by_events=events,
                  by_activities=None if where.size else int(db.session.scalar(activities) or 0))


# --- the page's whole set ------------------------------------------------------------------

@dataclass
class Indicators:
    period: Period
    where: Slice
    funded: Funded
    last_year: Funded
    service: Service
    whitelist: Whitelisted
    events: Events
    served: Served
    served_last_year: Served
    months: list  # [(month, amount, count, amount last year, count last year)]
    slices: dict  # dimension -> [(key, Funded)]

    @property
    def borrowers_growth(self):
        return growth(self.funded.borrowers, self.last_year.borrowers)

    @property
    def first_loan_growth(self):
        return growth(self.funded.first_loan_borrowers, self.last_year.first_loan_borrowers)

    @property
    def amount_growth(self):
        return growth(self.funded.amount, self.last_year.amount)

    @staticmethod
    def _change(now, before):
        return now - before if now is not None and before is not None else None

    @property
    def long_term_share_change(self):
        return self._change(self.funded.long_term_share, self.last_year.long_term_share)

    @property
    def credit_share_change(self):
        return self._change(self.funded.credit_share, self.last_year.credit_share)

    @property
    def rate_change(self):
        return self._change(self.funded.rate, self.last_year.rate)


def by_slice(loans: list[Loan], dimension: str) -> list[tuple]:
    groups: dict = {}
    for loan in loans:
        groups.setdefault(loan.key(dimension), []).append(loan)
    rows = [(key, summarize(group)) for key, group in groups.items()]
    return sorted(rows, key=lambda row: -row[1].amount)


def plan_each_query() -> None:
    """PostgreSQL: plan this transaction's queries for their own values. psycopg prepares a
    statement run five times, and PostgreSQL may then reuse one generic plan for every
    district: the refresh job's district figures went from 0.2 s to 1.1 s each by the tenth
    district (nested loops planned without the district's selectivity)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def indicators(period: Period, where: Slice) -> Indicators:
    """Every figure of the period and the same period last year, in the slice."""
    plan_each_query()
    year = Period("year", period.year)
    loans = funded_loans(year.last_year().start, year.end, where)
    (start, end), (ly_start, ly_end) = (period.start, period.end), (
        period.last_year().start, period.last_year().end)
    this = [loan for loan in loans if start <= loan.day < end]
    before = [loan for loan in loans if ly_start <= loan.day < ly_end]
    months = Counter(), Counter(), Counter(), Counter()
    for loan in loans:
        now = loan.day.year == period.year
        months[0 if now else 2][loan.day.month] += loan.amount
        months[1 if now else 3][loan.day.month] += 1
    return Indicators(
        period=period, where=where, funded=summarize(this), last_year=summarize(before),
        service=service_figures(period, where), whitelist=whitelist_figures(period, where),
        events=event_figures(period, where), served=served_figures(period, where),
        served_last_year=served_figures(period.last_year(), where),
        months=[(m, months[0][m], months[1][m], months[2][m], months[3][m])
                for m in range(1, 13)],
        slices={d: by_slice(this, d) for d in SLICES})


# --- drill-down ---------------------------------------------------------------------------------

FIGURES = {"funded": "已放款", "first_loan": "首贷户贷款", "long_term": "中长期贷款",
           "credit": "信用贷款"}


def _row(dimension: str, key: str | None):
    """The SQL filter of one row of a slice table (its key as the page links it); None when
    the key cannot name a row."""
    if key is None:
        return None
    if dimension == "institution":
        return Lead.institution_id == int(key) if key.isdigit() else None
    column = {"district": Enterprise.district, "institution_kind": Institution.kind,
              "cluster": Enterprise.cluster, "loan_kind": Need.loan_kind,
              "size": Enterprise.size_class}[dimension]
    if (dimension, key) in (("cluster", ""), ("size", "unknown")):  # Loan.key of no value
        return column.is_(None)
    return column == key


DRILL_LIMIT = 500


def drill(period: Period, where: Slice, figure: str, key: str | None = None,
          dimension: str | None = None) -> list[Lead]:
    """The funded leads behind a figure (and, for a slice row, behind that row), latest
    funded first, at most DRILL_LIMIT: filtered in SQL, the same tests as `summarize`."""
    start_at, end_at = period.bounds()
    query = (select(Lead).join(Need, Need.id == Lead.need_id)
             .join(Enterprise, Enterprise.id == Need.enterprise_id)
             .join(Institution, Institution.id == Lead.institution_id)
             .where(Lead.status == "funded", Lead.funded_at >= start_at,
                    Lead.funded_at < end_at))
    picks = {"first_loan": Need.loan_kind == "first_loan",
             "long_term": Lead.approved_term_months > LONG_TERM_MONTHS,
             "credit": Lead.approved_guarantee_mode == "credit"}
    if figure in picks:
        query = query.where(picks[figure])
    if dimension in SLICES:
        row = _row(dimension, key)
        if row is None:
            return []
        query = query.where(row)
    query = where.where(query).order_by(Lead.funded_at.desc(), Lead.id.desc()).limit(DRILL_LIMIT)
    return list(db.session.scalars(query))
