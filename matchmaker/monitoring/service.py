"""The organizer's home figures, limited to the organizer's district (a 永川区 organizer saw
city-wide counts: 96 enterprises where the district has 8)."""
from dataclasses import dataclass

from sqlalchemy import false, func, or_, select

from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..institutions.models import Institution, InstitutionDistrict, Product
from ..leads.models import Lead
from .permissions import can_view_monitoring, district_of


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


def organizer_overview(user) -> Overview:
    """Counts for the organizer's home: the district's own for a district organizer."""
    district = district_of(user)
    needs = select(Need.status, func.count(Need.id)).join(Need.enterprise)
    purposes = (select(Need.purpose, func.count(Need.id), func.sum(Need.amount_wan))
                .join(Need.enterprise).where(Need.status == "published"))
    enterprises = select(func.count(Enterprise.id))
    institutions = select(func.count(Institution.id))
    products = (select(func.count(Product.id)).join(Institution, Institution.id == Product.institution_id)
                .where(Product.status == "published"))
    if not can_view_monitoring(user):
        enterprises = enterprises.where(false())
    if district:
        needs = needs.where(Enterprise.district == district)
        purposes = purposes.where(Enterprise.district == district)
        enterprises = enterprises.where(Enterprise.district == district)
        institutions = institutions.where(_serving(district))
        products = products.where(_serving(district))
    counts = {"enterprises": db.session.scalar(enterprises),
              "institutions": db.session.scalar(institutions),
              "products": db.session.scalar(products)}
    return Overview(
        district=district, counts=counts,
        by_status=dict(db.session.execute(needs.group_by(Need.status)).all()),
        by_purpose=db.session.execute(purposes.group_by(Need.purpose)).all(),
        districts=[] if district else _district_rows())


def _district_rows() -> list[tuple[str, int, int, int]]:
    """Every district with enterprises, side by side: enterprises, published needs, funded leads."""
    ents = dict(db.session.execute(select(Enterprise.district, func.count(Enterprise.id))
                                   .group_by(Enterprise.district)).all())
    published = dict(db.session.execute(
        select(Enterprise.district, func.count(Need.id)).join(Need.enterprise)
        .where(Need.status == "published").group_by(Enterprise.district)).all())
    funded = dict(db.session.execute(
        select(Enterprise.district, func.count(Lead.id)).join(Lead.need).join(Need.enterprise)
        .where(Lead.status == "funded").group_by(Enterprise.district)).all())
    return [(d, ents[d], published.get(d, 0), funded.get(d, 0)) for d in sorted(ents)]
