"""The organizer's home figures, limited to the organizer's district (a 永川区 organizer saw
city-wide counts: 96 enterprises where the district has 8)."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select

from .. import clock
from ..audit.service import record
from ..enterprises.models import Enterprise, Need
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Institution, InstitutionDistrict, Product
from ..leads.models import Lead
from .indicators import Indicators, Period
from .models import Activity, ScoreCriterion, Target
from .permissions import (
    can_edit_targets,
    can_record_activity,
    can_view_monitoring,
    district_of,
)


@dataclass
class Overview:
    district: str | None
    counts: dict
    by_status: dict
    by_purpose: list
    districts: list  # city organizers: one row per district (district, enterprises, published, funded)


def _serving(district: str):
    """Institutions that serve the district: listed it, or listed no district (all of them)."""
    listed = select(InstitutionDistrict.institution_id).where(InstitutionDistrict.value == district)
    anywhere = select(InstitutionDistrict.institution_id)
    return or_(Institution.id.in_(listed), Institution.id.not_in(anywhere))


def organizer_overview(user, remember=None) -> Overview:
    """Counts for the organizer's home: the district's own for a district organizer.
    `remember(name, compute)` may keep the figures over needs and enterprises (the costly
    part, about 70 ms at 100,000 needs) while those tables are unchanged: the page
    cache's `remembered`, given by the view (the leads' figures are read each time)."""
    remember = remember or (lambda _name, compute: compute())
    district = district_of(user)
    visible = can_view_monitoring(user)
    institutions = select(func.count(Institution.id))
    products = (select(func.count(Product.id)).join(Institution, Institution.id == Product.institution_id)
                .where(Product.status == "published"))
    if district:
        institutions = institutions.where(_serving(district))
        products = products.where(_serving(district))
    figures = remember(f"monitoring.overview:{district or '*'}:{int(visible)}",
                       lambda: _need_figures(district, visible))
    counts = {"enterprises": figures["enterprises"],
              "institutions": db.session.scalar(institutions),
              "products": db.session.scalar(products)}
    groups = [(d, status, purpose, count, Decimal(amount) if amount is not None else None)
              for d, status, purpose, count, amount in figures["groups"]]
    by_status: dict[str, int] = {}
    by_purpose: dict[str, list] = {}
    for _district, status, purpose, count, amount in groups:
        by_status[status] = by_status.get(status, 0) + count
        if status == "published":
            row = by_purpose.setdefault(purpose, [purpose, 0, 0])
            row[1] += count
            row[2] += amount or 0
    return Overview(
        district=district, counts=counts, by_status=by_status,
        by_purpose=[tuple(row) for row in by_purpose.values()],
        districts=[] if district else _district_rows(groups, figures["by_district"]))


def _need_figures(district: str | None, visible: bool) -> dict:
    """What the home counts over needs and enterprises, as JSON (amounts as text): the
    enterprises (none unless the person may see monitoring), the need groups, and (city-wide)
    the enterprises per district."""
    enterprises = select(func.count(Enterprise.id))
    if district:
        enterprises = enterprises.where(Enterprise.district == district)
    by_district = {} if district else dict(db.session.execute(
        select(Enterprise.district, func.count(Enterprise.id))
        .group_by(Enterprise.district)).all())
    return {"enterprises": db.session.scalar(enterprises) if visible else 0,
            "groups": [(d, status, purpose, count, str(amount) if amount is not None else None)
                       for d, status, purpose, count, amount in _need_groups(district)],
            "by_district": by_district}


def _need_groups(district: str | None) -> list[tuple]:
    """(district, status, purpose, needs, amount) in one pass over the needs: the home's three
    need figures read 100,000 needs once instead of three times (about 180 -> 70 ms)."""
    query = (select(Enterprise.district, Need.status, Need.purpose, func.count(Need.id),
                    func.sum(Need.amount_wan)).join(Need.enterprise)
             .group_by(Enterprise.district, Need.status, Need.purpose)
             .order_by(Need.purpose))
    if district:
        query = query.where(Enterprise.district == district)
    return [tuple(row) for row in db.session.execute(query)]


def _district_rows(groups: list[tuple], ents: dict[str, int]) -> list[tuple[str, int, int, int]]:
    """Every district with enterprises, side by side: enterprises, published needs, funded leads."""
    published: dict[str, int] = {}
    for district, status, _purpose, count, _amount in groups:
        if status == "published":
            published[district] = published.get(district, 0) + count
    funded = dict(db.session.execute(
        select(Enterprise.district, func.count(Lead.id)).join(Lead.need).join(Need.enterprise)
        .where(Lead.status == "funded").group_by(Enterprise.district)).all())
    return [(d, ents[d], published.get(d, 0), funded.get(d, 0)) for d in sorted(ents)]


# --- targets ------------------------------------------------------------------------------------

def targets() -> list[Target]:
    return list(db.session.scalars(select(Target).order_by(Target.key)))


@guarded(can_edit_targets, message="只有平台管理员可以修改目标值")
def update_target(actor, target: Target, value: Decimal, source: str) -> Target:
    """A new target value with the document it comes from (no source, no target)."""
    if not (source or "").strip():
        raise ServiceError("请注明目标值的政策依据", field="source")
    before = {"value": str(target.value), "source": target.source}
    target.value, target.source = value, source.strip()
    target.updated_by_id = actor.id
    record(actor, "monitoring.target_updated", target, key=target.key, before=before,
           value=str(value))
    db.session.flush()
    return target


@dataclass
class Check:
    """A figure beside its target: behind is True when the figure misses it."""

    target: Target
    figure: Decimal | None
    goal: Decimal

    @property
    def behind(self) -> bool | None:
        if self.figure is None:
            return None
        if self.target.direction == "max":
            return self.figure > self.goal
        return self.figure < self.goal


def _months(period: Period) -> int:
    return {"month": 1, "quarter": 3, "year": 12}[period.kind]


def checks(ind: Indicators) -> dict[str, Check]:
    """Each target with the period's figure. A yearly count (enterprises served) is prorated
    to the period's months."""
    figures = {"borrowers_growth": ind.borrowers_growth,
               "first_loan_growth": ind.first_loan_growth,
               "long_term_share_change": ind.long_term_share_change,
               "credit_share_change": ind.credit_share_change,
               "rate_change": ind.rate_change,
               # under a size slice the activities are not counted: no target to compare with
               "enterprises_served": (None if ind.served.by_activities is None
                                      else Decimal(ind.served.total))}
    out = {}
    for target in targets():
        goal = target.value
        if target.unit == "家次":
            goal = goal * _months(ind.period) / 12
        out[target.key] = Check(target, figures.get(target.key), goal)
    return out


