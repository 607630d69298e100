import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..enterprises.forms import RegisterEnterpriseForm
from ..enterprises.members import announce_claims
from ..enterprises.service import register_by_mail, register_enterprise
from ..errors import ServiceError
from ..extensions import db, limiter
from ..institutions.models import Institution
from ..mail import send_mail
from ..web import once
from ..web.actions import attempt
from . import service
from .forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    CloseAccountForm,
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    ResetPasswordForm,
)
from .models import Invitation
from .permissions import invitable_roles, roles_required

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def _account_key() -> str:
    # the e-mail as typed, hashed: no address is kept in the limiter's storage
    email = (request.form.get("email") or "").strip().lower()
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _safe_next(target: str | None) -> str:
    # browsers read "/\host" as "//host": only plain same-site paths are followed; a control
    # character (CR/LF: a header split, a 500 from the redirect) is never followed either
    if target and target.startswith("/") and not urlsplit(target).netloc \
            and not target.startswith("//") and "\\" not in target \
            and target.isprintable():
        return target
    return url_for("web.home")


def _refused(template: str, form, **context):
    """Re-show a form; a submitted, invalid one answers 400 (as register and the convention do)."""
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == 401)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is None:
            db.session.commit()  # keeps the audit row of the failed attempt
            form.password.errors.append("邮箱或密码不正确")
            return render_template("accounts/login.html", form=form), 401
        db.session.commit()
        login_user(user)
        return redirect(_safe_next(form.next.data))
    return _refused("accounts/login.html", form)


