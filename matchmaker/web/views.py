from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..audit.labels import action_label
from ..audit.models import AuditEntry
from ..enterprises import verification
from ..enterprises.forms import ClaimAmendForm
from ..enterprises.models import Enterprise, EnterpriseClaim, Need
from ..enterprises.permissions import can_review_claims, own_claims, visible_claims
from ..extensions import db
from ..institutions.models import Institution, Product
from ..monitoring.service import organizer_overview
from .pagecache import cached_page, remembered

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return render_template("web/landing.html", stats=_public_stats())


@bp.get("/home")
@login_required
@cached_page
def home():
    handler = {"enterprise": _enterprise_home, "bank_manager": _bank_home,
               "bank_admin": _bank_home, "organizer": _organizer_home,
               "admin": _admin_home, "applicant": _applicant_home}[current_user.role]
    return handler()


def _public_stats() -> dict:
    return {
        "institutions": db.session.scalar(select(func.count(Institution.id))),
        "products": db.session.scalar(
            select(func.count(Product.id)).where(Product.status == "published")),
    }


def _pending_claims() -> int:
    """Claim requests waiting on this organizer or enterprise admin."""
    if not can_review_claims(current_user):
        return 0
    pending = visible_claims(current_user).where(EnterpriseClaim.status == "pending")
    return db.session.scalar(select(func.count()).select_from(pending.subquery()))


def _enterprise_home():
    enterprise = current_user.enterprise
    needs = db.session.scalars(select(Need).where(Need.enterprise_id == enterprise.id)
                               .order_by(Need.created_at.desc()).limit(10)).all()
    return render_template("web/home_enterprise.html", enterprise=enterprise, needs=needs,
                           pending_claims=_pending_claims())


def _applicant_home():
    """A person whose claim on a known enterprise waits (or was refused): what they asked,
    what happened, what they can still add. Nothing of the enterprise but its name."""
    claims = db.session.scalars(own_claims(current_user)
                                .order_by(EnterpriseClaim.created_at.desc())).all()
    latest = claims[0] if claims else None
    form = ClaimAmendForm(formdata=None, obj=latest if latest and latest.status == "pending"
                          else None)
    return render_template("web/home_applicant.html", claims=claims, latest=latest,
                           form=form)


def _bank_home():
    institution = current_user.institution
    products = db.session.scalars(select(Product).where(Product.institution_id == institution.id)
                                  .order_by(Product.status, Product.name)).all()
    return render_template("web/home_bank.html", institution=institution, products=products)


def _organizer_home():
    pending = db.session.scalar(select(func.count()).select_from(
        verification.pending_registrations(current_user).subquery()))
    return render_template("web/home_organizer.html",
                           overview=organizer_overview(current_user, remembered),
                           pending_claims=_pending_claims(), pending_registrations=pending)


def _admin_home():
    recent = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(10)).all()
    counts = {"enterprises": db.session.scalar(select(func.count(Enterprise.id))),
              "needs": db.session.scalar(select(func.count(Need.id))),
              "institutions": db.session.scalar(select(func.count(Institution.id))),
              "products": db.session.scalar(select(func.count(Product.id)))}
    return render_template("web/home_admin.html", recent=recent, counts=counts,
                           action_label=action_label)
