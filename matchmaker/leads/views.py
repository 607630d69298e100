"""Leads pages: the bank's inbox and lead page, the enterprise's push and progress pages, the
pipeline, the organizers' 督办 list and the admin's working-day calendar."""
import logging
import random
import time

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from .. import clock
from ..accounts import service as accounts
from ..accounts.models import User
from ..accounts.permissions import register_predicates, roles_required
from ..enterprises import on_behalf
from ..enterprises.models import Need
from ..enterprises.permissions import visible_needs
from ..extensions import db
from ..institutions.models import Product
from ..web import once
from ..web.actions import attempt
from ..web.pagecache import cached_page
from . import claims, consent, outcomes, queries, team
from . import pipeline as figures
from . import push as pushing
from . import scope as scopes
from . import supervision as supervising
from .forms import (
    ApproveForm,
    AssignForm,
    ClaimForm,
    ConfirmFundingForm,
    DeclineForm,
    FollowUpForm,
    InboxFilterForm,
    MemberForm,
    PushForm,
    PushNextForm,
    RateForm,
    ReleaseForm,
    RevokeForm,
    SuperviseForm,
    WithdrawForm,
)
from .models import Claim, Consent, Lead
from .permissions import (
    PREDICATES,
    can_assign_lead,
    can_confirm_funding,
    can_push_need,
    can_rate_lead,
    can_release_lead,
    can_revoke_consent,
    can_supervise_claim,
    can_supervise_lead,
    can_work_lead,
    consents_known,
    progress_leads,
    supervised_claims,
    supervised_leads,
    visible_leads,
)

log = logging.getLogger(__name__)
bp = Blueprint("leads", __name__, url_prefix="/leads")
register_predicates(bp, PREDICATES)


def _need_panel_once(user, need) -> queries.NeedPanel:
    """queries.need_panel, computed once per request: the need page asks for it three times
    (the next step, the consent summary, the leads card), about 45 ms each at 100,000 needs.
    Only a render asks, after whatever the request wrote."""
    panels = g.setdefault("need_panels", {})
    key = (user.get_id(), need.id)
    if key not in panels:
        panels[key] = queries.need_panel(user, need)
    return panels[key]


# the need page (enterprises) includes leads/_need_leads.html, which asks for its data here
bp.add_app_template_global(_need_panel_once, "need_leads_panel")
bp.add_app_template_global(queries.public_timeline, "lead_public_timeline")
bp.add_app_template_global(scopes.labels, "consent_scope_labels")
bp.add_app_template_global(scopes.NEED_PART, "need_part_label")
bp.add_app_template_global(on_behalf.recorder_label, "consent_recorder_label")
bp.add_app_template_global(scopes.REQUIRED, "consent_required_scope")

SQLITE_ATTEMPTS = 40


def _me():
    return current_user._get_current_object()


def _bank_lead(lead_id: int) -> Lead:
    return db.one_or_404(visible_leads(current_user).where(Lead.id == lead_id))


def _back(lead: Lead):
    return redirect(url_for(".show", lead_id=lead.id))


def _form_errors(form) -> str:
    return "；".join(e for errors in form.errors.values() for e in errors)


# --- the bank's inbox ---------------------------------------------------------------------

@bp.get("/")
@roles_required("bank_manager", "bank_admin")
@cached_page
def index():
    form = InboxFilterForm(request.args)
    query = queries.inbox_query(current_user, **form.filters())
    page = db.paginate(query, per_page=20, error_out=False)
    with consents_known(page.items):  # one consent query for the page, not three a lead
        return render_template("leads/index.html", form=form, page=page,
                               today=clock.china_today(), claim_form=ClaimForm(),
                               filtered=any(v for k, v in request.args.items() if k != "page"))


@bp.get("/<int:lead_id>")
@roles_required("bank_manager", "bank_admin")
def show(lead_id):
    lead = _bank_lead(lead_id)
    return _render_show(lead)


