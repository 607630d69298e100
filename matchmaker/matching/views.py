from flask import Blueprint, render_template
from flask_login import current_user

from ..accounts.permissions import roles_required
from . import queries

bp = Blueprint("matching", __name__)


@bp.get("/institution/reach")
@roles_required("bank_manager", "bank_admin")
def reach():
    """Per product of the bank: how many open needs it matches and their total amount.
    Figures only: enterprise details reach a bank through consented leads."""
    return render_template("matching/reach.html",
                           rows=queries.product_reach(current_user.institution_id),
                           computed_at=queries.reach_computed_at(current_user.institution_id))
