"""Administrators keep the dated policy figures: LPR quotes, subsidy programs, settings, and
the working-day calendar."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..accounts.permissions import roles_required
from ..extensions import db
from ..matching.service import pending_recompute
from ..web.actions import attempt
from . import service, workdays
from .forms import DeleteForm, LprQuoteForm, SettingForm, WorkdayForm, program_edit_form
from .models import Setting, SubsidyProgram, WorkdayOverride

bp = Blueprint("policy", __name__, url_prefix="/admin/policy")


@bp.get("/")
@roles_required("admin")
def index():
    return render_template("policy/index.html", quotes=service.lpr_quotes(),
                           programs=service.programs(), settings=service.all_settings(),
                           setting_fields=service.SETTING_FIELDS, lpr_kinds=service.LPR_KINDS,
                           program_fields=service.PROGRAM_SETTING_FIELDS,
                           describe=service.describe_program)


@bp.route("/rates/new", methods=["GET", "POST"])
@roles_required("admin")
def add_rate():
    form = LprQuoteForm()
    if form.validate_on_submit():
        with attempt(form, "rate") as done:
            quote = service.add_lpr_quote(current_user, form.kind.data, form.rate.data,
                                          form.effective_from.data)
        if not done:
            return render_template("policy/rate_form.html", form=form), 400
        job = pending_recompute()
        if job is not None:
            flash("LPR报价已录入，正在按新的利率重新计算匹配结果。", "success")
        elif service.lpr_moved(quote, clock.china_today()):
            flash("LPR报价已录入，按该报价定价的产品已重新定价，正在更新它们的匹配结果。", "success")
        else:
            flash("LPR报价已录入。现行利率未变（报价与现行相同，或尚未生效），匹配结果无需重新计算。",
                  "success")
        return redirect(url_for(".index", job=job))
    status = 400 if form.is_submitted() else 200
    return render_template("policy/rate_form.html", form=form), status


def _other_codes(program) -> list[tuple[str, str]]:
    return [(p.code, p.label) for p in service.programs()
            if program is None or p.id != program.id]


def _what_matching_does(program: SubsidyProgram, job) -> str:
    """After a programme's change: its recompute, or why there is none."""
    if job is not None:
        return "正在更新受影响需求的匹配结果。"
    if not program.in_force(clock.china_today()):
        return "该政策今日不在有效期内，匹配结果暂不变化；生效当天夜间的全部重新计算会将其纳入。"
    return "改动的是政策依据、原文摘录或申请方式，匹配结果不受影响。"


@bp.route("/programs/new", methods=["GET", "POST"])
@roles_required("admin")
def new_program():
    form = program_edit_form(None, _other_codes(None))
    if form.validate_on_submit():
        with attempt(form, "label") as done:
            program = service.create_program(current_user, form.code.data, form.values())
        if done:
            job = pending_recompute(programme=program.code)
            flash(f"已新增政策“{program.label}”，{_what_matching_does(program, job)}", "success")
            return redirect(url_for(".index", job=job))
        return render_template("policy/program_form.html", form=form, program=None), 400
    status = 400 if form.is_submitted() else 200
    return render_template("policy/program_form.html", form=form, program=None), status


@bp.route("/programs/<int:program_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_program(program_id):
    program = db.get_or_404(SubsidyProgram, program_id)
    form = program_edit_form(program, _other_codes(program))
    if request.method == "POST":
        form = program_edit_form(None, _other_codes(program), formdata=request.form)
    versions = service.program_versions(program)
    if form.validate_on_submit():
        with attempt(form, "label") as done:
            service.edit_program(current_user, program, form.values())
        if done:
            job = pending_recompute(programme=program.code)
            flash(f"“{program.label}”已更新为第{program.version}版，"
                  f"{_what_matching_does(program, job)}", "success")
            return redirect(url_for(".index", job=job))
        return render_template("policy/program_form.html", form=form, program=program,
                               versions=versions), 400
    status = 400 if form.is_submitted() else 200
    return render_template("policy/program_form.html", form=form, program=program,
                           versions=versions), status


# --- which products a programme applies to (organizers) --------------------------------------

@bp.get("/confirmations")
@roles_required("organizer", "admin")
def confirmations():
    from ..institutions.models import Product

    pending = service.pending_confirmations()
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_({pid for pid, _ in pending})))} if pending else {}
    confirmed = list(db.session.scalars(select(Product).join(Product.confirmations).distinct()
                                        .order_by(Product.id.desc()).limit(200)))
    labels = {p.code: p.label for p in service.programs()}
    return render_template("policy/confirmations.html", form=DeleteForm(), labels=labels,
                           pending=[(products[pid], code) for pid, code in pending
                                    if pid in products], confirmed=confirmed,
                           counts=service.pending_counts())