def _render_show(lead: Lead, status: int = 200, **forms):
    consent, profile = queries.lead_profile(lead)
    approve = forms.get("approve") or ApproveForm(formdata=None)
    approve.product_id.choices = [(p.id, f"{p.name}（最高{p.amount_max_wan.normalize():f}万元）")
                                  for p in queries.approval_products(lead)]
    if not approve.is_submitted():
        approve.amount_wan.data = approve.amount_wan.data or lead.need.amount_wan
        approve.term_months.data = approve.term_months.data or lead.need.term_months
        approve.approved_on.data = clock.china_today()
    return render_template(
        "leads/show.html", lead=lead, need=lead.need, consent=consent, profile=profile,
        contact=queries.lead_contact(lead),
        products=queries.lead_products(lead), claim=lead.live_claim, today=clock.china_today(),
        claim_form=ClaimForm(), release_form=ReleaseForm(),
        assign_form=_assign_form(lead, forms.get("assign")),
        followup_form=forms.get("followup") or FollowUpForm(formdata=None),
        approve_form=approve, decline_form=forms.get("decline") or DeclineForm(formdata=None),
        withdraw_form=forms.get("withdraw") or WithdrawForm(formdata=None),
        claim_limit=claims.claim_limit()), status


@bp.post("/<int:lead_id>/claim")
@roles_required("bank_manager")
def claim(lead_id):
    form = ClaimForm()
    if not form.validate_on_submit():
        abort(400)
    if (first := once.begin(form)) is not None:
        return first
    with attempt() as done:
        _claim_serialized(lead_id, form)
    if done:
        flash("接单成功。请在截止日期前联系企业并登记跟进。", "success")
    return redirect(url_for(".show", lead_id=lead_id))


def _claim_serialized(lead_id: int, form) -> None:
    """Load, claim and commit; on SQLite a concurrent claimer's write lock shows up as
    "database is locked" (a deadlock SQLite breaks at once): roll back and try again, so the
    loser re-reads the winner's claim and gets the clear message. PostgreSQL waits on the
    need's row lock instead and never loops here."""
    for retry in range(SQLITE_ATTEMPTS):
        try:
            if retry and once.begin(form) is not None:   # the token went with the rollback
                return
            lead = _bank_lead(lead_id)
            claims.claim_lead(_me(), lead)
            once.done(url_for(".show", lead_id=lead_id))
            db.session.commit()
            return
        except OperationalError as err:
            # not attempt(): a lock timeout is no refusal but a retry (a fresh transaction)
            db.session.rollback()
            if "locked" not in str(err) or retry == SQLITE_ATTEMPTS - 1:
                raise
            log.info("claim on lead %s: database busy, retry %s", lead_id, retry + 1)
            time.sleep(random.uniform(0.01, 0.05))


@bp.post("/<int:lead_id>/release")
@roles_required("bank_manager", "bank_admin")
def release(lead_id):
    lead = _bank_lead(lead_id)
    form = ReleaseForm()
    if not form.validate_on_submit() or not can_release_lead(current_user, lead):
        flash("您不能放弃该线索的认领。", "danger")
        return _back(lead)
    with attempt() as done:
        claims.release_claim(_me(), lead, form.reason.data)
    if done:
        flash("已放弃认领，线索已回到本机构的待认领列表。", "success")
    return _back(lead)


def _holder_action(lead_id: int, form_name: str, form, apply, success: str):
    """The shape of every action of the claim holder: validate, one service call, commit;
    a repeat of the same form shows the first result (web/once.py)."""
    lead = _bank_lead(lead_id)
    if not form.validate_on_submit():
        return _render_show(lead, 400, **{form_name: form})
    if (first := once.begin(form)) is not None:   # before the holder check: decided since
        return first
    if not can_work_lead(current_user, lead):
        flash("只有认领该线索的客户经理可以进行此操作。", "danger")
        return _back(lead)
    with attempt(form) as done:
        apply(lead)
        once.done(url_for(".show", lead_id=lead.id))
    if not done:
        return _render_show(db.session.get(Lead, lead.id), 400, **{form_name: form})
    flash(success, "success")
    return _back(lead)


@bp.post("/<int:lead_id>/followups")
@roles_required("bank_manager")
def add_followup(lead_id):
    form = FollowUpForm()
    return _holder_action(lead_id, "followup", form, lambda lead: claims.add_followup(
        _me(), lead, form.kind.data, form.note.data), "跟进记录已保存。")


