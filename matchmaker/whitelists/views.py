"""Whitelist pages: organizers' batches (entries, spreadsheet, rules, push review, progress,
report, history), the 白名单督办 list, enterprise flags; the banks' pushed entries."""
import json
import logging
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..accounts.permissions import register_predicates, roles_required
from ..audit.labels import action_label
from ..audit.service import record
from ..enterprises import service as enterprises
from ..enterprises import spreadsheet
from ..enterprises.models import Enterprise, Need
from ..enterprises.permissions import visible_enterprises, visible_needs
from ..errors import ServiceError
from ..extensions import db
from ..institutions.models import Institution
from ..leads.permissions import can_view_lead
from ..web.actions import attempt
from . import answers, imports, pushing, report, rules, service
from .forms import (
    ActionForm,
    AddPushForm,
    ClearFlagForm,
    DisbursementForm,
    EntryEditForm,
    EntryForm,
    FilterForm,
    FlagForm,
    ImportCommitForm,
    ImportForm,
    NeedSearchForm,
    ReasonForm,
    SuperviseForm,
    WhitelistForm,
)
from .models import EnterpriseFlag, Push, Whitelist, WhitelistEntry
from .permissions import (
    PREDICATES,
    can_edit_whitelist,
    can_push_whitelist,
    can_record_disbursement,
    visible_pushes,
    visible_whitelists,
)

log = logging.getLogger(__name__)
bp = Blueprint("whitelists", __name__, url_prefix="/whitelists")
register_predicates(bp, PREDICATES)
bp.add_app_template_global(answers.answer_of, "whitelist_answer")

BANK = ("bank_manager", "bank_admin")
ENTRIES_PER_PAGE = 50


def _me():
    return current_user._get_current_object()


def _whitelist(whitelist_id: int) -> Whitelist:
    return db.one_or_404(visible_whitelists(current_user).where(Whitelist.id == whitelist_id))


def _entry(whitelist: Whitelist, entry_id: int) -> WhitelistEntry:
    return db.one_or_404(select(WhitelistEntry).where(WhitelistEntry.id == entry_id,
                                                      WhitelistEntry.whitelist_id == whitelist.id))


def _back(whitelist: Whitelist, anchor: str = ""):
    return redirect(url_for(".show", whitelist_id=whitelist.id) + anchor)


def _form_errors(form) -> str:
    return "；".join(e for errors in form.errors.values() for e in errors)


