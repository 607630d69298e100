"""Enterprise profile, needs (form, page, lifecycle), organizer search and spreadsheet import."""
import logging

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock, industries, vocab
from ..accounts.permissions import register_predicates, roles_required
from ..audit.labels import action_label
from ..extensions import db
from ..institutions.models import Institution
from ..leads.service import need_has_leads  # the need page shows its leads too
from ..mail import send_mail
from ..matching import queries as matching
from ..policy import service as policy
from ..web import once
from ..web.actions import attempt
from ..web.pagecache import cached_page
from . import members, service, spreadsheet, verification
from .forms import (
    LOAN_KIND_HELP,
    PURPOSE_HELP,
    ClaimAmendForm,
    ClaimDecisionForm,
    EnterpriseProfileForm,
    FirstUserInviteForm,
    ImportCommitForm,
    ImportUploadForm,
    NeedForm,
    NeedStatusForm,
    OwnershipForm,
    RegistrationCheckForm,
    SearchForm,
    TagVerifyForm,
)
from .models import NEED_STATUS_LABELS, Enterprise, EnterpriseClaim, Need
from .permissions import (
    PREDICATES,
    can_change_need_status,
    can_check_registration,
    can_edit_need,
    can_invite_first_user,
    can_review_claims,
    can_verify_tag,
    own_claims,
    visible_claims,
    visible_enterprises,
    visible_needs,
)

log = logging.getLogger(__name__)
bp = Blueprint("enterprises", __name__)
register_predicates(bp, PREDICATES)
# for the enterprise home page (web.home renders it with the enterprise only)
bp.add_app_template_global(service.profile_gaps, "enterprise_profile_gaps")
bp.add_app_template_global(service.profile_completeness, "enterprise_profile_completeness")

IMPORT_ENDPOINTS = ("enterprises.import_upload", "enterprises.import_commit")


def _me():
    return current_user._get_current_object()


# --- the company profile ------------------------------------------------------------------------

@bp.get("/enterprise")
@roles_required("enterprise")
def profile():
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == current_user.enterprise_id))
    return _render_profile(enterprise)


@bp.get("/enterprises/<int:enterprise_id>")
@roles_required("organizer")
def show(enterprise_id):
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == enterprise_id))
    return _render_profile(enterprise)


def _render_profile(enterprise: Enterprise, invite_form=None):
    needs = db.session.scalars(visible_needs(current_user)
                               .where(Need.enterprise_id == enterprise.id)
                               .order_by(Need.created_at.desc()).limit(20)).all()
    return render_template(
        "enterprises/profile.html", enterprise=enterprise, needs=needs,
        basis=service.size_basis(enterprise), gaps=service.profile_gaps(enterprise),
        completeness=service.profile_completeness(enterprise), verify_form=TagVerifyForm(),
        ownership_form=OwnershipForm(ownership=enterprise.ownership or ""),
        check_form=RegistrationCheckForm(formdata=None),
        can_check=can_check_registration(current_user, enterprise),
        **_accounts_context(enterprise, invite_form))


def _accounts_context(enterprise: Enterprise, invite_form=None) -> dict:
    """The organizer's view of the firm's accounts: its users, an open first-user invitation,
    the invitation form while it has none, and the claim requests waiting on it."""
    if current_user.role != "organizer":
        return {"account_card": False}
    users = members.enterprise_users(enterprise)
    form = invite_form
    if form is None and not users and can_invite_first_user(current_user, enterprise):
        form = FirstUserInviteForm(formdata=None, name=enterprise.contact_name)
    return {"account_card": True, "enterprise_users": users,
            "open_invitations": members.open_first_user_invitations(enterprise),
            "invite_form": form if not users else None,
            "pending_claims": _pending_claims(EnterpriseClaim.enterprise_id == enterprise.id),
            "decision_form": ClaimDecisionForm(formdata=None, back="enterprise")}


def _pending_claims(*where) -> list[EnterpriseClaim]:
    return db.session.scalars(visible_claims(current_user).where(
        EnterpriseClaim.status == "pending", *where)
        .order_by(EnterpriseClaim.created_at)).all()


