"""The public 政策明白卡: each programme in force, who qualifies, what it pays, how to apply,
and the document it comes from — rendered from the programmes' data (issue 15)."""
from flask import Blueprint, render_template

from .. import clock
from . import service

bp = Blueprint("policy_cards", __name__, url_prefix="/policy")


@bp.get("/")
def cards():
    today = clock.china_today()
    programs = service.programs_in_force(today)
    return render_template("policy/cards.html", today=today,
                           cards=[(p, service.describe_program(p)) for p in programs])