@bp.post("/logout")
@login_required
def logout():
    service.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash("您已退出登录，所有设备上的会话均已结束。", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = RegisterEnterpriseForm()
    if form.validate_on_submit():
        # one account per rendered form: a repeat is sent to the login page (issue 17 #8)
        if (first := once.begin(form)) is not None:
            return first
        if current_app.config["REGISTRATION_CONFIRM_BY_MAIL"]:
            return _register_by_mail(form)
        with attempt(form, "company_name") as done:
            enterprise, user = register_enterprise(
                company_name=form.company_name.data, uscc=form.uscc.data,
                district=form.district.data, industry=form.industry.data,
                employees=form.employees.data, revenue_wan=form.revenue_wan.data,
                founded=form.founded.data, name=form.name.data, email=form.email.data,
                password=form.password.data, assets_wan=form.assets_wan.data,
                mobile_phone=form.mobile.data)
            announce_claims(user)  # a known enterprise's USCC: its approvers hear of it now
            once.done(url_for("accounts.login"))
        if not done:
            return render_template("accounts/register.html", form=form), 400
        login_user(user)
        if enterprise is None:
            flash("该企业已在平台登记。您的申请已提交，待该企业的管理员或所在区县的组织方审核。", "info")
        else:
            flash("注册成功。请完善企业信息并发布融资需求。", "success")
        return redirect(url_for("web.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


def _register_by_mail(form):
    """Every registration gets the same answer; the mailbox typed hears the rest (issue 19)."""
    with attempt(form, "company_name") as done:
        register_by_mail(
            company_name=form.company_name.data, uscc=form.uscc.data,
            district=form.district.data, industry=form.industry.data,
            employees=form.employees.data, revenue_wan=form.revenue_wan.data,
            founded=form.founded.data, name=form.name.data, email=form.email.data,
            password=form.password.data, assets_wan=form.assets_wan.data,
            mobile_phone=form.mobile.data,
            confirm_url=lambda token: url_for(".confirm_registration", token=token,
                                              _external=True))
        once.done(url_for("accounts.login"))
    if not done:
        return render_template("accounts/register.html", form=form), 400
    return render_template("accounts/register_sent.html", email=form.email.data.strip())


@bp.get("/register/confirm/<token>")
def confirm_registration(token: str):
    with attempt() as done:
        user = service.confirm_registration(token)
        announce_claims(user)  # an applicant's claim goes to its approvers from now on
    if not done:
        return redirect(url_for("accounts.login"))
    login_user(user)
    if user.role == "applicant":
        flash("邮箱已确认。您的申请已提交，待该企业的管理员或所在区县的组织方审核。", "info")
    else:
        flash("注册成功。请完善企业信息并发布融资需求。", "success")
    return redirect(url_for("web.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        with attempt(form, "current_password") as done:
            service.change_password(user, form.current_password.data, form.new_password.data)
        if not done:
            return render_template("accounts/password.html", form=form), 400
        login_user(user)  # this session continues with the new version; all others end
        flash("密码已修改，其他设备上的登录已失效。", "success")
        return redirect(url_for("web.home"))
    return _refused("accounts/password.html", form)


@bp.route("/account/close", methods=["GET", "POST"])
@roles_required("enterprise")
def close_account():
    """An enterprise user closes their own account (issue 19): what goes and what stays is
    said first; the password again and a tick confirm it."""
    form = CloseAccountForm()
    if form.validate_on_submit():
        with attempt(form, "password") as done:
            service.close_own_account(current_user._get_current_object(), form.password.data)
        if not done:
            return render_template("accounts/close.html", form=form), 400
        logout_user()
        flash("您的账号已注销，个人信息已清除。", "success")
        return redirect(url_for("accounts.login"))
    return _refused("accounts/close.html", form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = service.request_password_reset(form.email.data)
        if found:
            user, token = found
            link = url_for("accounts.reset_password", token=token, _external=True)
            send_mail(user.email, "【银企融资对接平台】重置密码",
                      f"{user.name}，您好：\n\n请在2小时内打开以下链接重置密码：\n{link}\n\n"
                      "如果不是您本人操作，请忽略本邮件。")
        db.session.commit()
        # the same answer whether or not the address is registered
        flash("如果该邮箱已注册，重置密码的链接已发送到该邮箱。", "info")
        return redirect(url_for("accounts.login"))
    return _refused("accounts/forgot.html", form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        service.user_for_reset_token(token)
    except ServiceError as err:  # a used or expired link says so before asking for a password
        flash(err.message, "danger")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with attempt() as done:
            service.reset_password(token, form.new_password.data)
        if not done:
            return redirect(url_for("accounts.forgot_password"))
        flash("密码已重置，请用新密码登录。", "success")
        return redirect(url_for("accounts.login"))
    return _refused("accounts/reset.html", form)


@bp.get("/invitations")
@roles_required("admin", "bank_admin", "enterprise")
def invitations():
    if not invitable_roles(current_user):
        abort(403)
    page = db.paginate(service.visible_invitations(current_user), per_page=20)
    return render_template("accounts/invitations.html", page=page)


@bp.route("/invitations/new", methods=["GET", "POST"])
@roles_required("admin", "bank_admin", "enterprise")
def invite():
    roles = invitable_roles(current_user)
    if not roles:
        abort(403)
    institutions = db.session.execute(select(Institution.id, Institution.name)
                                      .order_by(Institution.name)).all()
    form = InviteForm().setup(roles, [(str(i), n) for i, n in institutions])
    if form.validate_on_submit():
        institution = None
        # validate_choice is off (the list is long): a forged value must not reach int()
        if (form.institution.data or "").isdigit() and current_user.role == "admin":
            institution = db.session.get(Institution, int(form.institution.data))
        with attempt(form, "email") as done:
            invitation, token = service.invite(
                current_user, email=form.email.data, role=form.role.data, name=form.name.data,
                institution=institution, district=form.district.data or None,
                organization=form.organization.data or None)
            link = url_for("accounts.accept_invitation", token=token, _external=True)
            # inside the block: a mail that cannot be sent leaves no invitation behind
            send_mail(invitation.email, "【银企融资对接平台】邀请您加入",
                      f"您好：\n\n{current_user.name} 邀请您以“{invitation.role_label}”身份加入"
                      f"银企融资对接平台。\n请在72小时内打开以下链接设置密码：\n{link}\n")
        if not done:
            return render_template("accounts/invite.html", form=form), 400
        flash(f"邀请已发送至 {invitation.email}，链接72小时内有效，仅可使用一次。", "success")
        return redirect(url_for("accounts.invitations"))
    return _refused("accounts/invite.html", form)


@bp.post("/invitations/<int:invitation_id>/revoke")
@roles_required("admin", "bank_admin", "enterprise")
def revoke_invitation(invitation_id):
    invitation = db.one_or_404(service.visible_invitations(current_user)
                               .where(Invitation.id == invitation_id))
    with attempt() as done:
        service.revoke_invitation(current_user, invitation)
    if done:
        flash("邀请已撤销。", "success")
    return redirect(url_for("accounts.invitations"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    try:
        invitation = service.invitation_for_token(token)
    except ServiceError as err:
        return render_template("accounts/invitation_invalid.html", message=err.message), 404
    form = AcceptInvitationForm(name=invitation.name or None)
    form.phone_required = invitation.role == "bank_manager"
    if form.validate_on_submit():
        with attempt(shown=ServiceError) as done:  # the page says why, not a flash
            user = service.accept_invitation(token, name=form.name.data,
                                             password=form.password.data,
                                             phone=form.phone.data)
        if not done:
            return render_template("accounts/invitation_invalid.html",
                                   message=done.message), 409
        if current_user.is_authenticated:
            logout_user()
        login_user(user)
        flash("欢迎加入银企融资对接平台。", "success")
        return redirect(url_for("web.home"))
    return _refused("accounts/accept.html", form, invitation=invitation)