@bp.post("/enterprises/<int:enterprise_id>/invite")
@roles_required("organizer")
def invite_first_user(enterprise_id):
    """A collected firm's first user, invited from its page (then its admin invites)."""
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == enterprise_id))
    form = FirstUserInviteForm()
    if not form.validate_on_submit():
        return _render_profile(enterprise, invite_form=form), 400
    with attempt(form, "email") as done:
        invitation, token = members.invite_first_user(
            _me(), enterprise, email=form.email.data, name=form.name.data)
        link = url_for("accounts.accept_invitation", token=token, _external=True)
        # inside the block: a mail that cannot be sent leaves no invitation behind
        send_mail(invitation.email, "【银企融资对接平台】邀请您开通企业账号",
                  f"{invitation.name}，您好：\n\n{current_user.organization or current_user.name}"
                  f"邀请您作为“{enterprise.name}”的企业管理员开通银企融资对接平台账号。开通后可查看和"
                  f"发布本企业的融资需求，并邀请同事加入。\n请在72小时内打开以下链接设置密码：\n{link}\n"
                  "\n如果您不是该企业的员工，请忽略本邮件。\n\n银企融资对接平台")
    if not done:
        return _render_profile(enterprise, invite_form=form), 400
    flash(f"邀请已发送至 {invitation.email}，链接72小时内有效，仅可使用一次。", "success")
    return redirect(url_for(".show", enterprise_id=enterprise.id))


# --- self-registered firms awaiting an organizer's check (verification) ---------------------

@bp.get("/enterprises/registrations")
@roles_required("organizer")
def registrations():
    pending = db.session.scalars(verification.pending_registrations(current_user)
                                 .order_by(Enterprise.created_at)).all()
    return render_template("enterprises/registrations.html", pending=pending,
                           check_form=RegistrationCheckForm(formdata=None, back="list"))


def _checked(enterprise_id: int) -> tuple[Enterprise, RegistrationCheckForm]:
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == enterprise_id))
    form = RegistrationCheckForm()
    if not form.validate_on_submit():
        abort(400)
    return enterprise, form


def _after_check(enterprise: Enterprise, form: RegistrationCheckForm):
    if form.back.data == "list":
        return redirect(url_for(".registrations"))
    return redirect(url_for(".show", enterprise_id=enterprise.id))


@bp.post("/enterprises/<int:enterprise_id>/registration/confirm")
@roles_required("organizer")
def confirm_registration(enterprise_id):
    enterprise, form = _checked(enterprise_id)
    with attempt() as done:
        verification.confirm_registration(_me(), enterprise)
    if done:
        flash(f"已核验“{enterprise.name}”：其需求现在可以推送给金融机构。", "success")
    return _after_check(enterprise, form)


@bp.post("/enterprises/<int:enterprise_id>/registration/refuse")
@roles_required("organizer")
def refuse_registration(enterprise_id):
    enterprise, form = _checked(enterprise_id)
    with attempt() as done:
        verification.refuse_registration(_me(), enterprise, form.reason.data)
    if done:
        flash(f"“{enterprise.name}”的注册未通过核验，其账号已停用并已通知注册人。", "success")
    return _after_check(enterprise, form)


# --- claim requests: the approvers' queue, the decisions, the requester's additions ------------

@bp.get("/enterprises/claims")
@roles_required("organizer", "enterprise")
def claims():
    if not can_review_claims(current_user):
        abort(403)  # an enterprise user who is not its admin
    decided = db.session.scalars(visible_claims(current_user).where(
        EnterpriseClaim.status != "pending").order_by(EnterpriseClaim.decided_at.desc())
        .limit(20)).all()
    return render_template("enterprises/claims.html", pending=_pending_claims(),
                           decided=decided, decision_form=ClaimDecisionForm(formdata=None))


def _decided_claim(claim_id: int) -> tuple[EnterpriseClaim, ClaimDecisionForm]:
    claim = db.one_or_404(visible_claims(current_user).where(EnterpriseClaim.id == claim_id))
    form = ClaimDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    return claim, form


def _after_decision(claim: EnterpriseClaim, form: ClaimDecisionForm):
    if form.back.data == "enterprise" and current_user.role == "organizer":
        return redirect(url_for(".show", enterprise_id=claim.enterprise_id))
    return redirect(url_for(".claims"))


@bp.post("/enterprises/claims/<int:claim_id>/approve")
@roles_required("organizer", "enterprise")
def approve_claim(claim_id):
    claim, form = _decided_claim(claim_id)
    with attempt() as done:
        user = members.approve_claim(_me(), claim)
    if done:
        flash(f"已通过：{user.name} 现为“{claim.enterprise.name}”的企业"
              f"{'管理员' if user.is_enterprise_admin else '用户'}。", "success")
    return _after_decision(claim, form)


