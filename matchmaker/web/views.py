from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..audit.labels import action_label
from ..audit.models import AuditEntry
from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..institutions.models import Institution, Product
from ..monitoring.service import organizer_overview

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return render_template("web/landing.html", stats=_public_stats())


@bp.get("/home")
@login_required
def home():
    handler = {"enterprise": _enterprise_home, "bank_manager": _bank_home,
               "bank_admin": _bank_home, "organizer": _organizer_home,
               "admin": _admin_home}[current_user.role]
    return handler()


def _public_stats() -> dict:
    return {
        "institutions": db.session.scalar(select(func.count(Institution.id))),
        "products": db.session.scalar(
            select(func.count(Product.id)).where(Product.status == "published")),
    }


def _enterprise_home():
    enterprise = current_user.enterprise
    needs = db.session.scalars(select(Need).where(Need.enterprise_id == enterprise.id)
                               .order_by(Need.created_at.desc()).limit(10)).all()
    return render_template("web/home_enterprise.html", enterprise=enterprise, needs=needs)


def _bank_home():
    institution = current_user.institution
    products = db.session.scalars(select(Product).where(Product.institution_id == institution.id)
                                  .order_by(Product.status, Product.name)).all()
    return render_template("web/home_bank.html", institution=institution, products=products)


def _organizer_home():
    return render_template("web/home_organizer.html", overview=organizer_overview(current_user))


def _admin_home():
    recent = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(10)).all()
    counts = {"enterprises": db.session.scalar(select(func.count(Enterprise.id))),
              "needs": db.session.scalar(select(func.count(Need.id))),
              "institutions": db.session.scalar(select(func.count(Institution.id))),
              "products": db.session.scalar(select(func.count(Product.id)))}
    return render_template("web/home_admin.html", recent=recent, counts=counts,
                           action_label=action_label)