@bp.post("/<int:lead_id>/approve")
@roles_required("bank_manager")
def approve(lead_id):
    form = ApproveForm()

    def apply(lead):
        product = db.session.get(Product, form.product_id.data)
        outcomes.approve_lead(_me(), lead, product=product, amount_wan=form.amount_wan.data,
                             rate=form.rate.data, term_months=form.term_months.data,
                             guarantee_mode=form.guarantee_mode.data,
                             approved_on=form.approved_on.data, note=form.note.data)
    return _holder_action(lead_id, "approve", form, apply, "审批结果已登记：已批准。企业将收到通知。")


@bp.post("/<int:lead_id>/decline")
@roles_required("bank_manager")
def decline(lead_id):
    form = DeclineForm()
    return _holder_action(lead_id, "decline", form, lambda lead: outcomes.decline_lead(
        _me(), lead, form.reason.data, form.text.data, form.no_contact_reason.data),
        "审批结果已登记：未获批。企业将看到原因。")


@bp.post("/<int:lead_id>/withdraw")
@roles_required("bank_manager")
def withdraw(lead_id):
    form = WithdrawForm()
    return _holder_action(lead_id, "withdraw", form, lambda lead: outcomes.withdraw_lead(
        _me(), lead, form.note.data), "已终止对接。")


# --- the institution's team: roster, 派单/改派, a manager leaving ------------------------------

def _team_managers(active_only: bool = True) -> list[User]:
    query = select(User).where(User.institution_id == current_user.institution_id,
                               User.role == "bank_manager")
    if active_only:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query.order_by(User.name, User.id)))


def _assign_form(lead: Lead, form: AssignForm | None = None) -> AssignForm | None:
    if not can_assign_lead(current_user, lead):
        return None
    form = form or AssignForm(formdata=None)
    holder = lead.live_claim.manager_id if lead.live_claim else None
    form.manager_id.choices = [(m.id, m.name) for m in _team_managers() if m.id != holder]
    return form


@bp.get("/team")
@roles_required("bank_admin")
def team_page():
    days = request.args.get("days", type=int)
    days = days if days in figures.WINDOWS else 180
    members = team.roster(current_user.institution_id, days)
    return render_template("leads/team.html", members=members, days=days,
                           windows=figures.WINDOWS, today=clock.china_today(),
                           unassigned=team.unassigned(current_user), due=team.due,
                           member_form=MemberForm(), assign_form=AssignForm(formdata=None),
                           managers=_team_managers())


@bp.post("/<int:lead_id>/assign")
@roles_required("bank_admin")
def assign(lead_id):
    lead = _bank_lead(lead_id)
    form = AssignForm()
    back = request.form.get("back") == "team"
    if not form.validate_on_submit():
        if back:
            flash(_form_errors(form) or "请选择客户经理。", "danger")
            return redirect(url_for(".team_page"))
        return _render_show(lead, 400, assign=form)
    manager = db.session.get(User, form.manager_id.data)
    with attempt(form, "manager_id") as done:
        claims.assign_lead(_me(), lead, manager)
    if done:
        flash(f"已派给{manager.name}，其将收到通知。", "success")
        return redirect(url_for(".team_page") if back else url_for(".show", lead_id=lead.id))
    if back:
        return redirect(url_for(".team_page"))
    return _render_show(db.session.get(Lead, lead.id), 400, assign=form)


def _member(user_id: int) -> User:
    return db.one_or_404(select(User).where(
        User.id == user_id, User.role == "bank_manager",
        User.institution_id == current_user.institution_id))


@bp.post("/team/<int:user_id>/deactivate")
@roles_required("bank_admin")
def deactivate_member(user_id):
    member = _member(user_id)
    form = MemberForm()
    if not form.validate_on_submit():
        flash(_form_errors(form) or "请求无效，请重试。", "danger")
        return redirect(url_for(".team_page"))
    held = len([c for m in team.roster(current_user.institution_id) if m.user.id == member.id
                for c in m.claims])
    with attempt() as done:
        accounts.deactivate_member(_me(), member, form.reason.data)
    if done:
        flash(f"已停用{member.name}的账号；其负责的{held}条线索已交回本机构待认领。", "success")
    return redirect(url_for(".team_page"))


@bp.post("/team/<int:user_id>/reactivate")
@roles_required("bank_admin")
def reactivate_member(user_id):
    member = _member(user_id)
    if not MemberForm().validate_on_submit():
        flash("请求无效，请重试。", "danger")
        return redirect(url_for(".team_page"))
    with attempt() as done:
        accounts.reactivate_member(_me(), member)
    if done:
        flash(f"已恢复{member.name}的账号。", "success")
    return redirect(url_for(".team_page"))