@bp.post("/enterprises/claims/<int:claim_id>/refuse")
@roles_required("organizer", "enterprise")
def refuse_claim(claim_id):
    claim, form = _decided_claim(claim_id)
    with attempt() as done:
        members.refuse_claim(_me(), claim, form.reason.data)
    if done:
        flash(f"已不予通过 {claim.requester.name} 的申请，申请人将看到您填写的原因。", "success")
    return _after_decision(claim, form)


def _own_claim(claim_id: int) -> tuple[EnterpriseClaim, ClaimAmendForm | None]:
    claim = db.one_or_404(own_claims(current_user).where(EnterpriseClaim.id == claim_id))
    form = ClaimAmendForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "danger")
        return claim, None
    return claim, form


@bp.post("/claims/<int:claim_id>/amend")
@roles_required("applicant")
def amend_claim(claim_id):
    claim, form = _own_claim(claim_id)
    if form is not None:
        with attempt() as done:
            members.amend_claim(_me(), claim, position=form.position.data,
                                note=form.note.data)
        if done:
            flash("补充说明已保存，审核人可以看到。", "success")
    return redirect(url_for("web.home"))


@bp.post("/claims/<int:claim_id>/reapply")
@roles_required("applicant")
def reapply_claim(claim_id):
    claim, form = _own_claim(claim_id)
    if form is not None:
        with attempt() as done:
            members.reapply(_me(), claim, position=form.position.data, note=form.note.data)
        if done:
            flash("已重新提交申请，请等待审核。", "success")
    return redirect(url_for("web.home"))


@bp.route("/enterprise/edit", methods=["GET", "POST"])
@roles_required("enterprise")
def edit_profile():
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == current_user.enterprise_id))
    form = EnterpriseProfileForm(obj=enterprise if request.method == "GET" else None)
    if request.method == "GET":
        form.fill_tags(enterprise)
    if form.validate_on_submit():
        with attempt(form, "name") as done:
            service.update_profile(_me(), enterprise, tags=form.tags(), **form.values())
        if not done:
            return _render_profile_form(form), 400
        flash("企业信息已保存。", "success")
        return redirect(url_for(".profile"))
    return _render_profile_form(form), 400 if form.is_submitted() else 200


def _render_profile_form(form):
    return render_template("enterprises/profile_form.html", form=form)


@bp.post("/enterprises/<int:enterprise_id>/tags/<code>/verify")
@roles_required("organizer")
def verify_tag(enterprise_id, code):
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == enterprise_id))
    form = TagVerifyForm()
    if not form.validate_on_submit() or not can_verify_tag(current_user, enterprise):
        abort(400)
    verified = form.verified.data != "0"
    with attempt() as done:
        service.set_tag_verified(_me(), enterprise, code, verified)
    if done:
        flash(f"“{vocab.label('enterprise_tags', code)}”"
              f"{'已标记为核验通过' if verified else '已撤销核验'}。", "success")
    return redirect(url_for(".show", enterprise_id=enterprise_id))


@bp.post("/enterprises/<int:enterprise_id>/ownership")
@roles_required("organizer")
def set_ownership(enterprise_id):
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == enterprise_id))
    form = OwnershipForm()
    if not form.validate_on_submit():
        flash("请选择有效的控股类型。", "danger")
        return redirect(url_for(".show", enterprise_id=enterprise_id))
    with attempt() as done:
        service.set_ownership(_me(), enterprise, form.ownership.data or None)
    if done:
        flash("控股类型已保存，该企业的融资需求正在重新匹配。", "success")
    return redirect(url_for(".show", enterprise_id=enterprise_id))


# --- needs -------------------------------------------------------------------------------------

@bp.get("/needs")
@roles_required("enterprise")
def needs():
    status = request.args.get("status")
    query = visible_needs(current_user)
    if status in NEED_STATUS_LABELS:
        query = query.where(Need.status == status)
    page = db.paginate(query.order_by(Need.created_at.desc(), Need.id.desc()),
                       per_page=20, error_out=False)
    return render_template("enterprises/needs.html", page=page, status=status,
                           best=matching.shown_bests(page.items), today=clock.china_today())


def _lenders() -> list[Institution]:
    return list(db.session.scalars(select(Institution).order_by(Institution.name)))


