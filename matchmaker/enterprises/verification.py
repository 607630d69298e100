"""A firm that registered itself waits for an organizer's check (issue 17, finding 4).

The platform is offline: it cannot ask the national registry (国家企业信用信息公示系统)
whether a USCC belongs to the name typed beside it. So a firm created by self-registration is
待核验 (`Enterprise.verification` 'pending') until an organizer of its district (or of the city)
confirms it — on its page, from the list of registrations awaiting a check, or by importing a
spreadsheet row whose name agrees (spreadsheet). Until then the firm keeps its profile, writes
needs and sees its matches, but nothing reaches a bank: no push, no lead, the consent flag
waits (leads.push, leads.service.open_lead). Confirmed: its open needs are matched again, which
sends the flagged ones to their banks. Refused (with a reason): its accounts are deactivated,
so the firm is held by nobody; an organizer may later confirm it and invite its real first
user, or approve a claim. Flush, never commit.
"""
import logging

from flask import current_app
from sqlalchemy import Select, select, update

from .. import signals
from ..accounts.models import User
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..notifications.service import notify
from ..types import utcnow
from .models import Enterprise
from .permissions import can_check_registration, visible_enterprises

log = logging.getLogger(__name__)

UNVERIFIED = ("贵企业为自行注册，尚待企业所在区县经信部门核验企业名称与统一社会信用代码；"
              "核验前，需求不会展示或推送给金融机构")
REFUSED = ("您注册的企业“{company}”未通过区县经信部门核验（企业名称与统一社会信用代码不符或无法确认），"
           "账号已停用；如您确为该企业工作人员，请持营业执照联系企业所在区县经信部门")
CHECKABLE = ("pending", "refused")


def pending_registrations(user) -> Select:
    """Self-registered firms awaiting this organizer's check (their district; all for the city)."""
    return visible_enterprises(user).where(Enterprise.verification == "pending")


def _settle(enterprise: Enterprise, status: str, reason: str | None) -> None:
    """One decision: a second organizer (or a double submit) updates no row."""
    done = db.session.execute(
        update(Enterprise)
        .where(Enterprise.id == enterprise.id, Enterprise.verification.in_(CHECKABLE),
               Enterprise.verification != status)
        .values(verification=status, verification_at=utcnow(), verification_reason=reason)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ServiceError("该企业的注册已由他人处理")
    db.session.refresh(enterprise)


def _users(enterprise: Enterprise) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.enterprise_id == enterprise.id, User.active.is_(True)).order_by(User.id)))


@guarded(can_check_registration, "enterprise",
         message="只有企业所在区县（或市级）的组织方可以核验企业注册")
def confirm_registration(actor: User, enterprise: Enterprise, *, via: str = "page") -> Enterprise:
    """Pending (or refused earlier) → verified: the firm's needs may reach banks from now on."""
    _settle(enterprise, "verified", None)
    record(actor, "enterprise.verified", enterprise, via=via)
    for user in _users(enterprise):
        notify(user, "enterprise.verified",
               f"“{enterprise.name}”已通过区县经信部门核验，需求可以推送给金融机构",
               current_app.url_map.bind("").build("enterprises.needs", {}), email=True)
    # matched again: the needs flagged 同意展示 go to their banks (leads react to the refresh)
    signals.enterprise_changed.send(enterprise)
    log.info("enterprise %s verified by user %s", enterprise.id, actor.id)
    return enterprise


@guarded(can_check_registration, "enterprise",
         message="只有企业所在区县（或市级）的组织方可以核验企业注册")
def refuse_registration(actor: User, enterprise: Enterprise, reason: str) -> Enterprise:
    """Pending → refused, with a reason kept for the organizers: the registrant's accounts stop
    working at once and are told by mail (a fixed text: the reason stays on the platform)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写不予通过的原因", field="reason")
    if enterprise.verification != "pending":
        raise ServiceError("该企业的注册已由他人处理")
    _settle(enterprise, "refused", reason[:500])
    record(actor, "enterprise.registration_refused", enterprise)
    for user in _users(enterprise):
        # told first (in the app and by mail once this commits): an inactive user hears nothing
        notify(user, "enterprise.registration_refused",
               REFUSED.format(company=enterprise.name), None, email=True)
        user.active = False
        user.session_version += 1
        db.session.flush()
        record(actor, "user.deactivated", user, reason="registration_refused")
        signals.user_deactivated.send(user, actor=actor)
    log.info("enterprise %s registration refused by user %s", enterprise.id, actor.id)
    return enterprise
