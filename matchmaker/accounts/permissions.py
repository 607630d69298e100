"""May this role open the page at all, and the named predicates views and templates share."""
from functools import wraps

from flask import abort
from flask_login import current_user

from ..extensions import login_manager
from .models import BANK_ROLES, ROLES


def roles_required(*roles):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


def is_signed_in(user) -> bool:
    """Anyone acting on their own account (their password, their notifications): a signed-in,
    active user of one of the platform's roles."""
    return (bool(getattr(user, "is_authenticated", False)) and user.role in ROLES
            and bool(getattr(user, "active", False)))


def is_bank_user(user) -> bool:
    return user.is_authenticated and user.role in BANK_ROLES


def can_invite(user, role: str) -> bool:
    """Admins invite institution admins and organizers (and admins); institution admins invite
    their own managers; an enterprise admin invites colleagues."""
    if not user.is_authenticated:
        return False
    if user.role == "admin":
        return role in ("bank_admin", "organizer", "admin")
    if user.role == "bank_admin":
        return role == "bank_manager"
    if user.role == "enterprise":
        return role == "enterprise" and user.is_enterprise_admin
    return False


def can_revoke_invitation(user, invitation) -> bool:
    """Whoever could have sent it: an admin any, an institution admin its institution's, an
    enterprise admin its company's."""
    if not getattr(user, "is_authenticated", False) or invitation is None:
        return False
    if user.role == "admin":
        return True
    if user.role == "bank_admin":
        return invitation.institution_id == user.institution_id
    if user.role == "enterprise" and user.is_enterprise_admin:
        return invitation.enterprise_id == user.enterprise_id
    return False


def can_manage_member(user, member) -> bool:
    """An institution admin runs the team: its own institution's account managers."""
    return (bool(getattr(user, "is_authenticated", False)) and member is not None
            and user.role == "bank_admin" and bool(getattr(user, "active", False))
            and member.role == "bank_manager"
            and member.institution_id is not None
            and member.institution_id == user.institution_id)


def can_deactivate_member(user, member) -> bool:
    return can_manage_member(user, member) and bool(member.active)


def can_reactivate_member(user, member) -> bool:
    return can_manage_member(user, member) and not member.active


def can_erase_account(user, account) -> bool:
    """An enterprise user (or an applicant) closes their own account; a platform admin closes
    anyone's."""
    if not is_signed_in(user) or account is None:
        return False
    return user.role == "admin" or (user.id == account.id
                                    and user.role in ("enterprise", "applicant"))


def can_close_own_account(user) -> bool:
    """The page /account/close: an enterprise user, signed in, closing their own account."""
    return is_signed_in(user) and user.role == "enterprise"


def can_view_audit(user) -> bool:
    return user.is_authenticated and user.role == "admin"


def invitable_roles(user) -> list[str]:
    return [r for r in ("bank_admin", "bank_manager", "organizer", "admin", "enterprise")
            if can_invite(user, r)]


def register_predicates(bp, predicates: dict) -> None:
    """A domain's predicates become Jinja globals, so templates ask the view's own question."""
    for name, predicate in predicates.items():
        bp.add_app_template_global(predicate, name)


# registered as Jinja globals so templates ask the view's own question
PREDICATES = {
    "can_invite": can_invite,
    "can_view_audit": can_view_audit,
    "can_deactivate_member": can_deactivate_member,
    "can_reactivate_member": can_reactivate_member,
    "is_bank_user": is_bank_user,
}