@bp.route("/needs/new", methods=["GET", "POST"])
@roles_required("enterprise")
def new_need():
    enterprise = db.one_or_404(visible_enterprises(current_user)
                               .where(Enterprise.id == current_user.enterprise_id))
    initial = {} if request.method == "POST" else service.need_defaults(enterprise)
    form = NeedForm(enterprise, _lenders(), **initial)
    if request.method != "POST":
        form.fill_contact(enterprise, current_user)
    if form.validate_on_submit():
        # one need per rendered form, however often it is posted (issue 17 finding 8)
        if (first := once.begin(form)) is not None:
            return first
        publish = request.form.get("action") != "draft"
        with attempt(form, "purpose") as done:
            service.set_contact(_me(), enterprise, *form.contact())
            need = service.create_need(_me(), enterprise, publish=publish, **form.values())
            once.done(url_for(".need", need_id=need.id))
        if not done:
            return _render_need_form(form, enterprise, None), 400
        flash(f"需求 {need.ref} 已发布，平台正在为您匹配金融产品。" if publish
              else f"需求 {need.ref} 已保存为草稿，发布后才会进行匹配。", "success")
        return redirect(url_for(".need", need_id=need.id))
    return _render_need_form(form, enterprise, None), 400 if form.is_submitted() else 200


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"])
@roles_required("enterprise")
def edit_need(need_id):
    need = db.one_or_404(visible_needs(current_user).where(Need.id == need_id))
    if not can_edit_need(current_user, need):
        flash(f"需求当前状态为“{need.status_label}”，不能修改。", "warning")
        return redirect(url_for(".need", need_id=need.id))
    form = NeedForm(need.enterprise, _lenders())
    if request.method == "GET":
        form.fill(need)
    if form.validate_on_submit():
        with attempt(form, "purpose") as done:
            service.set_contact(_me(), need.enterprise, *form.contact())
            service.update_need(_me(), need, **form.values())
        if not done:
            return _render_need_form(form, need.enterprise, need), 400
        flash("修改已保存，变更已记入需求动态。", "success")
        return redirect(url_for(".need", need_id=need.id))
    return _render_need_form(form, need.enterprise, need), 400 if form.is_submitted() else 200


def _render_need_form(form, enterprise, need):
    # the LPR in force today (a quote dated in the future is not), as a hint beside max_rate
    lpr = policy.lpr_on(clock.china_today(), "lpr_1y") or vocab.reference_rates().get("lpr_1y")
    return render_template(
        "enterprises/need_form.html", form=form, enterprise=enterprise, need=need,
        purpose_help=PURPOSE_HELP, loan_kind_help=LOAN_KIND_HELP, lpr=lpr)


@bp.get("/needs/<int:need_id>")
@roles_required("enterprise", "organizer")
@cached_page
def need(need_id):
    need = db.one_or_404(visible_needs(current_user).where(Need.id == need_id))
    shown = matching.shown_for_need(need)
    return render_template(
        "enterprises/need.html", need=need, timeline=service.need_timeline(need),
        next_statuses=service.next_statuses(current_user, need, has_leads=need_has_leads(need)),
        verbs=service.TRANSITION_VERBS, reason_required=service.REASON_REQUIRED,
        status_form=NeedStatusForm(), purpose_help=PURPOSE_HELP, action_label=action_label,
        matches=shown.matches, near_misses=shown.near_misses, matches_now=shown.now)


@bp.post("/needs/<int:need_id>/status")
@roles_required("enterprise", "organizer")
def change_need_status(need_id):
    need = db.one_or_404(visible_needs(current_user).where(Need.id == need_id))
    form = NeedStatusForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for(".need", need_id=need.id))
    if not can_change_need_status(current_user, need, form.to.data):
        abort(403)
    with attempt() as done:
        service.change_status(_me(), need, form.to.data, form.reason.data)
    if done:
        flash(f"需求已{service.TRANSITION_VERBS[form.to.data]}。", "success")
    return redirect(url_for(".need", need_id=need_id))


# --- organizer search ----------------------------------------------------------------------------

@bp.get("/enterprises")
@roles_required("organizer")
def search():
    form = SearchForm(request.args, district_fixed=current_user.district)
    filters = form.filters()
    if form.kind.data == "needs":
        query = service.filter_needs(visible_needs(current_user), **filters)
    else:
        query = service.filter_enterprises(visible_enterprises(current_user), **filters)
    page = db.paginate(query, per_page=20, error_out=False)
    return render_template("enterprises/search.html", form=form, page=page,
                           kind=form.kind.data or "enterprises")


# --- spreadsheet collection ------------------------------------------------------------------------

