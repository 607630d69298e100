"""Institution pages (profile, products with versions) and the organizers' core-enterprise list."""
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, select

from ..accounts.models import BANK_ROLES
from ..accounts.permissions import register_predicates, roles_required
from ..catalog.service import describe_terms
from ..enterprises.models import Enterprise
from ..enterprises.permissions import visible_enterprises
from ..extensions import db
from ..matching import service as matching_service
from ..web.actions import attempt
from . import service
from .forms import (
    ConfirmAliasForm,
    CoreEnterpriseForm,
    CoreGroupForm,
    DeleteForm,
    InstitutionProfileForm,
    ProductForm,
)
from .models import PRODUCT_STATUS_LABELS, CoreEnterprise, CoreEnterpriseGroup, Product
from .permissions import POOL_ROLES, PREDICATES, visible_products

bp = Blueprint("institutions", __name__)
register_predicates(bp, PREDICATES)

STATUS_ORDER = case({"published": 0, "paused": 1, "draft": 2, "retired": 3},
                    value=Product.status)
FLASHES = {"publish": "产品已发布，已出现在金融超市。", "pause": "产品已暂停，金融超市和匹配中不再出现。",
           "retire": "产品已下架。下架不可恢复，历史版本仍可查阅。"}


def _own_product(product_id: int) -> Product:
    return db.one_or_404(visible_products(current_user).where(Product.id == product_id))


@bp.get("/institution/products")
@roles_required(*BANK_ROLES)
def products():
    status = request.args.get("status")
    query = visible_products(current_user)
    if status in PRODUCT_STATUS_LABELS:
        query = query.where(Product.status == status)
    page = db.paginate(query.order_by(STATUS_ORDER, Product.updated_at.desc(), Product.id),
                       per_page=20, error_out=False)
    return render_template("institutions/products.html", page=page, status=status,
                           statuses=PRODUCT_STATUS_LABELS,
                           institution=current_user.institution)


def _product_form(product: Product | None = None) -> ProductForm:
    names = [e.name for e in service.core_enterprises()]
    declared = product.subsidy_programs if product is not None else ()
    if product is None or request.method == "POST":
        return ProductForm().setup(names, declared)
    form = ProductForm(obj=product, version_seen=str(product.version))
    form.industries.data = ", ".join(product.industries)
    return form.setup(names, declared)


@bp.route("/institution/products/new", methods=["GET", "POST"])
@roles_required("bank_admin")
def new_product():
    form = _product_form()
    if form.validate_on_submit():
        with attempt(form, "name") as done:
            product = service.create_product(current_user, current_user.institution,
                                             **form.terms())
        if not done:
            return render_template("institutions/product_form.html", form=form,
                                   product=None), 400
        flash("产品草稿已保存。核对无误后点击“发布”，产品即出现在金融超市。", "success")
        return redirect(url_for(".product", product_id=product.id))
    status = 400 if form.is_submitted() else 200
    return render_template("institutions/product_form.html", form=form, product=None), status


@bp.get("/institution/products/<int:product_id>")
@roles_required(*BANK_ROLES)
def product(product_id):
    item = _own_product(product_id)
    return render_template("institutions/product.html", product=item,
                           conditions=describe_terms(service.product_record(item), item),
                           versions=list(reversed(item.versions)))


@bp.route("/institution/products/<int:product_id>/edit", methods=["GET", "POST"])
@roles_required("bank_admin")
def edit_product(product_id):
    item = _own_product(product_id)
    if item.status == "retired":
        flash("已下架的产品不能再修改。", "warning")
        return redirect(url_for(".product", product_id=item.id))
    form = _product_form(item)
    action = request.form.get("action")
    if form.validate_on_submit():
        if item.status == "published" and action != "confirm":
            if action == "back":  # 返回修改: the form again, as it was filled
                return render_template("institutions/product_form.html", form=form,
                                       product=item)
            # a published product's change goes to the market at once: show it first
            return render_template("institutions/product_preview.html", form=form,
                                   product=item, changes=_changes(form, item))
        was = item.version
        seen = int(form.version_seen.data) if (form.version_seen.data or "").isdigit() else None
        with attempt(form, "name") as done:
            service.update_product(current_user, item, version_seen=seen, **form.terms())
        if not done:
            return render_template("institutions/product_form.html", form=form,
                                   product=item), 400
        flash(f"修改已保存并发布为第{item.version}版。" if item.version != was
              else "修改已保存。", "success")
        return redirect(url_for(".product", product_id=item.id, job=matching_service.pending_recompute(product_id=item.id)))
    status = 400 if form.is_submitted() else 200
    return render_template("institutions/product_form.html", form=form, product=item), status


