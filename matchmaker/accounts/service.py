"""Accounts: registration, invitations, login sessions, passwords. Services flush, never commit."""
import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from .. import clock, mobile, signals
from ..audit.models import AuditEntry
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..mail import send_mail
from ..types import utcnow
from .models import BANK_ROLES, Invitation, User
from .passwords import hash_password, needs_rehash, verify_password
from .permissions import (
    can_close_own_account,
    can_deactivate_member,
    can_erase_account,
    can_invite,
    can_reactivate_member,
    can_revoke_invitation,
    is_signed_in,
)

log = logging.getLogger(__name__)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def user_for_session(user_key: str) -> User | None:
    """The user behind a session cookie, unless the cookie's session version is stale."""
    try:
        user_id, version = (int(part) for part in user_key.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def create_user(*, email: str, name: str, password: str, role: str, actor=None,
                **fields) -> User:
    if find_user_by_email(email):
        raise ServiceError("该邮箱已注册", field="email")
    user = User(email=email.strip().lower(), name=name.strip(), role=role,
                password_hash=hash_password(password), **fields)
    db.session.add(user)
    db.session.flush()
    record(actor or user, "user.created", user, role=role)
    return user


FAILURES_TOLD = 5  # the owner is mailed at the 5th failed login within the hour (then 15th …)
FAILURE_WINDOW = timedelta(hours=1)
_dummy_hash: str | None = None


def _hash_for_unknown() -> str:
    """A real Argon2 hash to check an unknown e-mail's password against: the answer takes as
    long for an address nobody registered as for a real one (issue 19: 38 ms against 717 ms
    told who has an account)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    # the password is checked whatever the account: unknown or inactive cost the same
    valid = verify_password(user.password_hash if user else _hash_for_unknown(), password)
    if user is None or not user.active or not valid:
        if user is not None:
            record(None, "user.login_failed", user)
            _tell_owner_of_failures(user)
        log.info("failed login%s", f" for user {user.id}" if user else " for unknown email")
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record(user, "user.logged_in", user)
    return user


def _tell_owner_of_failures(user: User) -> None:
    """Repeated failures: the owner hears of them by mail (the per-account limit on the login
    route slows the guessing; nothing locks the owner out for good)."""
    since = clock.now() - FAILURE_WINDOW
    if user.last_login_at and user.last_login_at > since:
        since = user.last_login_at
    failures = db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "user.login_failed", AuditEntry.subject_type == "users",
        AuditEntry.subject_id == user.id, AuditEntry.created_at > since))
    if failures < FAILURES_TOLD or (failures - FAILURES_TOLD) % 10:
        return
    send_mail(user.email, "【银企融资对接平台】您的账号有多次登录失败",
              f"{user.name}，您好：\n\n最近一小时内，有人用错误的密码尝试登录您的账号 {failures} 次。"
              "\n如果不是您本人，您的账号仍然安全，平台已放慢对该账号的尝试；建议您登录后修改密码，"
              "或在登录页通过“忘记密码”重设。\n如果是您本人忘记了密码，也请通过“忘记密码”重设。"
              "\n\n银企融资对接平台")
    log.info("user %s told of %d failed logins", user.id, failures)


def end_sessions(user: User, action: str = "user.logged_out") -> None:
    """Invalidate every session cookie of this user (they carry the old session_version)."""
    user.session_version += 1
    record(user, action, user)


@guarded(is_signed_in, message="请先登录")
def change_password(actor: User, current: str, new: str) -> None:
    """The signed-in user changes their own password; their other sessions end."""
    if not verify_password(actor.password_hash, current):
        raise ServiceError("当前密码不正确", field="current_password")
    actor.password_hash = hash_password(new)
    end_sessions(actor, "user.password_changed")


ERASED_NAME = "已注销用户"


@guarded(can_erase_account, "account", message="只能注销自己的企业账号（或由平台管理员注销）")
def erase_account(actor: User, account: User) -> None:
    """A deleted enterprise account (issue 19): its personal data is erased — name, e-mail,
    mobile, organization, the invitations addressed to it, the password — and it can never
    sign in again. Kept, as the law requires: the row itself under its id, so the audit trail
    (what was done, when, from where) and the enterprise's credit-business records (needs,
    consents, leads, loans) still say "an account, now closed" did it."""
    old_email, old_name, old_phone = account.email, account.name, account.phone
    account.name = ERASED_NAME
    account.email = f"erased-{account.id}@erased.invalid"
    account.phone = None
    account.organization = None
    account.password_hash = hash_password(secrets.token_urlsafe(32))
    account.active = False
    account.session_version += 1
    for invitation in db.session.scalars(select(Invitation).where(
            func.lower(Invitation.email) == old_email.lower())):
        invitation.email = account.email
        invitation.name = ERASED_NAME
    db.session.flush()
    record(actor, "user.erased", account)
    # copies elsewhere (the enterprise's contact person and mobile) go in this transaction
    signals.user_erased.send(account, actor=actor, name=old_name, phone=old_phone)


@guarded(can_close_own_account, message="只有企业用户可以在此注销自己的账号")
def close_own_account(actor: User, password: str) -> None:
    """The signed-in enterprise user closes their own account, after typing the password
    again (a session left open on a shared computer cannot do it): erase_account."""
    if not verify_password(actor.password_hash, password or ""):
        raise ServiceError("密码不正确", field="password")
    erase_account(actor, actor)


# --- the institution's team ----------------------------------------------------------------

@guarded(can_deactivate_member, "member", message="只有本机构管理员可以停用本机构的客户经理")
def deactivate_member(actor: User, member: User, reason: str | None = None) -> None:
    """A manager left: the account stops working at once (every session ends) and whatever it
    held for the institution goes back (leads: `user_deactivated`, in this transaction)."""
    member.active = False
    member.session_version += 1
    db.session.flush()
    record(actor, "user.deactivated", member, reason=(reason or "").strip() or None)
    signals.user_deactivated.send(member, actor=actor)


@guarded(can_reactivate_member, "member", message="只有本机构管理员可以恢复本机构的客户经理")
def reactivate_member(actor: User, member: User) -> None:
    """Back at work (the leads handed back stay with whoever took them since)."""
    member.active = True
    db.session.flush()
    record(actor, "user.reactivated", member)


# --- invitations -------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@guarded(can_invite, "role", message="您不能邀请该角色的用户", field="role")
def invite(actor: User, *, email: str, role: str, name: str = "", institution=None,
           enterprise=None, district: str | None = None,
           organization: str | None = None) -> tuple[Invitation, str]:
    """Create a single-use invitation; returns it and the clear token (sent once by mail)."""
    if actor.role == "bank_admin":
        institution = actor.institution
    if actor.role == "enterprise":
        enterprise = actor.enterprise
    return create_invitation(actor, email=email, role=role, name=name, institution=institution,
                             enterprise=enterprise, district=district,
                             organization=organization)


def create_invitation(actor: User, *, email: str, role: str, name: str = "", institution=None,
                      enterprise=None, district: str | None = None,
                      organization: str | None = None,
                      enterprise_admin: bool = False) -> tuple[Invitation, str]:
    """The invitation itself, for a service that has checked its actor: `invite` above, and
    an organizer's invitation of a collected firm's first user (enterprises.members), who
    becomes the enterprise's admin."""
    # the users CHECKs tie an institution to bank roles only (and an enterprise to the
    # enterprise role): a stray choice would make the link fail with an IntegrityError
    institution = institution if role in BANK_ROLES else None
    enterprise = enterprise if role == "enterprise" else None
    if role in BANK_ROLES and institution is None:
        raise ServiceError("请选择所属机构", field="institution")
    if find_user_by_email(email):
        raise ServiceError("该邮箱已注册", field="email")
    token = secrets.token_urlsafe(32)
    hours = current_app.config["INVITATION_HOURS"]
    invitation = Invitation(
        token_hash=_token_hash(token), email=email.strip().lower(), name=name, role=role,
        institution=institution, enterprise=enterprise,
        enterprise_admin=bool(enterprise_admin and enterprise is not None),
        district=district if role == "organizer" else None,
        organization=organization, invited_by=actor, expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(invitation)
    db.session.flush()
    record(actor, "invitation.created", invitation, role=role,
           institution_id=institution.id if institution else None,
           **({"enterprise_id": enterprise.id, "enterprise_admin": invitation.enterprise_admin}
              if enterprise is not None else {}))
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link carries, if it is still usable; otherwise a ServiceError."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None or invitation.revoked_at is not None:
        raise ServiceError("邀请链接无效")
    if invitation.used_at is not None:
        raise ServiceError("该邀请链接已使用过")
    if invitation.expires_at < utcnow():
        raise ServiceError("该邀请链接已过期（有效期72小时），请联系邀请人重新发送")
    return invitation


def accept_invitation(token: str, *, name: str, password: str, phone: str | None = None) -> User:
    """The invited person sets a password (and a mobile number: an account manager's is
    shown to the enterprises whose leads they claim, so it is required of them)."""
    invitation = invitation_for_token(token)
    if invitation.role == "bank_manager" or (phone or "").strip():
        message = mobile.problem(phone)
        if message:
            raise ServiceError(message, field="phone")
    # claim the invitation first: a second use of the same link, even a concurrent one,
    # updates no row and is refused
    claimed = db.session.execute(
        Invitation.__table__.update()
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=utcnow()))
    if claimed.rowcount != 1:
        raise ServiceError("该邀请链接已使用过")
    user = create_user(
        email=invitation.email, name=name, password=password, role=invitation.role,
        actor=invitation.invited_by, institution_id=invitation.institution_id,
        enterprise_id=invitation.enterprise_id, district=invitation.district,
        organization=invitation.organization,
        is_enterprise_admin=invitation.role == "enterprise" and invitation.enterprise_admin)
    if (phone or "").strip():
        user.phone = mobile.normalize(phone)
    db.session.refresh(invitation)
    invitation.used_by_id = user.id
    record(user, "invitation.accepted", invitation)
    return user


