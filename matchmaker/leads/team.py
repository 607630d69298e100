"""The institution's team, as its admin runs it: each account manager with the leads they
hold now (overdue and due today counted on the Beijing date) and their on-time record over
the pipeline's window. Read-only; 派单/改派 and a manager leaving are claims.assign_lead and
accounts.service.deactivate_member (whose signal hands the leads back)."""
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import clock
from ..accounts.models import User
from ..extensions import db
from .models import CLAIM_LIVE, Claim, Lead
from .permissions import visible_leads
from .pipeline import Figures, pipeline


@dataclass
class Member:
    user: User
    figures: Figures
    claims: list = field(default_factory=list)  # live claims, soonest deadline first
    overdue: int = 0
    due_today: int = 0


def due(claim: Claim):
    """The deadline the manager is working to: first contact, then the decision."""
    return claim.due


def roster(institution_id: int, days: int = 180) -> list[Member]:
    """Every account manager of the institution (active first, then by name), with the live
    claims they hold and their figures (pipeline.Figures, same window and rules)."""
    managers = db.session.scalars(select(User).where(
        User.institution_id == institution_id, User.role == "bank_manager")
        .order_by(User.active.desc(), User.name, User.id)).all()
    figures = {}
    data = pipeline(institution_id=institution_id, days=days)
    for row in data.managers:
        figures[row.key] = row
    live = db.session.scalars(select(Claim).where(
        Claim.institution_id == institution_id, Claim.status.in_(CLAIM_LIVE))
        .options(selectinload(Claim.lead).selectinload(Lead.need))
        .order_by(Claim.id)).all()
    today = clock.china_today()
    members = {u.id: Member(u, figures.get(u.id) or Figures(u.name)) for u in managers}
    for claim in sorted(live, key=lambda c: (due(c), c.id)):
        member = members.get(claim.manager_id)
        if member is None:
            continue
        member.claims.append(claim)
        member.overdue += due(claim) < today
        member.due_today += due(claim) == today
    return list(members.values())


def unassigned(user) -> int:
    """Open leads of the admin's institution nobody holds (the inbox's 待认领)."""
    query = visible_leads(user).where(Lead.status == "open")
    return db.session.scalar(select(func.count()).select_from(query.subquery()))