# --- pipeline and 督办 ----------------------------------------------------------------------

@bp.get("/pipeline")
@roles_required("bank_admin", "organizer")
def pipeline():
    days = request.args.get("days", type=int)
    days = days if days in figures.WINDOWS else 180
    if current_user.role == "bank_admin":
        data = figures.pipeline(institution_id=current_user.institution_id, days=days)
    else:
        data = figures.pipeline(district=current_user.district, days=days)
    return render_template("leads/pipeline.html", data=data, windows=figures.WINDOWS)


@bp.get("/supervision")
@roles_required("organizer")
def supervision():
    query = supervised_claims(current_user).order_by(Claim.supervised_at.is_not(None),
                                                     Claim.decision_due, Claim.id)
    page = db.paginate(query, per_page=20, error_out=False)
    unclaimed = db.session.scalars(supervised_leads(current_user).order_by(
        Lead.supervised_at.is_not(None), Lead.claim_due, Lead.id).limit(100)).all()
    return render_template("leads/supervision.html", page=page, form=SuperviseForm(),
                           unclaimed=unclaimed, today=clock.china_today())


@bp.post("/<int:lead_id>/supervise")
@roles_required("organizer")
def supervise_lead(lead_id):
    lead = _progress_lead(lead_id)  # the organizer's district, else 404
    form = SuperviseForm()
    if not form.validate_on_submit() or not can_supervise_lead(current_user, lead):
        flash(_form_errors(form) or "该线索不在督办清单上。", "danger")
        return redirect(url_for(".supervision"))
    with attempt() as done:
        supervising.supervise_lead(_me(), lead, form.note.data)
    if done:
        flash("督办情况已记录，机构管理员将收到通知。", "success")
    return redirect(url_for(".supervision"))


@bp.post("/claims/<int:claim_id>/supervise")
@roles_required("organizer")
def supervise(claim_id):
    claim = db.one_or_404(supervised_claims(current_user).where(Claim.id == claim_id))
    form = SuperviseForm()
    if not form.validate_on_submit() or not can_supervise_claim(current_user, claim):
        flash(_form_errors(form) or "不能督办该线索。", "danger")
        return redirect(url_for(".supervision"))
    with attempt() as done:
        supervising.supervise_claim(_me(), claim, form.note.data)
    if done:
        flash("督办情况已记录，机构管理员将收到通知。", "success")
    return redirect(url_for(".supervision"))


# --- the enterprise: push, consent, progress -----------------------------------------------

def _own_need(need_id: int) -> Need:
    return db.one_or_404(visible_needs(current_user).where(Need.id == need_id))


@bp.route("/needs/<int:need_id>/push", methods=["GET", "POST"])
@roles_required("enterprise")
def push(need_id):
    need = _own_need(need_id)
    if not can_push_need(current_user, need):
        flash(f"需求当前状态为“{need.status_label}”，不能推送给金融机构。", "warning")
        return redirect(url_for("enterprises.need", need_id=need.id))
    candidates = pushing.push_candidates(need)
    form = PushForm()
    # nothing pre-ticked (个人信息保护法: a separate, informed, opt-in consent per recipient and
    # per data item): the enterprise picks each institution and each optional field itself
    if form.validate_on_submit():
        with attempt(form, "institutions") as done:
            leads = pushing.push_need(_me(), need, form.institutions.data, form.scope.data)
        if not done:
            return _render_push(need, candidates, form), 400
        flash(f"已推送给{len(leads)}家金融机构，它们只能看到您授权的信息。", "success")
        return redirect(url_for("enterprises.need", need_id=need.id))
    return _render_push(need, candidates, form), 400 if form.is_submitted() else 200


@bp.post("/needs/<int:need_id>/push-next")
@roles_required("enterprise")
def push_next(need_id):
    """The one-tap push offered when an institution did not claim in time."""
    need = _own_need(need_id)
    form = PushNextForm()
    if not form.validate_on_submit():
        flash(_form_errors(form) or "推送失败，请重试。", "danger")
        return redirect(url_for("enterprises.need", need_id=need.id))
    with attempt() as done:
        leads = pushing.push_need(_me(), need, [form.institution.data], form.scope.data)
    if done:
        flash(f"已推送给{leads[0].institution.name}，该机构只能看到您授权的信息。", "success")
    return redirect(url_for("enterprises.need", need_id=need.id))