@guarded(can_revoke_invitation, "invitation", message="您不能撤销这封邀请")
def revoke_invitation(actor: User, invitation: Invitation) -> None:
    if invitation.used_at is not None:
        raise ServiceError("该邀请已被使用，无法撤销")
    invitation.revoked_at = utcnow()
    record(actor, "invitation.revoked", invitation)


def visible_invitations(user: User):
    query = select(Invitation).order_by(Invitation.created_at.desc())
    if user.role == "admin":
        return query
    if user.role == "bank_admin":
        return query.where(Invitation.institution_id == user.institution_id)
    if user.role == "enterprise" and user.is_enterprise_admin:
        return query.where(Invitation.enterprise_id == user.enterprise_id)
    return query.where(Invitation.id.is_(None))


# --- password reset ----------------------------------------------------------------------

CONFIRM_MAX_AGE = 72 * 3600


def _confirm_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="registration-confirm")


def request_confirmation(user: User, confirm_url, then: str = "") -> None:
    """A self-registered account waits, inactive, for its owner to open the mailed link
    (`then`: what happens once it is opened, told in the same mail)."""
    user.active = False
    db.session.flush()
    link = confirm_url(_confirm_serializer().dumps({"u": user.id}))
    paragraphs = [f"{user.name}，您好：", f"请在72小时内打开下面的链接完成企业注册：\n{link}",
                  then, "如果不是您本人注册，请忽略此邮件。", "银企融资对接平台"]
    send_mail(user.email, "【银企融资对接平台】请确认您的注册",
              "\n\n".join(p for p in paragraphs if p))
    record(None, "user.confirmation_sent", user)