@bp.get("/enterprises/import/template.xlsx")
@roles_required("organizer")
def import_template():
    data = spreadsheet.build_template(current_user)
    return Response(data, headers={
        "Content-Disposition": "attachment; filename=needs-template.xlsx; "
                               "filename*=UTF-8''%E8%9E%8D%E8%B5%84%E9%9C%80%E6%B1%82%E9%87%87%E9%9B%86%E6%A8%A1%E6%9D%BF.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/enterprises/import", methods=["GET", "POST"])
@roles_required("organizer")
def import_upload():
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return _render_upload(form), 400 if form.is_submitted() else 200
    upload = form.file.data
    data = upload.read(spreadsheet.max_bytes() + 1)
    try:
        rows = spreadsheet.read_upload(upload.filename, data)
    except spreadsheet.SpreadsheetRejected as rejected:
        return _render_upload(form, rejected.messages), 400
    preview = spreadsheet.plan_rows(_me(), rows)
    log.info("spreadsheet preview by user %s: %s rows, %s errors", current_user.id,
             len(rows), len(preview.errors))
    return _render_preview(preview, upload.filename,
                           spreadsheet.stash_rows(current_user, upload.filename, rows))


@bp.post("/enterprises/import/commit")
@roles_required("organizer")
def import_commit():
    form = ImportCommitForm()
    if not form.validate_on_submit():
        return _render_upload(ImportUploadForm(formdata=None), ["预览已失效，请重新上传文件"]), 400
    try:
        key, filename, rows = spreadsheet.load_rows(current_user, form.payload.data)
    except spreadsheet.SpreadsheetRejected as rejected:
        return _render_upload(ImportUploadForm(formdata=None), rejected.messages), 400
    choices = {int(k.removeprefix("choice_")): v for k, v in request.form.items()
               if k.startswith("choice_") and k.removeprefix("choice_").isdigit()}
    with attempt(shown=spreadsheet.SpreadsheetRejected) as done:  # all or nothing
        preview = spreadsheet.commit_rows(_me(), rows, choices)
    if not done:  # the preview again says why, row by row
        preview = spreadsheet.plan_rows(_me(), rows, choices)
        return _render_preview(preview, filename, form.payload.data, failed=True), 400
    spreadsheet.discard_rows(key)
    flash(f"导入完成：新建企业 {preview.count('create')} 家，更新 {preview.count('update')} 家，"
          f"合并 {preview.count('merge')} 家，发布需求 {preview.need_count} 条。", "success")
    return redirect(url_for(".search"))


def _render_upload(form, errors=None):
    return render_template("enterprises/import_upload.html", form=form, errors=errors or [],
                           max_bytes=spreadsheet.max_bytes(),
                           max_text=spreadsheet.size_text(spreadsheet.max_bytes()),
                           columns=spreadsheet.COLUMNS)


def _render_preview(preview, filename, payload, failed=False):
    return render_template("enterprises/import_preview.html", preview=preview, filename=filename,
                           form=ImportCommitForm(formdata=None, payload=payload), failed=failed,
                           errors=preview.errors[:spreadsheet.MAX_ERRORS_SHOWN])


@bp.errorhandler(413)
def too_large(err):
    """A body over MAX_CONTENT_LENGTH is refused before any view runs; on the import page the
    organizer gets the upload form back with the limit in plain words."""
    if request.endpoint in IMPORT_ENDPOINTS:
        message = spreadsheet.too_large_message(request.content_length)
        return _render_upload(ImportUploadForm(formdata=None), [message]), 413
    from ..web.setup import ERROR_HINTS, ERROR_TITLES

    return render_template("errors/error.html", code=413, title=ERROR_TITLES[413],
                           hint=ERROR_HINTS[413]), 413


# --- core-enterprise suggestions (fetched as one types) ---------------------------------------------

@bp.get("/api/core-enterprises")
@login_required
def core_enterprise_suggest():
    text = (request.args.get("q") or "").strip()[:64]
    return jsonify(suggestions=service.suggest_core_enterprises(text) if text else [])


# --- the industry picker (GB/T 4754—2017; public reference data: the registration form uses it) ---

INDUSTRY_RESULTS = 20


@bp.get("/api/industries")
def industry_search():
    """Entries of the table matching `q` (code, Chinese name, pinyin), best first, as JSON."""
    text = (request.args.get("q") or "").strip()[:32]
    found = industries.search(text, limit=INDUSTRY_RESULTS, min_level=2) if text else []
    return jsonify(query=text, results=[industries.as_json(e) for e in found])