# --- off-platform activities ------------------------------------------------------------------

@guarded(can_record_activity, message="只有组织方可以登记对接活动")
def record_activity(actor, *, kind: str, title: str, day: date, enterprises: int,
                    institutions: int = 0, attendees: str | None = None,
                    district: str | None = None) -> Activity:
    """An off-platform 路演 / 银担企对接: a district organizer records its own district's."""
    if actor.district:
        district = actor.district
    if day > clock.china_today():
        raise ServiceError("活动日期不能晚于今天", field="day")
    activity = Activity(kind=kind, title=title.strip(), day=day, district=district or None,
                        enterprises=enterprises, institutions=institutions,
                        attendees=(attendees or "").strip() or None, created_by_id=actor.id)
    db.session.add(activity)
    db.session.flush()
    record(actor, "monitoring.activity_recorded", activity, kind=kind,
           enterprises=enterprises)
    return activity


@guarded(can_edit_targets, message="只有平台管理员可以修改考核权重")
def update_criterion(actor, criterion: ScoreCriterion, weight: Decimal,
                     source: str) -> ScoreCriterion:
    """A scorecard criterion's weight (points out of 100) and where it comes from."""
    if not (source or "").strip():
        raise ServiceError("请注明依据", field="source")
    before = {"weight": str(criterion.weight), "source": criterion.source}
    criterion.weight, criterion.source = weight, source.strip()
    record(actor, "monitoring.criterion_updated", criterion, key=criterion.key, before=before,
           weight=str(weight))
    db.session.flush()
    return criterion
