"""The public 金融超市: browse, filter, search, a product's page; the organizers' 产品手册 export."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import clock, jobs, vocab
from ..accounts.permissions import roles_required
from ..extensions import db
from ..institutions.models import Product
from ..institutions.service import product_record
from ..institutions.service import product_version as find_version
from ..web.actions import attempt
from ..web.pagecache import cached_page
from . import service
from .export import GROUPINGS

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


@bp.get("/")
@cached_page
def index():
    filters = service.parse_filters(request.args)
    page = service.catalog_page(filters)
    return render_template("catalog/index.html", page=page, f=filters,
                           code_filters=service.CODE_FILTERS,
                           districts=vocab.codes("districts"))


def _viewable(product_id: int) -> Product:
    """Published products are public; the institution's own users and organizers also see
    a draft, paused or retired one (a preview, or a lead's product that left the shelf)."""
    product = db.get_or_404(Product, product_id)
    if product.status == "published":
        return product
    user = current_user
    if user.is_authenticated and (user.role in ("organizer", "admin") or (
            user.institution_id is not None and user.institution_id == product.institution_id)):
        return product
    abort(404)


@bp.get("/products/<int:product_id>")
def product(product_id):
    item = _viewable(product_id)
    return render_template(
        "catalog/product.html", product=item,
        conditions=service.describe_terms(product_record(item), item),
        example=service.worked_example(item, clock.china_today()),
        versions=list(reversed(item.versions)))


@bp.get("/products/<int:product_id>/versions/<int:number>")
def product_version(product_id, number):
    """A published version stays readable for as long as anything refers to it (a match or
    a lead keeps the version it saw), whatever the product's state now."""
    item = db.get_or_404(Product, product_id)
    version = find_version(item, number)
    if version is None:
        abort(404)
    return render_template("catalog/version.html", product=item, version=version,
                           conditions=service.describe_terms(version.terms))


@bp.post("/export")
@roles_required("organizer", "admin")
def export():
    """Start the 产品手册 as a job; the catalogue shows its progress, then the download."""
    grouping = request.form.get("group") or "purpose"
    if grouping not in GROUPINGS:
        abort(400)
    with attempt() as done:
        started = jobs.enqueue("catalog.product_pool", {"grouping": grouping},
                               actor=current_user._get_current_object(),
                               description=f"导出产品手册（{GROUPINGS[grouping]}）")
    if not done:
        return redirect(url_for(".index"))
    flash("已开始导出产品手册：完成后可在上方下载文件。", "info")
    return redirect(url_for(".index", job=started.id))
