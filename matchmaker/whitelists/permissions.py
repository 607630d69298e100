"""Who sees which batch, entry and push, and what they may do.

- A district organizer sees and edits only the district's own batches; once submitted to the
  city, the district still sees its batch (read-only) and the city takes over.
- A city organizer (user.district NULL) sees every batch; edits city batches in draft and any
  batch once submitted; proposes, overrides and pushes; closes.
- A bank user sees only the pushes sent to the institution whose lead it may see
  (leads.permissions.visible_leads: live consent, not lapsed) — another bank's push is 404.
- Enterprises and administrators never open these pages (403 by role).
Every query starts from visible_whitelists / visible_pushes, so "not yours" answers 404.
"""
from sqlalchemy import Select, false, select

from ..accounts.models import BANK_ROLES
from ..enterprises.permissions import can_view_enterprise
from ..leads.models import Lead
from ..leads.permissions import visible_leads
from .models import Push, Whitelist

ORGANIZER_ROLES = ("organizer",)


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _organizer(user) -> bool:
    return _authenticated(user) and user.role == "organizer"


def is_city(user) -> bool:
    return _organizer(user) and user.district is None


def visible_whitelists(user) -> Select:
    if not _organizer(user):
        return select(Whitelist).where(false())
    if user.district is None:
        return select(Whitelist)
    return select(Whitelist).where(Whitelist.owner_district == user.district)


def can_create_whitelist(user) -> bool:
    """Any organizer: a district's batch is the district's, the city's the city's."""
    return _organizer(user)


def can_view_whitelist(user, whitelist) -> bool:
    return (_organizer(user) and whitelist is not None
            and (user.district is None or whitelist.owner_district == user.district))


def _owner(user, whitelist) -> bool:
    return _organizer(user) and whitelist.owner_district == user.district


def can_edit_whitelist(user, whitelist) -> bool:
    """The batch's heading and entries: the owner while it is a draft, the city once it has
    been submitted (until it is pushed: then the list is what the banks received)."""
    if not can_view_whitelist(user, whitelist):
        return False
    if whitelist.status == "draft":
        return _owner(user, whitelist)
    return whitelist.status == "submitted" and is_city(user)


def can_edit_entry(user, entry) -> bool:
    return _organizer(user) and entry is not None and can_edit_whitelist(user, entry.whitelist)


def can_submit_whitelist(user, whitelist) -> bool:
    return (whitelist.status == "draft" and whitelist.owner_district is not None
            and _owner(user, whitelist))


def can_return_whitelist(user, whitelist) -> bool:
    """The city sends a submitted district batch back for corrections."""
    return (is_city(user) and whitelist.status == "submitted"
            and whitelist.owner_district is not None)


def can_push_whitelist(user, whitelist) -> bool:
    """Propose, override and push: the city, once the district has submitted (a city batch
    may go straight from its draft); again after pushing, for institutions added later."""
    if not is_city(user):
        return False
    if whitelist.status in ("submitted", "pushed"):
        return True
    return whitelist.status == "draft" and whitelist.owner_district is None


def can_push_entry(user, entry) -> bool:
    return is_city(user) and entry is not None and can_push_whitelist(user, entry.whitelist)


def can_adjust_push(user, push) -> bool:
    return is_city(user) and push is not None and can_push_entry(user, push.entry)


def can_close_whitelist(user, whitelist) -> bool:
    return is_city(user) and whitelist.status == "pushed"


def can_version_whitelist(user, whitelist) -> bool:
    """A correction of a closed batch: its owner or the city, once, as the next version."""
    return (whitelist.status == "closed" and can_view_whitelist(user, whitelist)
            and getattr(whitelist, "next_version", None) is None)


def can_flag_enterprise(user, enterprise) -> bool:
    return _organizer(user) and can_view_enterprise(user, enterprise)


def can_clear_flag(user, flag) -> bool:
    return _organizer(user) and flag is not None and can_flag_enterprise(user, flag.enterprise)


def can_supervise_push(user, push) -> bool:
    """督办 an overdue answer: an organizer who sees the batch."""
    return _organizer(user) and push is not None and can_view_whitelist(user,
                                                                     push.entry.whitelist)


# --- the banks ----------------------------------------------------------------------------

def visible_pushes(user) -> Select:
    """Pushes sent to the user's institution whose lead the user may see."""
    if not _authenticated(user) or user.role not in BANK_ROLES:
        return select(Push).where(false())
    leads = visible_leads(user).with_only_columns(Lead.id)
    return select(Push).where(Push.status == "sent", Push.institution_id == user.institution_id,
                              Push.lead_id.in_(leads))


def can_view_push(user, push) -> bool:
    from ..leads.permissions import can_view_lead

    return (_authenticated(user) and user.role in BANK_ROLES and push is not None
            and push.status == "sent" and push.institution_id == user.institution_id
            and push.lead is not None and can_view_lead(user, push.lead))


def can_record_disbursement(user, push) -> bool:
    """放款 after an approval, by the bank (the manager who holds or held the lead, or the
    institution's admin), while the batch is open."""
    if not can_view_push(user, push) or push.entry.whitelist.status == "closed":
        return False
    lead = push.lead
    if lead.outcome != "approved" and lead.status != "funded":
        return False
    if user.role == "bank_admin":
        return True
    claim = lead.last_claim
    return claim is not None and claim.manager_id == user.id


# registered as Jinja globals by the blueprint (views.py)
PREDICATES = {
    "can_view_whitelist": can_view_whitelist,
    "can_edit_whitelist": can_edit_whitelist,
    "can_submit_whitelist": can_submit_whitelist,
    "can_return_whitelist": can_return_whitelist,
    "can_push_whitelist": can_push_whitelist,
    "can_close_whitelist": can_close_whitelist,
    "can_version_whitelist": can_version_whitelist,
    "can_flag_enterprise": can_flag_enterprise,
    "can_record_disbursement": can_record_disbursement,
}