def _render_push(need, candidates, form):
    return render_template("leads/push.html", need=need, candidates=candidates, form=form,
                           fields=scopes.SCOPE_FIELDS, need_part=scopes.NEED_PART)


@bp.post("/consents/<int:consent_id>/revoke")
@roles_required("enterprise")
def revoke_consent(consent_id):
    consent = db.one_or_404(select(Consent).where(
        Consent.id == consent_id,
        Consent.need_id.in_(visible_needs(current_user).with_only_columns(Need.id))))
    if not RevokeForm().validate_on_submit() or not can_revoke_consent(current_user, consent):
        flash("该授权已撤回或不能撤回。", "warning")
        return redirect(url_for("enterprises.need", need_id=consent.need_id))
    need_id, institution = consent.need_id, consent.institution.name
    with attempt() as done:
        pushing.revoke_consent(_me(), consent)
    if done:
        flash(f"已撤回对{institution}的授权，该机构将不能再查看本需求。", "success")
    return redirect(url_for("enterprises.need", need_id=need_id))


def _progress_lead(lead_id: int) -> Lead:
    return db.one_or_404(progress_leads(current_user).where(Lead.id == lead_id))


@bp.post("/needs/<int:need_id>/withdraw-consent")
@roles_required("enterprise")
def withdraw_flag_consent(need_id):
    """Withdraw the consent to share with every matched institution (one recorded on the
    enterprise's behalf, as a rule)."""
    need = _own_need(need_id)
    if not RevokeForm().validate_on_submit():
        flash("撤回失败，请重试。", "warning")
        return redirect(url_for("enterprises.need", need_id=need.id))
    with attempt() as done:
        revoked = pushing.withdraw_flag_consent(_me(), need)
    if done:
        flash(f"已撤回授权：{len(revoked)}家机构将不能再查看本需求，匹配的其他机构也不会再收到。"
              if revoked else "已撤回授权：匹配的金融机构不会收到本需求。", "success")
    return redirect(url_for("enterprises.need", need_id=need.id))


@bp.get("/<int:lead_id>/progress")
@roles_required("enterprise", "organizer")
def progress(lead_id):
    lead = _progress_lead(lead_id)
    return _render_progress(lead)


def _render_progress(lead, status=200, confirm_form=None, rate_form=None):
    claim = lead.live_claim or lead.last_claim
    return render_template(
        "leads/progress.html", lead=lead, need=lead.need, claim=claim,
        consent=consent.live_consent(lead.need_id, lead.institution_id),
        timeline=queries.public_timeline(lead),
        confirm_form=confirm_form or ConfirmFundingForm(formdata=None),
        rate_form=rate_form or RateForm(formdata=None)), status


def _enterprise_action(lead_id, form, form_name, allowed, apply, success):
    lead = _progress_lead(lead_id)
    if not form.validate_on_submit():
        return _render_progress(lead, 400, **{form_name: form})
    if (first := once.begin(form)) is not None:
        return first
    if not allowed(current_user, lead):
        flash("该线索当前不能进行此操作。", "warning")
        return redirect(url_for(".progress", lead_id=lead.id))
    with attempt() as done:
        apply(lead)
        once.done(url_for(".progress", lead_id=lead.id))
    if done:
        flash(success, "success")
    return redirect(url_for(".progress", lead_id=lead.id))


@bp.post("/<int:lead_id>/confirm")
@roles_required("enterprise")
def confirm_funding(lead_id):
    form = ConfirmFundingForm()
    return _enterprise_action(lead_id, form, "confirm_form", can_confirm_funding, lambda lead: (
        outcomes.confirm_funding(_me(), lead, int(form.rating.data), form.comment.data)),
        "已确认放款到账，感谢您的评价！")


@bp.post("/<int:lead_id>/rate")
@roles_required("enterprise")
def rate(lead_id):
    form = RateForm()
    return _enterprise_action(lead_id, form, "rate_form", can_rate_lead, lambda lead: (
        outcomes.rate_lead(_me(), lead, int(form.rating.data), form.comment.data)),
        "感谢您的评价！")