def _act(whitelist: Whitelist, apply, success: str, anchor: str = ""):
    """The shape of every state-changing button: CSRF, one service call, commit once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        result = apply()
    if done:
        flash(success(result) if callable(success) else success, "success")
    return _back(whitelist, anchor)


# --- the organizers' list and the batch heading ----------------------------------------------------

@bp.get("/")
@roles_required("organizer")
def index():
    form = FilterForm(request.args)
    query = visible_whitelists(current_user)
    if form.status.data:
        query = query.where(Whitelist.status == form.status.data)
    if form.kind.data:
        query = query.where(Whitelist.kind == form.kind.data)
    if form.q.data:
        query = query.where(Whitelist.title.contains(form.q.data.strip()))
    query = query.order_by(Whitelist.issued_on.desc(), Whitelist.id.desc())
    page = db.paginate(query, per_page=20, error_out=False)
    return render_template("whitelists/index.html", page=page, form=form,
                           filtered=any(v for k, v in request.args.items() if k != "page"))


@bp.route("/new", methods=["GET", "POST"])
@roles_required("organizer")
def new():
    form = WhitelistForm()
    if not form.is_submitted():
        form.issued_on.data = clock.china_today()
        form.answer_deadline.data = service.default_deadline()
        form.per_entry.data = service.default_per_entry()
        form.share_percent.data = int(service.default_share() * 100)
        form.issuing_body.data = current_user.organization
    if form.validate_on_submit():
        with attempt(form, "title") as done:
            whitelist = service.create_whitelist(_me(), **form.values())
        if not done:
            return render_template("whitelists/form.html", form=form, whitelist=None), 400
        flash("白名单已创建。下一步：从平台需求中添加企业，或上传区县汇总表。", "success")
        return _back(whitelist)
    status = 400 if form.is_submitted() else 200
    return render_template("whitelists/form.html", form=form, whitelist=None), status


@bp.route("/<int:whitelist_id>/edit", methods=["GET", "POST"])
@roles_required("organizer")
def edit(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    if not can_edit_whitelist(current_user, whitelist):
        flash(f"白名单当前状态为“{whitelist.status_label}”，您不能修改。", "warning")
        return _back(whitelist)
    form = WhitelistForm(obj=whitelist if request.method == "GET" else None)
    if request.method == "GET":
        form.share_percent.data = int(whitelist.share * 100)
    if form.validate_on_submit():
        with attempt(form, "title") as done:
            service.update_whitelist(_me(), whitelist, **form.values())
        if not done:
            return render_template("whitelists/form.html", form=form, whitelist=whitelist), 400
        flash("白名单信息已保存。", "success")
        return _back(whitelist)
    status = 400 if form.is_submitted() else 200
    return render_template("whitelists/form.html", form=form, whitelist=whitelist), status


@bp.get("/<int:whitelist_id>")
@roles_required("organizer")
def show(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    query = (select(WhitelistEntry).where(WhitelistEntry.whitelist_id == whitelist.id)
             .options(selectinload(WhitelistEntry.pushes), selectinload(WhitelistEntry.need))
             .order_by(WhitelistEntry.position, WhitelistEntry.id))
    page = db.paginate(query, per_page=ENTRIES_PER_PAGE, error_out=False)
    problems = rules.entry_problems(whitelist, page.items)
    all_problems = rules.entry_problems(whitelist)
    may_push = can_push_whitelist(current_user, whitelist)
    options = {e.id: pushing.eligible_institutions(e.need) for e in page.items} if may_push else {}
    institutions = db.session.scalars(select(Institution).order_by(Institution.name)).all() \
        if may_push else []
    return render_template(
        "whitelists/show.html", whitelist=whitelist, page=page, problems=problems,
        blocked_count=sum(rules.blocked(p) for p in all_problems.values()),
        figures=report.progress(whitelist).total, options=options, institutions=institutions,
        loads=pushing.institution_loads(whitelist) if whitelist.status != "closed" else [],
        action_form=ActionForm(), push_form=AddPushForm(formdata=None),
        return_form=ReasonForm(formdata=None), flags=rules.live_flags(
            [e.enterprise_id for e in page.items]), blocked=rules.blocked)


@bp.post("/<int:whitelist_id>/submit")
@roles_required("organizer")
def submit(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    return _act(whitelist, lambda: service.submit_whitelist(_me(), whitelist),
                "已报送市级，报送后由市级组织方审核和推送，本区县只能查看。")


@bp.post("/<int:whitelist_id>/return")
@roles_required("organizer")
def send_back(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_form_errors(form) or "请填写退回原因。", "danger")
        return _back(whitelist)
    with attempt() as done:
        service.return_whitelist(_me(), whitelist, form.reason.data)
    if done:
        flash("已退回区县修改。", "success")
    return _back(whitelist)


@bp.post("/<int:whitelist_id>/close")
@roles_required("organizer")
def close(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    return _act(whitelist, lambda: service.close_whitelist(_me(), whitelist),
                "白名单已结束，此后只读；如需更正请创建新版本。")


@bp.post("/<int:whitelist_id>/versions")
@roles_required("organizer")
def new_version(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        copy = service.new_version(_me(), whitelist)
    if not done:
        return _back(whitelist)
    flash(f"已创建第{copy.version}版（草稿），名单条目已复制，请更正后重新报送推送。", "success")
    return _back(copy)


@bp.get("/<int:whitelist_id>/history")
@roles_required("organizer")
def history(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    page = db.paginate(service.history(whitelist), per_page=50, error_out=False)
    return render_template("whitelists/history.html", whitelist=whitelist, page=page,
                           action_label=action_label)


# --- entries ------------------------------------------------------------------------------------

@bp.get("/<int:whitelist_id>/entries/add")
@roles_required("organizer")
def add_entries(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    if not can_edit_whitelist(current_user, whitelist):
        flash(f"白名单当前状态为“{whitelist.status_label}”，不能添加企业。", "warning")
        return _back(whitelist)
    form = NeedSearchForm(request.args)
    query = enterprises.filter_needs(visible_needs(current_user), q=(form.q.data or "").strip()
                                     or None, district=whitelist.owner_district)
    query = query.where(Need.status.in_(("published", "in_progress")))
    page = db.paginate(query, per_page=20, error_out=False)
    listed = set(db.session.scalars(select(WhitelistEntry.need_id).where(
        WhitelistEntry.whitelist_id == whitelist.id)))
    return render_template("whitelists/add_entries.html", whitelist=whitelist, form=form,
                           page=page, listed=listed, entry_form=EntryForm(formdata=None),
                           defaults=service.entry_values_from_need,
                           recommender=current_user.organization or "")


@bp.post("/<int:whitelist_id>/entries")
@roles_required("organizer")
def add_entry(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    form = EntryForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(url_for(".add_entries", whitelist_id=whitelist.id))
    need_id = int(form.need_id.data) if form.need_id.data.isdigit() else -1
    need = db.one_or_404(visible_needs(current_user).where(Need.id == need_id))
    with attempt() as done:
        entry = service.add_entry(_me(), whitelist, need, **form.values())
    if done:
        flash(f"已将 {need.enterprise.name}（{need.ref}）列入名单"
              + ("。" if entry.consent else "，但企业未同意推送，该条目不会推送。"), "success")
    return redirect(url_for(".add_entries", whitelist_id=whitelist.id,
                            q=request.args.get("q", "")))


@bp.route("/<int:whitelist_id>/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required("organizer")
def edit_entry(whitelist_id, entry_id):
    whitelist = _whitelist(whitelist_id)
    entry = _entry(whitelist, entry_id)
    if not can_edit_whitelist(current_user, whitelist):
        flash(f"白名单当前状态为“{whitelist.status_label}”，不能修改条目。", "warning")
        return _back(whitelist)
    form = EntryEditForm(obj=entry if request.method == "GET" else None)
    if form.validate_on_submit():
        with attempt(form, "recommender") as done:
            service.update_entry(_me(), entry, **form.values())
        if not done:
            return render_template("whitelists/entry_form.html", whitelist=whitelist,
                                   entry=entry, form=form), 400
        flash("条目已保存。", "success")
        return _back(whitelist, f"#entry-{entry.id}")
    return render_template("whitelists/entry_form.html", whitelist=whitelist, entry=entry,
                           form=form), 400 if form.is_submitted() else 200


@bp.post("/<int:whitelist_id>/entries/<int:entry_id>/remove")
@roles_required("organizer")
def remove_entry(whitelist_id, entry_id):
    whitelist = _whitelist(whitelist_id)
    entry = _entry(whitelist, entry_id)
    return _act(whitelist, lambda: service.remove_entry(_me(), entry), "已将该企业移出名单。")


# --- spreadsheet ------------------------------------------------------------------------------------

@bp.get("/<int:whitelist_id>/import/template.xlsx")
@roles_required("organizer")
def import_template(whitelist_id):
    _whitelist(whitelist_id)
    data = spreadsheet.build_template(current_user)
    name = quote("白名单汇总表模板.xlsx")
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument."
                                   "spreadsheetml.sheet", headers={
        "Content-Disposition": f"attachment; filename=whitelist-template.xlsx; "
                               f"filename*=UTF-8''{name}"})


@bp.route("/<int:whitelist_id>/import", methods=["GET", "POST"])
@roles_required("organizer")
def import_upload(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    if not can_edit_whitelist(current_user, whitelist):
        flash(f"白名单当前状态为“{whitelist.status_label}”，不能导入。", "warning")
        return _back(whitelist)
    form = ImportForm()
    if not form.is_submitted():
        form.recommender.data = current_user.organization
    if not form.validate_on_submit():
        return _render_upload(whitelist, form), 400 if form.is_submitted() else 200
    upload = form.file.data
    data = upload.read(spreadsheet.max_bytes() + 1)
    try:
        rows = spreadsheet.read_upload(upload.filename, data)
    except spreadsheet.SpreadsheetRejected as rejected:
        return _render_upload(whitelist, form, rejected.messages), 400
    plan = imports.plan_import(_me(), whitelist, rows)
    log.info("whitelist %s spreadsheet preview by user %s: %s rows, %s errors", whitelist.id,
             current_user.id, len(rows), len(plan.errors))
    token = spreadsheet.stash_rows(current_user, upload.filename, rows)
    return _render_preview(whitelist, plan, upload.filename, token, form.recommender.data)


@bp.post("/<int:whitelist_id>/import/commit")
@roles_required("organizer")
def import_commit(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    form = ImportCommitForm()
    if not form.validate_on_submit():
        return _render_upload(whitelist, ImportForm(formdata=None), ["预览已失效，请重新上传文件"]), 400
    try:
        key, filename, rows = spreadsheet.load_rows(current_user, form.payload.data)
    except spreadsheet.SpreadsheetRejected as rejected:
        return _render_upload(whitelist, ImportForm(formdata=None), rejected.messages), 400
    choices = {int(k.removeprefix("choice_")): v for k, v in request.form.items()
               if k.startswith("choice_") and k.removeprefix("choice_").isdigit()}
    # all or nothing; what was refused is listed on the preview page again
    with attempt(shown=(spreadsheet.SpreadsheetRejected, ServiceError)) as done:
        entries = imports.commit_import(_me(), whitelist, rows, choices, form.recommender.data)
    if not done:
        whitelist = _whitelist(whitelist_id)
        plan = imports.plan_import(_me(), whitelist, rows, choices)
        refused = getattr(done.error, "messages", None) or [done.message]
        plan.extra_errors.extend(m for m in refused if m not in plan.errors)
        return _render_preview(whitelist, plan, filename, form.payload.data,
                               form.recommender.data, failed=True), 400
    spreadsheet.discard_rows(key)
    flash(f"导入完成：{len(entries)} 户企业已列入名单。", "success")
    return _back(whitelist)


def _render_upload(whitelist, form, errors=None):
    return render_template("whitelists/import_upload.html", whitelist=whitelist, form=form,
                           errors=errors or [], max_bytes=spreadsheet.max_bytes(),
                           max_text=spreadsheet.size_text(spreadsheet.max_bytes()))


def _render_preview(whitelist, plan, filename, payload, recommender, failed=False):
    return render_template(
        "whitelists/import_preview.html", whitelist=whitelist, plan=plan,
        preview=plan.preview, filename=filename, failed=failed,
        errors=plan.errors[:spreadsheet.MAX_ERRORS_SHOWN],
        form=ImportCommitForm(formdata=None, payload=payload, recommender=recommender))


# --- the push review -----------------------------------------------------------------------------

@bp.post("/<int:whitelist_id>/propose")
@roles_required("organizer")
def propose(whitelist_id):
    whitelist = _whitelist(whitelist_id)

    def said(result):
        over = result.over_cap
        return (f"已生成推送方案：单家机构上限 {result.cap} 户"
                + (f"；{len(over)} 家机构因部分企业只有它可推送而超出上限" if over else "") + "。")
    return _act(whitelist, lambda: pushing.propose(_me(), whitelist), said, "#push-review")


@bp.post("/<int:whitelist_id>/entries/<int:entry_id>/pushes")
@roles_required("organizer")
def add_push(whitelist_id, entry_id):
    whitelist = _whitelist(whitelist_id)
    entry = _entry(whitelist, entry_id)
    form = AddPushForm()
    if not form.validate_on_submit():
        flash(_form_errors(form) or "请选择金融机构。", "danger")
        return _back(whitelist, f"#entry-{entry.id}")
    institution = db.get_or_404(Institution, form.institution_id.data)
    anchor = f"#entry-{entry.id}"
    with attempt() as done:
        pushing.add_push(_me(), entry, institution)
    if done:
        flash(f"已将{institution.name}加入该企业的推送方案。", "success")
    return _back(whitelist, anchor)


@bp.post("/<int:whitelist_id>/pushes/<int:push_id>/remove")
@roles_required("organizer")
def remove_push(whitelist_id, push_id):
    whitelist = _whitelist(whitelist_id)
    push = db.one_or_404(select(Push).join(Push.entry).where(
        Push.id == push_id, WhitelistEntry.whitelist_id == whitelist.id))
    anchor = f"#entry-{push.entry_id}"
    return _act(whitelist, lambda: pushing.remove_push(_me(), push), "已从推送方案中移除该机构。",
                anchor)


@bp.post("/<int:whitelist_id>/push")
@roles_required("organizer")
def push(whitelist_id):
    whitelist = _whitelist(whitelist_id)

    def said(result):
        if not result.sent:
            return "没有新的推送内容：已推送的条目不会重复推送。"
        return result.summary() + "。各机构管理员已收到通知。"
    return _act(whitelist, lambda: pushing.push_whitelist(_me(), whitelist), said)


# --- progress, report ------------------------------------------------------------------------------

@bp.get("/<int:whitelist_id>/progress")
@roles_required("organizer")
def progress(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    figures = report.progress(whitelist)
    return render_template("whitelists/progress.html", whitelist=whitelist, figures=figures,
                           chart=json.dumps(figures.chart(), ensure_ascii=False, default=str))


@bp.get("/<int:whitelist_id>/report.xlsx")
@roles_required("organizer")
def export(whitelist_id):
    whitelist = _whitelist(whitelist_id)
    data = report.export_xlsx(whitelist, current_user, clock.china_today())
    record(_me(), "whitelist.exported", whitelist, entries=len(whitelist.entries))
    db.session.commit()
    name = quote(f"{whitelist.title}-对接情况.xlsx")
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument."
                                   "spreadsheetml.sheet", headers={
        "Content-Disposition": f"attachment; filename=whitelist-{whitelist.id}.xlsx; "
                               f"filename*=UTF-8''{name}"})


# --- 督办 ------------------------------------------------------------------------------------------

@bp.get("/supervision")
@roles_required("organizer")
def supervision():
    today = clock.china_today()
    query = answers.supervised_pushes(current_user, today).order_by(
        Push.institution_id, Whitelist.answer_deadline, Push.id)
    page = db.paginate(query, per_page=30, error_out=False)
    return render_template("whitelists/supervision.html", page=page, today=today,
                           summary=answers.overdue_by_institution(current_user, today),
                           form=SuperviseForm(formdata=None))


@bp.post("/pushes/<int:push_id>/supervise")
@roles_required("organizer")
def supervise(push_id):
    push = db.one_or_404(answers.supervised_pushes(current_user).where(Push.id == push_id))
    form = SuperviseForm()
    if not form.validate_on_submit():
        flash(_form_errors(form) or "请填写督办情况。", "danger")
        return redirect(url_for(".supervision"))
    with attempt() as done:
        answers.supervise_push(_me(), push, form.note.data)
    if done:
        flash("督办情况已记录，机构管理员将收到通知。", "success")
    return redirect(url_for(".supervision"))


# --- enterprise flags ------------------------------------------------------------------------------

@bp.get("/flags")
@roles_required("organizer")
def flags():
    enterprise_ids = visible_enterprises(current_user).with_only_columns(Enterprise.id)
    query = (select(EnterpriseFlag).where(EnterpriseFlag.enterprise_id.in_(enterprise_ids))
             .order_by(EnterpriseFlag.cleared_at.is_not(None), EnterpriseFlag.set_at.desc(),
                       EnterpriseFlag.id.desc()))
    page = db.paginate(query, per_page=20, error_out=False)
    target = None
    if request.args.get("enterprise_id", "").isdigit():
        target = db.one_or_404(visible_enterprises(current_user).where(
            Enterprise.id == int(request.args["enterprise_id"])))
    form = FlagForm(formdata=None, enterprise_id=target.id if target else None)
    return render_template("whitelists/flags.html", page=page, target=target, form=form,
                           clear_form=ClearFlagForm(formdata=None),
                           live=rules.live_flags([target.id]) if target else {})


@bp.post("/flags")
@roles_required("organizer")
def set_flag():
    form = FlagForm()
    if not form.validate_on_submit() or not form.enterprise_id.data.isdigit():
        flash(_form_errors(form) or "请选择企业。", "danger")
        return redirect(url_for(".flags"))
    enterprise = db.one_or_404(visible_enterprises(current_user).where(
        Enterprise.id == int(form.enterprise_id.data)))
    with attempt() as done:
        rules.set_flag(_me(), enterprise, form.reason.data)
    if not done:
        return redirect(url_for(".flags", enterprise_id=enterprise.id))
    flash(f"已将{enterprise.name}标记为困难企业，其白名单条目将不再推送。", "success")
    return redirect(url_for(".flags"))


@bp.post("/flags/<int:flag_id>/clear")
@roles_required("organizer")
def clear_flag(flag_id):
    enterprise_ids = visible_enterprises(current_user).with_only_columns(Enterprise.id)
    flag = db.one_or_404(select(EnterpriseFlag).where(
        EnterpriseFlag.id == flag_id, EnterpriseFlag.enterprise_id.in_(enterprise_ids)))
    form = ClearFlagForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt() as done:
        rules.clear_flag(_me(), flag, form.note.data)
    if done:
        flash("已解除困难企业标记。", "success")
    return redirect(url_for(".flags"))


# --- the banks --------------------------------------------------------------------------------------

@bp.get("/bank")
@roles_required(*BANK)
def bank_index():
    query = visible_pushes(current_user).join(Push.entry).join(WhitelistEntry.whitelist)
    batches = db.session.execute(
        query.with_only_columns(Whitelist.id, Whitelist.title, Whitelist.version)
        .distinct().order_by(Whitelist.id.desc())).all()
    chosen = request.args.get("whitelist_id", type=int)
    if chosen:
        query = query.where(Whitelist.id == chosen)
    query = query.order_by(Whitelist.answer_deadline.desc(), Whitelist.id.desc(),
                           WhitelistEntry.position, Push.id)
    page = db.paginate(query, per_page=30, error_out=False)
    return render_template("whitelists/bank_index.html", page=page, batches=batches,
                           chosen=chosen, today=clock.china_today(), can_view_lead=can_view_lead)


def _bank_push(push_id: int) -> Push:
    return db.one_or_404(visible_pushes(current_user).where(Push.id == push_id))


@bp.get("/bank/pushes/<int:push_id>")
@roles_required(*BANK)
def bank_push(push_id):
    push = _bank_push(push_id)
    form = DisbursementForm(formdata=None)
    _prefill(form, push)
    return render_template("whitelists/bank_push.html", push=push, form=form,
                           today=clock.china_today())


def _prefill(form, push: Push) -> None:
    lead = push.lead
    form.amount_wan.data = push.disbursed_amount_wan or lead.approved_amount_wan
    form.rate.data = push.disbursed_rate or lead.approved_rate
    form.term_months.data = push.disbursed_term_months or lead.approved_term_months
    form.disbursed_on.data = push.disbursed_on or clock.china_today()


@bp.post("/bank/pushes/<int:push_id>/disbursement")
@roles_required(*BANK)
def record_disbursement(push_id):
    push = _bank_push(push_id)
    if not can_record_disbursement(current_user, push):
        flash("只有已授信的白名单企业，由经办客户经理或机构管理员登记放款。", "danger")
        return redirect(url_for(".bank_push", push_id=push.id))
    form = DisbursementForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            answers.record_disbursement(
                _me(), push, amount_wan=form.amount_wan.data, rate=form.rate.data,
                term_months=form.term_months.data, disbursed_on=form.disbursed_on.data)
        if not done:
            return render_template("whitelists/bank_push.html", push=_bank_push(push_id),
                                   form=form, today=clock.china_today()), 400
        flash("放款情况已登记。", "success")
        return redirect(url_for(".bank_push", push_id=push.id))
    return render_template("whitelists/bank_push.html", push=push, form=form,
                           today=clock.china_today()), 400