def _shown(form, name: str, value) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        # choices are SelectChoice (value, label, …) or (value, label) pairs
        labels = {(c.value, c.label) if hasattr(c, "label") else tuple(c)[:2]
                  for c in getattr(form[name], "choices", None) or []}
        labels = dict(labels)
        return "、".join(str(labels.get(v, v)) for v in value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _changes(form, item) -> list[tuple[str, str, str]]:
    """(label, now, after) for each term the edit changes: what the preview shows before a
    new version of a published product is published."""
    rows = []
    lpr = form.rate_basis.data in ("lpr_1y", "lpr_5y")
    for name, after in form.terms().items():
        if lpr and name in ("rate_min", "rate_max"):
            continue  # computed from the LPR in force, not entered
        now = getattr(item, name)
        if isinstance(now, (list, tuple)) or isinstance(after, (list, tuple)):
            same = sorted(map(str, now or [])) == sorted(map(str, after or []))
        elif isinstance(now, Decimal) or isinstance(after, Decimal):
            same = (now is None) == (after is None) and (now is None or Decimal(now) == Decimal(after))
        else:
            same = (now or None) == (after or None)
        if not same:
            label = form[name].label.text if name in form else name
            rows.append((label, _shown(form, name, now), _shown(form, name, after)))
    return rows


def _change_status(product_id: int, action: str):
    item = _own_product(product_id)
    with attempt() as done:
        service.change_product_status(current_user, item, action)
    if done:
        flash(FLASHES[action], "success")
        return redirect(url_for(".product", product_id=product_id, job=matching_service.pending_recompute(product_id=item.id)))
    return redirect(url_for(".product", product_id=product_id))



@bp.post("/institution/products/<int:product_id>/publish")
@roles_required("bank_admin")
def publish_product(product_id):
    return _change_status(product_id, "publish")


@bp.post("/institution/products/<int:product_id>/pause")
@roles_required("bank_admin")
def pause_product(product_id):
    return _change_status(product_id, "pause")


@bp.post("/institution/products/<int:product_id>/retire")
@roles_required("bank_admin")
def retire_product(product_id):
    return _change_status(product_id, "retire")


@bp.route("/institution/profile", methods=["GET", "POST"])
@roles_required("bank_admin")
def profile():
    institution = current_user.institution
    form = InstitutionProfileForm(obj=institution)
    if form.validate_on_submit():
        fields = {name: form[name].data for name in service.PROFILE_FIELDS}
        with attempt(form, "kind") as done:
            service.update_institution(current_user, institution,
                                       districts=form.districts.data or [], **fields)
        if not done:
            return render_template("institutions/profile.html", form=form,
                                   institution=institution), 400
        flash("机构信息已保存。", "success")
        return redirect(url_for(".profile"))
    status = 400 if form.is_submitted() else 200
    return render_template("institutions/profile.html", form=form,
                           institution=institution), status


# --- core-enterprise list: organizers and administrators ------------------------------------

@bp.get("/core-enterprises")
@roles_required(*POOL_ROLES)
def core_enterprises():
    query = select(CoreEnterprise).order_by(CoreEnterprise.name)
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(CoreEnterprise.name.contains(q))
    page = db.paginate(query, per_page=30, error_out=False)
    to_confirm = len(service.stated_names_to_confirm(_stating_enterprises()))
    return render_template("institutions/core_enterprises.html", page=page, q=q,
                           to_confirm=to_confirm)


def _stating_enterprises():
    """Organizers see their district's enterprises (a city organizer all); admins all."""
    if current_user.role == "admin":
        return select(Enterprise)
    return visible_enterprises(current_user)


@bp.route("/core-enterprises/new", methods=["GET", "POST"])
@roles_required(*POOL_ROLES)
def new_core_enterprise():
    return _core_enterprise_form(None, CoreEnterpriseForm())


def _matching_after(change) -> str:
    """What a change to the core-enterprise list left to matching, for the flash."""
    if change.job is not None:
        return "供应链融资需求正在后台重新匹配。"
    return "匹配所依据的名称、简称和集团成员未变，匹配结果不受影响。"


def _job_id(change) -> int | None:
    return change.job.id if change.job is not None else None


@bp.route("/core-enterprises/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required(*POOL_ROLES)
def edit_core_enterprise(entry_id):
    entry = db.get_or_404(CoreEnterprise, entry_id)
    form = CoreEnterpriseForm(obj=entry)
    if request.method == "GET":
        form.aliases.data = "\n".join(a.alias for a in entry.aliases)
        form.cluster.data = entry.cluster or ""
    return _core_enterprise_form(entry, form)


def _core_enterprise_form(entry, form):
    template = "institutions/core_enterprise_form.html"
    if form.validate_on_submit():
        with attempt(form, "name") as done, \
                matching_service.supply_chain_change(current_user) as change:
            saved = service.save_core_enterprise(
                current_user, entry, name=form.name.data, uscc=form.uscc.data,
                cluster=form.cluster.data or None, aliases=form.alias_list())
        if not done:
            return render_template(template, form=form, entry=entry), 400
        entry = saved
        flash(f"已保存“{entry.name}”，{_matching_after(change)}", "success")
        return redirect(url_for(".core_enterprises", job=_job_id(change)))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, entry=entry), status


@bp.get("/core-enterprises/names")
@roles_required(*POOL_ROLES)
def stated_names():
    names = service.stated_names_to_confirm(_stating_enterprises())
    return render_template("institutions/stated_names.html", names=names,
                           entries=service.core_enterprises())


@bp.post("/core-enterprises/names/confirm")
@roles_required(*POOL_ROLES)
def confirm_alias():
    form = ConfirmAliasForm()
    form.core_enterprise_id.choices = [(e.id, e.name) for e in service.core_enterprises()]
    if not form.validate_on_submit():
        flash("请选择对应的核心企业。", "danger")
        return redirect(url_for(".stated_names"))
    entry = db.get_or_404(CoreEnterprise, form.core_enterprise_id.data)
    with attempt() as done, matching_service.supply_chain_change(current_user) as change:
        service.confirm_alias(current_user, entry, form.alias.data)
    if done:
        flash(f"已确认“{form.alias.data}”即“{entry.name}”，{_matching_after(change)}", "success")
        return redirect(url_for(".stated_names", job=_job_id(change)))
    return redirect(url_for(".stated_names"))


# --- core-enterprise groups (集团): organizers and administrators ----------------------------

@bp.get("/core-enterprises/groups")
@roles_required(*POOL_ROLES)
def core_groups():
    return render_template("institutions/core_groups.html", groups=service.core_groups(),
                           delete_form=DeleteForm())


@bp.route("/core-enterprises/groups/new", methods=["GET", "POST"])
@roles_required(*POOL_ROLES)
def new_core_group():
    return _core_group_form(None, _group_form())


@bp.route("/core-enterprises/groups/<int:group_id>/edit", methods=["GET", "POST"])
@roles_required(*POOL_ROLES)
def edit_core_group(group_id):
    group = db.get_or_404(CoreEnterpriseGroup, group_id)
    form = _group_form(group)
    if request.method == "GET":
        form.aliases.data = "\n".join(a.alias for a in group.aliases)
        form.members.data = [str(m.id) for m in group.members]
    return _core_group_form(group, form)


def _group_form(group=None) -> CoreGroupForm:
    form = CoreGroupForm(obj=group if request.method == "GET" else None)
    form.members.choices = [(str(e.id), e.name + (f"（{e.group.name}）" if e.group and e.group
                                                   is not group else ""))
                            for e in service.core_enterprises()]
    return form


def _core_group_form(group, form):
    template = "institutions/core_group_form.html"
    if form.validate_on_submit():
        with attempt(form, "name") as done, \
                matching_service.supply_chain_change(current_user) as change:
            saved = service.save_core_group(
                current_user, group, name=form.name.data, aliases=form.alias_list(),
                member_ids=form.member_ids(), note=form.note.data)
        if not done:
            return render_template(template, form=form, group=group), 400
        group = saved
        flash(f"已保存“{group.name}”集团（{len(group.members)}家成员企业），"
              f"{_matching_after(change)}", "success")
        return redirect(url_for(".core_groups", job=_job_id(change)))
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, group=group), status


@bp.post("/core-enterprises/groups/<int:group_id>/delete")
@roles_required(*POOL_ROLES)
def delete_core_group(group_id):
    group = db.get_or_404(CoreEnterpriseGroup, group_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    name = group.name
    with attempt() as done, matching_service.supply_chain_change(current_user) as change:
        service.delete_core_group(current_user, group)
    if done:
        flash(f"已删除“{name}”集团，其成员企业仍在名单库中；{_matching_after(change)}", "success")
        return redirect(url_for(".core_groups", job=_job_id(change)))
    return redirect(url_for(".core_groups"))
