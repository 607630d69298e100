"""Who sees which enterprise and need, and what they may do to it.

Enterprise data is seen by the enterprise's own users and by organizers only (a district
organizer only within the district); banks see needs through consented leads (leads/).
Every query for an enterprise or a need starts from `visible_enterprises` / `visible_needs`,
so another tenant's object answers 404.
"""
from sqlalchemy import Select, false, select

from .models import Enterprise, Need

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


def can_import_enterprises(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == "organizer"


def can_search_enterprises(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role == "organizer"


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
}
