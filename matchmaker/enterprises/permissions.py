"""Who sees which enterprise and need, and what they may do to it.

Enterprise data is seen by the enterprise's own users and by organizers only (a district
organizer only within the district); banks see needs through consented leads (leads/).
Every query for an enterprise or a need starts from `visible_enterprises` / `visible_needs`,
so another tenant's object answers 404.
"""
from sqlalchemy import Select, false, select

from ..accounts.models import User
from .models import Enterprise, EnterpriseClaim, Need

ENTERPRISE_PAGE_ROLES = ("enterprise", "organizer")
# need statuses in which the enterprise may still change what it asks for
EDITABLE_STATUSES = ("draft", "published", "expired")

# Every move a need can make, and who may make it ("system" = the CLI or a job, actor None;
# "bank" = the lead's bank, used by leads/). Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    # organizers publish the needs they collected by spreadsheet for their firms
    ("draft", "published"): frozenset({"enterprise", "organizer"}),
    ("draft", "withdrawn"): frozenset({"enterprise"}),
    ("published", "in_progress"): frozenset({"organizer", "bank", "system"}),
    ("published", "withdrawn"): frozenset({"enterprise"}),
    ("published", "closed"): frozenset({"organizer"}),
    ("published", "expired"): frozenset({"system"}),
    ("in_progress", "funded"): frozenset({"enterprise", "organizer", "bank"}),
    ("in_progress", "closed"): frozenset({"organizer", "bank"}),
    ("in_progress", "withdrawn"): frozenset({"enterprise"}),
    # the talks ended without a loan: back on the market for other lenders
    ("in_progress", "published"): frozenset({"organizer", "system"}),
    ("expired", "published"): frozenset({"enterprise"}),
}


def actor_kind(actor) -> str:
    if actor is None:
        return "system"
    if actor.role in ("bank_manager", "bank_admin"):
        return "bank"
    return actor.role


def transition_allowed(actor, from_status: str, to_status: str) -> bool:
    return actor_kind(actor) in TRANSITIONS.get((from_status, to_status), frozenset())


def visible_enterprises(user) -> Select:
    """Enterprise rows this user may see: own company, or the organizer's district (all for a
    city-level organizer)."""
    query = select(Enterprise)
    if not getattr(user, "is_authenticated", False):
        return query.where(false())
    if user.role == "enterprise":
        return query.where(Enterprise.id == user.enterprise_id)
    if user.role == "organizer":
        return query.where(Enterprise.district == user.district) if user.district else query
    return query.where(false())


def visible_needs(user) -> Select:
    """Need rows this user may see, by the same rule as their enterprise."""
    query = select(Need).join(Need.enterprise)
    if not getattr(user, "is_authenticated", False):
        return query.where(false())
    if user.role == "enterprise":
        return query.where(Need.enterprise_id == user.enterprise_id)
    if user.role == "organizer":
        return query.where(Enterprise.district == user.district) if user.district else query
    return query.where(false())


def can_view_enterprise(user, enterprise) -> bool:
    if not getattr(user, "is_authenticated", False) or enterprise is None:
        return False
    if user.role == "enterprise":
        return user.enterprise_id == enterprise.id
    if user.role == "organizer":
        return user.district is None or user.district == enterprise.district
    return False


def can_edit_enterprise(user, enterprise) -> bool:
    """The company's own users keep its profile; organizers check it (verify tags)."""
    return can_view_enterprise(user, enterprise) and user.role == "enterprise"


def can_verify_tag(user, enterprise) -> bool:
    return can_view_enterprise(user, enterprise) and user.role == "organizer"


def can_view_need(user, need) -> bool:
    return need is not None and can_view_enterprise(user, need.enterprise)


