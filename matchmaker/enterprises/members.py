"""An enterprise's users: the first user of a firm an organizer collected, and claim requests.

Nobody obtains an enterprise by typing its code. A firm collected by spreadsheet (or import)
has no user: an organizer of its district invites the first one, who becomes its admin. A
person registering with the USCC of a known enterprise gets an `applicant` account holding no
enterprise, and a claim request (`EnterpriseClaim`) that the enterprise's admin or an
organizer of its district approves (the account becomes the enterprise's user: its admin when
the firm had none) or refuses with a reason. Flush, never commit.
"""
import logging

from flask import current_app
from sqlalchemy import func, select, update

from .. import mobile
from ..accounts.models import Invitation, User
from ..accounts.service import create_invitation, create_user, find_user_by_email
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..notifications.service import notify, notify_all
from ..types import utcnow
from .models import Enterprise, EnterpriseClaim
from .permissions import can_amend_claim, can_decide_claim, can_invite_first_user

log = logging.getLogger(__name__)


def _link(endpoint: str) -> str:
    """A path for a notification, inside or outside a request (seeds, the CLI)."""
    return current_app.url_map.bind("").build(endpoint, {})

# a refused person may ask again with more proof, but not without end
MAX_CLAIMS_PER_ENTERPRISE = 3


def enterprise_users(enterprise: Enterprise) -> list[User]:
    """Its working accounts, admins first."""
    return list(db.session.scalars(select(User).where(
        User.enterprise_id == enterprise.id, User.role == "enterprise", User.active.is_(True))
        .order_by(User.is_enterprise_admin.desc(), User.id)))


def has_users(enterprise: Enterprise) -> bool:
    return db.session.scalar(select(func.count(User.id)).where(
        User.enterprise_id == enterprise.id, User.role == "enterprise",
        User.active.is_(True))) > 0


def open_first_user_invitations(enterprise: Enterprise) -> list[Invitation]:
    """Invitations of a first (admin) user not yet used, revoked or expired."""
    return list(db.session.scalars(select(Invitation).where(
        Invitation.enterprise_id == enterprise.id, Invitation.enterprise_admin.is_(True),
        Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow()).order_by(Invitation.id)))


@guarded(can_invite_first_user, "enterprise",
         message="只有企业所在区县（或市级）的组织方可以邀请该企业的首位用户")
def invite_first_user(actor: User, enterprise: Enterprise, *, email: str,
                      name: str) -> tuple[Invitation, str]:
    """An organizer invites a collected firm's first user, who becomes its admin. Refused
    once the firm has users (its admin invites colleagues); a new invitation replaces one
    still open (a mistyped address is corrected by inviting again)."""
    if has_users(enterprise):
        raise ServiceError("该企业已有用户，请由其企业管理员在“同事邀请”中邀请其他同事",
                           field="email")
    if not (name or "").strip():
        raise ServiceError("请填写被邀请人姓名", field="name")
    existing = find_user_by_email(email)
    if existing is not None and existing.role == "applicant":
        raise ServiceError("该邮箱的用户已提交认领申请，请在“企业认领申请”中审核", field="email")
    for earlier in open_first_user_invitations(enterprise):
        earlier.revoked_at = utcnow()
        record(actor, "invitation.revoked", earlier, superseded=True)
    return create_invitation(actor, email=email, role="enterprise", name=name.strip(),
                             enterprise=enterprise, enterprise_admin=True,
                             organization=actor.organization)


# --- claim requests -----------------------------------------------------------------------

def register_applicant(enterprise: Enterprise, *, company_name: str, name: str, email: str,
                       password: str, mobile_phone: str | None = None) -> User:
    """Registration with a known enterprise's USCC: an account that holds no enterprise, and
    a pending claim request naming it. Called by registration (the person is not signed in
    yet); the approvers hear of it once the account is confirmed (`announce_claims`)."""
    user = create_user(email=email, name=name, password=password, role="applicant")
    if mobile_phone:
        user.phone = mobile.normalize(mobile_phone)
    claim = EnterpriseClaim(enterprise_id=enterprise.id, requester_id=user.id,
                            company_name=company_name.strip()[:128])
    db.session.add(claim)
    db.session.flush()
    record(user, "user.registered", user, applicant=True)
    record(user, "enterprise_claim.requested", claim, enterprise_id=enterprise.id)
    log.info("user %s asks to claim enterprise %s", user.id, enterprise.id)
    return user


def claim_approvers(enterprise: Enterprise) -> list[User]:
    """Who may decide: the enterprise's admins and the organizers of its district (or of the
    city), active accounts only."""
    return list(db.session.scalars(select(User).where(User.active.is_(True)).where(
        ((User.role == "enterprise") & (User.enterprise_id == enterprise.id)
         & User.is_enterprise_admin.is_(True))
        | ((User.role == "organizer")
           & (User.district.is_(None) | (User.district == enterprise.district))))
        .order_by(User.id)))