@bp.post("/confirmations/programmes/<code>/confirm-all")
@roles_required("organizer", "admin")
def confirm_all(code):
    """Every pending declaration of one programme at once (after an upgrade)."""
    if not DeleteForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        ids = service.confirm_all_pending(current_user, code)
    if done:
        flash(f"已确认{len(ids)}个产品适用此项政策，相关匹配正在重新计算。", "success")
    return redirect(url_for(".confirmations"))


@bp.post("/confirmations/<int:product_id>/<code>/confirm")
@roles_required("organizer", "admin")
def confirm_programme(product_id, code):
    return _decide(product_id, code, "confirm")


@bp.post("/confirmations/<int:product_id>/<code>/revoke")
@roles_required("organizer", "admin")
def revoke_programme(product_id, code):
    return _decide(product_id, code, "revoke")


def _decide(product_id, code, action):
    from ..institutions.models import Product

    product = db.get_or_404(Product, product_id)
    if code not in product.subsidy_programs:
        abort(404)
    if not DeleteForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        if action == "confirm":
            service.confirm_program(current_user, product, code)
        else:
            service.revoke_program(current_user, product, code)
    if done:
        flash("已确认该产品适用此项政策，相关匹配正在重新计算。" if action == "confirm"
              else "已撤销确认，相关匹配正在重新计算。", "success")
    return redirect(url_for(".confirmations"))


@bp.route("/settings/<key>", methods=["GET", "POST"])
@roles_required("admin")
def edit_setting(key):
    if key not in service.SETTING_FIELDS:
        abort(404)
    row = db.session.get(Setting, key)
    form = SettingForm(data={"value": row.value if row else None})
    label = service.SETTING_FIELDS[key][0]
    if form.validate_on_submit():
        before = row.value if row else None
        with attempt(form, "value") as done:
            row = service.update_setting(current_user, key, form.value.data)
        if not done:
            return render_template("policy/setting_form.html", form=form, key=key,
                                   label=label), 400
        flash(f"“{label}”未改动。" if row.value == before else f"“{label}”已更新。", "success")
        return redirect(url_for(".index", job=pending_recompute(setting=key)))
    status = 400 if form.is_submitted() else 200
    return render_template("policy/setting_form.html", form=form, key=key, label=label), status


# --- working-day calendar (admin) -------------------------------------------------------------

@bp.route("/workdays", methods=["GET", "POST"])
@roles_required("admin")
def workdays_page():
    form = WorkdayForm()
    if form.validate_on_submit():
        with attempt(form, "day") as done:
            workdays.save_workday_override(current_user, form.day.data,
                                          form.is_working.data == "1", form.note.data)
        if done:
            flash(f"{form.day.data} 已设为{'工作日' if form.is_working.data == '1' else '休息日'}。",
                  "success")
            return redirect(url_for(".workdays_page", year=form.day.data.year))
    year = request.args.get("year", type=int) or clock.china_today().year
    return render_template(
        "policy/workdays.html", form=form, year=year, delete_form=DeleteForm(),
        overrides=workdays.workday_overrides(year), known=workdays.calendar_knows(year),
        missing=workdays.unknown_years(clock.china_today().year, clock.china_today().year + 1),
        settings={"contact": service.setting("first_contact_working_days", 2),
                  "decision": service.setting("decision_working_days", 10)}
    ), 400 if form.is_submitted() else 200


@bp.post("/workdays/<day>/delete")
@roles_required("admin")
def delete_workday(day):
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    row = db.get_or_404(WorkdayOverride, parsed)
    if not DeleteForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        workdays.delete_workday_override(current_user, row)
    if done:
        flash(f"已删除 {parsed} 的设置，该日恢复按国务院节假日安排（或周一至周五）计算。",
              "success")
    return redirect(url_for(".workdays_page", year=parsed.year))