def can_create_need(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == "enterprise"


def can_create_need_for(user, enterprise) -> bool:
    """The company's own users; an organizer for a firm of the district (the spreadsheet
    collects needs on paper and publishes them for the firms)."""
    return (can_view_enterprise(user, enterprise)
            and user.role in ("enterprise", "organizer"))


def is_need_owner(user, need) -> bool:
    """A user of the enterprise whose need it is (whatever the need's status)."""
    return need is not None and can_edit_enterprise(user, need.enterprise)


def can_edit_need(user, need) -> bool:
    return is_need_owner(user, need) and need.status in EDITABLE_STATUSES


def may_move_need(user, need) -> bool:
    """Who may move a need at all; TRANSITIONS then says which move. A bank moves it only
    through a lead it works (leads.claims, leads.outcomes guard that lead): this domain sits
    below leads and cannot see it."""
    if not getattr(user, "is_authenticated", False) or need is None:
        return False
    if user.role in ("bank_manager", "bank_admin"):
        return True
    return can_view_need(user, need)


def can_change_need_status(user, need, to: str) -> bool:
    """TRANSITIONS says which (from, to) pairs exist and who may make them."""
    return can_view_need(user, need) and transition_allowed(user, need.status, to)


def can_record_consent_for(user) -> bool:
    """Who may record an enterprise's consent to share on its behalf: an organizer (the
    spreadsheet it collected on paper) and an administrator (an exchange import)."""
    return getattr(user, "is_authenticated", False) and user.role in ("organizer", "admin")


def can_import_enterprises(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == "organizer"


def can_search_enterprises(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == "organizer"


# --- the enterprise's users: a collected firm's first user, claim requests -----------------

def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "active", True))


def is_enterprise_admin_of(user, enterprise_id) -> bool:
    return (_authenticated(user) and user.role == "enterprise"
            and bool(user.is_enterprise_admin) and user.enterprise_id == enterprise_id)


def can_invite_first_user(user, enterprise) -> bool:
    """An organizer of the enterprise's district (or of the city) invites the first user of a
    firm it collected; once the firm has users, its admin invites colleagues."""
    return can_view_enterprise(user, enterprise) and user.role == "organizer"


def can_check_registration(user, enterprise) -> bool:
    """An organizer of the firm's district (or of the city) confirms or refuses a firm that
    registered itself (enterprises.verification)."""
    return can_view_enterprise(user, enterprise) and user.role == "organizer"


def can_review_claims(user) -> bool:
    """Who has a queue of claim requests: organizers, and enterprise admins (their firm's)."""
    return _authenticated(user) and (user.role == "organizer" or (
        user.role == "enterprise" and bool(user.is_enterprise_admin)))


def can_decide_claim(user, claim) -> bool:
    """The enterprise's admin, or an organizer of its district (or of the city)."""
    if claim is None or not _authenticated(user):
        return False
    if user.role == "organizer":
        return can_view_enterprise(user, claim.enterprise)
    return is_enterprise_admin_of(user, claim.enterprise_id)


def can_amend_claim(user, claim) -> bool:
    """The person who asked: adds their position and proof, or asks again after a refusal."""
    return (claim is not None and _authenticated(user) and user.role == "applicant"
            and user.id == claim.requester_id)


def visible_claims(user) -> Select:
    """Claim requests this user decides on: of the admin's own enterprise, or of the
    organizer's district (all for a city-level organizer). A request shows once its
    requester has confirmed the account (an unconfirmed registration is nobody yet)."""
    query = (select(EnterpriseClaim).join(EnterpriseClaim.enterprise)
             .join(User, User.id == EnterpriseClaim.requester_id).where(User.active.is_(True)))
    if not can_review_claims(user):
        return query.where(false())
    if user.role == "organizer":
        return query.where(Enterprise.district == user.district) if user.district else query
    return query.where(EnterpriseClaim.enterprise_id == user.enterprise_id)


def own_claims(user) -> Select:
    """The applicant's own requests."""
    query = select(EnterpriseClaim)
    if not _authenticated(user) or user.role != "applicant":
        return query.where(false())
    return query.where(EnterpriseClaim.requester_id == user.id)


# registered as Jinja globals by the blueprint (views.py)
PREDICATES = {
    "can_view_enterprise": can_view_enterprise,
    "can_edit_enterprise": can_edit_enterprise,
    "can_verify_tag": can_verify_tag,
    "can_view_need": can_view_need,
    "can_create_need": can_create_need,
    "can_edit_need": can_edit_need,
    "can_change_need_status": can_change_need_status,
    "can_import_enterprises": can_import_enterprises,
    "can_search_enterprises": can_search_enterprises,
    "can_invite_first_user": can_invite_first_user,
    "can_review_claims": can_review_claims,
    "can_decide_claim": can_decide_claim,
}