def announce_claims(user: User) -> int:
    """Tell the approvers of the user's pending requests (at registration without mail
    confirmation, else when the mailed link is opened). Returns the users told."""
    if user.role != "applicant" or not user.active:
        return 0
    told = 0
    for claim in db.session.scalars(select(EnterpriseClaim).where(
            EnterpriseClaim.requester_id == user.id, EnterpriseClaim.status == "pending")):
        told += _tell_approvers(claim)
    return told


def _tell_approvers(claim: EnterpriseClaim) -> int:
    return notify_all(claim_approvers(claim.enterprise), "enterprise_claim.requested",
                      f"有人申请成为“{claim.enterprise.name}”的企业用户，请审核",
                      _link("enterprises.claims"), email=True)


@guarded(can_amend_claim, "claim", message="只能补充您本人的申请")
def amend_claim(actor: User, claim: EnterpriseClaim, *, position: str | None,
                note: str | None) -> EnterpriseClaim:
    """The requester adds their position and what proves it, while the request waits."""
    if claim.status != "pending":
        raise ServiceError("该申请已处理，不能再补充")
    claim.position = (position or "").strip()[:64] or None
    claim.note = (note or "").strip() or None
    db.session.flush()
    record(actor, "enterprise_claim.amended", claim)
    return claim


@guarded(can_amend_claim, "claim", message="只能重新提交您本人的申请")
def reapply(actor: User, claim: EnterpriseClaim, *, position: str | None,
            note: str | None) -> EnterpriseClaim:
    """After a refusal the requester may ask again with more proof (a few times at most)."""
    if claim.status != "refused":
        raise ServiceError("只有未通过的申请可以重新提交")
    asked = db.session.scalar(select(func.count(EnterpriseClaim.id)).where(
        EnterpriseClaim.requester_id == actor.id,
        EnterpriseClaim.enterprise_id == claim.enterprise_id))
    if asked >= MAX_CLAIMS_PER_ENTERPRISE:
        raise ServiceError(f"对同一企业最多可申请{MAX_CLAIMS_PER_ENTERPRISE}次，"
                           "请联系企业所在区县的经信部门")
    if not (note or "").strip():
        raise ServiceError("请补充说明您与该企业的关系及可供核实的材料", field="note")
    again = EnterpriseClaim(enterprise_id=claim.enterprise_id, requester_id=actor.id,
                            company_name=claim.company_name,
                            position=(position or "").strip()[:64] or None,
                            note=note.strip())
    db.session.add(again)
    db.session.flush()
    record(actor, "enterprise_claim.requested", again, enterprise_id=claim.enterprise_id,
           after=claim.id)
    _tell_approvers(again)
    return again


def _settle(actor: User, claim: EnterpriseClaim, status: str, reason: str | None) -> None:
    """Pending → decided, once: a second approver (or a double submit) updates no row."""
    decided = db.session.execute(
        update(EnterpriseClaim)
        .where(EnterpriseClaim.id == claim.id, EnterpriseClaim.status == "pending")
        .values(status=status, decided_by_id=actor.id, decided_at=utcnow(), reason=reason)
        .execution_options(synchronize_session=False))
    if decided.rowcount != 1:
        raise ServiceError("该申请已由他人处理")
    db.session.refresh(claim)


@guarded(can_decide_claim, "claim",
         message="只有该企业的管理员或企业所在区县的组织方可以审核该申请")
def approve_claim(actor: User, claim: EnterpriseClaim) -> User:
    """The requester becomes the enterprise's user: its admin when it had no user yet."""
    _settle(actor, claim, "approved", None)  # first: a second approver hears "已由他人处理"
    requester = claim.requester
    if requester.role != "applicant" or not requester.active:
        raise ServiceError("申请人的账号已注销或停用，无法通过")  # the caller rolls back
    first = not has_users(claim.enterprise)
    requester.role = "enterprise"
    requester.enterprise_id = claim.enterprise_id
    requester.is_enterprise_admin = first
    db.session.flush()
    record(actor, "enterprise_claim.approved", claim, enterprise_id=claim.enterprise_id,
           requester_id=requester.id, enterprise_admin=first)
    notify(requester, "enterprise_claim.approved",
           f"您成为“{claim.enterprise.name}”企业用户的申请已通过", _link("web.home"),
           email=True)
    return requester


@guarded(can_decide_claim, "claim",
         message="只有该企业的管理员或企业所在区县的组织方可以审核该申请")
def refuse_claim(actor: User, claim: EnterpriseClaim, reason: str) -> EnterpriseClaim:
    """Refused with a reason the requester reads; the account stays, holding no enterprise."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写不予通过的原因（申请人可见）", field="reason")
    _settle(actor, claim, "refused", reason)
    record(actor, "enterprise_claim.refused", claim, enterprise_id=claim.enterprise_id,
           requester_id=claim.requester_id)
    # the reason stays on the platform: mail carries no free text
    notify(claim.requester, "enterprise_claim.refused",
           f"您成为“{claim.enterprise.name}”企业用户的申请未通过，请登录查看原因",
           _link("web.home"), email=True)
    return claim