def confirm_registration(token: str) -> User:
    """The owner opened the link: the account works from now on."""
    try:
        data = _confirm_serializer().loads(token, max_age=CONFIRM_MAX_AGE)
    except SignatureExpired:
        raise ServiceError("确认链接已过期（72小时），请重新注册") from None
    except BadSignature:
        raise ServiceError("确认链接无效") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.active or user.session_version != 1:
        raise ServiceError("确认链接无效或已使用，请直接登录")  # confirmed, or stopped since
    user.active = True
    record(user, "user.confirmed", user)
    return user


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def reset_token(user: User) -> str:
    # the token names the session version: once used (or after any password change) it dies
    return _reset_serializer().dumps({"u": user.id, "v": user.session_version})


def request_password_reset(email: str) -> tuple[User, str] | None:
    user = find_user_by_email(email)
    if user is None or not user.active:
        return None
    record(None, "user.password_reset_requested", user)
    return user, reset_token(user)


def user_for_reset_token(token: str) -> User:
    """The user a reset link is for, while the link is still usable; otherwise ServiceError."""
    max_age = current_app.config["PASSWORD_RESET_HOURS"] * 3600
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ServiceError("重置链接已过期，请重新申请") from None
    except BadSignature:
        raise ServiceError("重置链接无效") from None
    user = db.session.get(User, data.get("u"))
    if user is None or user.session_version != data.get("v"):
        raise ServiceError("重置链接已失效，请重新申请")
    return user


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    user.password_hash = hash_password(new_password)
    end_sessions(user, "user.password_reset")
    return user
