"""The pipeline figures: leads by status, time to first contact, SLA compliance and conversion,
per manager and per product (a bank admin, own institution) or per institution (organizers,
across institutions). Read-only; computed over the claims and leads of a window of days."""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..institutions.models import Product
from .models import CLAIM_LIVE, LEAD_STATUSES, Claim, Lead

WINDOWS = {30: "近30天", 90: "近90天", 180: "近180天", 365: "近一年"}


@dataclass
class Figures:
    """One row of the tables: a manager, a product or an institution."""

    label: str
    key: int | None = None  # the manager's or institution's id
    claims: int = 0
    contact_counted: int = 0  # contacted (on time or late), lapsed, or pushed and unclaimed
    contact_on_time: int = 0
    lapsed: int = 0
    unclaimed: int = 0  # pushed leads nobody claimed within the claim deadline
    hours: list = field(default_factory=list)  # claim -> first contact, in hours
    decision_counted: int = 0  # decided, or still undecided past the deadline
    decision_on_time: int = 0
    leads: int = 0  # per product: leads on which the product was matched
    approved: int = 0
    funded: int = 0

    @property
    def contact_sla(self) -> float | None:
        return self.contact_on_time / self.contact_counted if self.contact_counted else None

    @property
    def decision_sla(self) -> float | None:
        return self.decision_on_time / self.decision_counted if self.decision_counted else None

    @property
    def avg_hours(self) -> float | None:
        return sum(self.hours) / len(self.hours) if self.hours else None

    @property
    def conversion(self) -> float | None:
        base = self.leads or self.claims
        return self.approved / base if base else None


@dataclass
class Pipeline:
    days: int
    by_status: dict
    total: Figures
    managers: list
    products: list
    institutions: list


def _add_claim(row: Figures, claim: Claim, today) -> None:
    row.claims += 1
    if claim.contacted_at is not None:
        row.contact_counted += 1
        row.contact_on_time += clock.china_date(claim.contacted_at) <= claim.contact_due
        row.hours.append((claim.contacted_at - claim.claimed_at).total_seconds() / 3600)
    elif claim.status == "lapsed":
        row.contact_counted += 1
        row.lapsed += 1
    elif claim.decided_at is not None:  # answered with no contact logged: not on time
        row.contact_counted += 1
    if claim.decided_at is not None:
        row.decision_counted += 1
        row.decision_on_time += clock.china_date(claim.decided_at) <= claim.decision_due
    elif claim.status in CLAIM_LIVE and today > claim.decision_due:
        row.decision_counted += 1
    row.approved += claim.status == "approved"
    row.funded += claim.status == "approved" and claim.lead.status == "funded"


def pipeline(*, institution_id: int | None = None, district: str | None = None,
             days: int = 180) -> Pipeline:
    """The figures for one institution (bank admin) or all (organizer; a district organizer's
    view is limited to the district's enterprises)."""
    since = clock.now() - timedelta(days=days)
    today = clock.china_today()
    claims_q = (select(Claim).join(Claim.need).join(Need.enterprise)
                .where(Claim.claimed_at >= since)
                .options(selectinload(Claim.lead), selectinload(Claim.institution))
                .order_by(Claim.id))
    leads_q = (select(Lead).join(Lead.need).join(Need.enterprise)
               .where(Lead.created_at >= since).order_by(Lead.id))
    if institution_id is not None:
        claims_q = claims_q.where(Claim.institution_id == institution_id)
        leads_q = leads_q.where(Lead.institution_id == institution_id)
    if district:
        claims_q = claims_q.where(Enterprise.district == district)
        leads_q = leads_q.where(Enterprise.district == district)
    claims = db.session.scalars(claims_q).all()
    leads = db.session.scalars(leads_q).all()
    total, managers, institutions = Figures("合计"), {}, {}
    for claim in claims:
        _add_claim(total, claim, today)
        _add_claim(managers.setdefault(claim.manager_id,
                                           Figures(claim.manager.name, claim.manager_id)), claim,
                   today)
        _add_claim(institutions.setdefault(claim.institution_id,
                                           Figures(claim.institution.name)), claim, today)
    by_status = {status: 0 for status in LEAD_STATUSES}
    for lead in leads:
        by_status[lead.status] += 1
        if lead.unclaimed_at is not None:  # the push went unanswered: against the institution
            for row in (total, institutions.setdefault(lead.institution_id,
                                                       Figures(lead.institution.name))):
                row.unclaimed += 1
                row.contact_counted += 1
    return Pipeline(days=days, by_status=by_status, total=total,
                    managers=sorted(managers.values(), key=lambda r: -r.claims),
                    products=_product_rows(leads),
                    institutions=sorted(institutions.values(), key=lambda r: -r.claims))


def _product_rows(leads) -> list[Figures]:
    """Per product: the leads it was matched on, and those approved / funded under it."""
    rows: dict[int, Figures] = {}
    ids = {m["product_id"] for lead in leads for m in (lead.matched or [])}
    ids |= {lead.outcome_product_id for lead in leads if lead.outcome_product_id}
    names = dict(db.session.execute(select(Product.id, Product.name)
                                    .where(Product.id.in_(ids))).all()) if ids else {}
    for lead in leads:
        for match in lead.matched or []:
            pid = match["product_id"]
            rows.setdefault(pid, Figures(names.get(pid, f"产品#{pid}"))).leads += 1
        if lead.outcome == "approved" and lead.outcome_product_id:
            row = rows.setdefault(lead.outcome_product_id,
                                  Figures(names.get(lead.outcome_product_id, "—")))
            row.approved += 1
            row.funded += lead.status == "funded"
    return sorted(rows.values(), key=lambda r: (-r.leads, r.label))
