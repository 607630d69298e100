"""Who sees which event, registration, request and meeting, and what they may do.

Organizers manage the events of their district (a city-level organizer: all events).
Enterprises and institutions see events once published, and inside an event only their own
registration, the requests they are a side of and their own meetings: every query starts from
one of the `visible_*` selects, so another participant's object answers 404.
"""
from sqlalchemy import Select, false, select

from ..accounts.models import BANK_ROLES
from .models import Event, Meeting, MeetingRequest, Registration

PARTICIPANT_ROLES = ("enterprise",) + BANK_ROLES
EVENT_ROLES = PARTICIPANT_ROLES + ("organizer",)
# statuses in which participants see an event
OPEN_STATUSES = ("published", "scheduled", "finished")


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_participant_role(user) -> bool:
    return _authenticated(user) and user.role in PARTICIPANT_ROLES


def side_of(user) -> str | None:
    """'enterprise' or 'institution': the side of a meeting this user speaks for."""
    if not _authenticated(user):
        return None
    if user.role == "enterprise":
        return "enterprise"
    return "institution" if user.role in BANK_ROLES else None


def managed_events(user) -> Select:
    query = select(Event)
    if not _authenticated(user) or user.role != "organizer":
        return query.where(false())
    return query.where(Event.district == user.district) if user.district else query


def can_manage_event(user, event) -> bool:
    return (_authenticated(user) and user.role == "organizer" and event is not None
            and (user.district is None or event.district == user.district))


def can_create_event(user) -> bool:
    return _authenticated(user) and user.role == "organizer"


def can_manage_meeting(user, meeting) -> bool:
    return (_authenticated(user) and user.role == "organizer" and meeting is not None
            and can_manage_event(user, meeting.event))


def can_assign_meeting(user, meeting) -> bool:
    """The admin of the meeting's institution: it chooses which registered manager holds it."""
    return (_authenticated(user) and user.role == "bank_admin" and meeting is not None
            and user.institution_id == meeting.institution_registration.institution_id)


def visible_events(user) -> Select:
    if _authenticated(user) and user.role == "organizer":
        return managed_events(user)
    if is_participant_role(user):
        return select(Event).where(Event.status.in_(OPEN_STATUSES))
    return select(Event).where(false())


def own_party_clause(user):
    """Registration rows that speak for this user's enterprise or institution."""
    side = side_of(user)
    if side == "enterprise":
        return Registration.enterprise_id == user.enterprise_id
    if side == "institution":
        return Registration.institution_id == user.institution_id
    return false()


def _own_registration_ids(user):
    return select(Registration.id).where(own_party_clause(user))


def visible_registrations(user) -> Select:
    query = select(Registration)
    if _authenticated(user) and user.role == "organizer":
        return query.where(Registration.event_id.in_(managed_events(user)
                                                     .with_only_columns(Event.id)))
    return query.where(own_party_clause(user))


def visible_requests(user) -> Select:
    query = select(MeetingRequest)
    if _authenticated(user) and user.role == "organizer":
        return query.where(MeetingRequest.event_id.in_(managed_events(user)
                                                       .with_only_columns(Event.id)))
    side = side_of(user)
    if side is None:
        return query.where(false())
    column = (MeetingRequest.enterprise_registration_id if side == "enterprise"
              else MeetingRequest.institution_registration_id)
    return query.where(column.in_(_own_registration_ids(user)))


def visible_meetings(user) -> Select:
    query = select(Meeting)
    if _authenticated(user) and user.role == "organizer":
        return query.where(Meeting.event_id.in_(managed_events(user)
                                                .with_only_columns(Event.id)))
    side = side_of(user)
    if side is None:
        return query.where(false())
    column = (Meeting.enterprise_registration_id if side == "enterprise"
              else Meeting.institution_registration_id)
    return query.where(column.in_(_own_registration_ids(user)))


def owns_registration(user, registration) -> bool:
    side = side_of(user)
    if registration is None or side is None or side != registration.kind:
        return False
    if side == "enterprise":
        return registration.enterprise_id == user.enterprise_id
    return registration.institution_id == user.institution_id


def can_view_registration(user, registration) -> bool:
    return registration is not None and (owns_registration(user, registration)
                                         or can_manage_event(user, registration.event))


def can_register(user, event) -> bool:
    return is_participant_role(user) and event is not None and event.status == "published"


def speaks_for_registration(user, registration) -> bool:
    """The registered party itself, or the organizer managing the event."""
    return registration is not None and (owns_registration(user, registration)
                                         or can_manage_event(user, registration.event))


def can_cancel_registration(user, registration) -> bool:
    return (speaks_for_registration(user, registration) and registration.status != "cancelled"
            and registration.event.status != "finished")


def speaks_for_institution(user, institution) -> bool:
    """A bank user of the institution (it registers for an event with its managers)."""
    return (_authenticated(user) and user.role in BANK_ROLES and institution is not None
            and institution.id == user.institution_id)


def may_request_meeting(user, sender) -> bool:
    """A participant, for its own registration (None: not registered, which the service
    says in its own words)."""
    return is_participant_role(user) and (sender is None or owns_registration(user, sender))


def request_side(user, request) -> str | None:
    """Which side of the request the user is on, if any."""
    side = side_of(user)
    if request is None or side is None:
        return None
    reg = (request.enterprise_registration if side == "enterprise"
           else request.institution_registration)
    return side if owns_registration(user, reg) else None


def is_request_receiver(user, request) -> bool:
    side = request_side(user, request)
    return side is not None and side == request.receiver_side()


def is_request_sender(user, request) -> bool:
    """The side that asked (a must-meet pair is the organizer's: neither side withdraws it)."""
    side = request_side(user, request)
    return side is not None and side == request.origin


def can_respond_request(user, request) -> bool:
    return is_request_receiver(user, request) and request.status == "pending"


def can_withdraw_request(user, request) -> bool:
    return is_request_sender(user, request) and request.status in ("pending", "accepted")


def meeting_side(user, meeting) -> str | None:
    side = side_of(user)
    if meeting is None or side is None:
        return None
    reg = (meeting.enterprise_registration if side == "enterprise"
           else meeting.institution_registration)
    return side if owns_registration(user, reg) else None


def is_meeting_party(user, meeting) -> bool:
    return meeting_side(user, meeting) is not None


def can_record_result(user, meeting) -> bool:
    return is_meeting_party(user, meeting) and meeting.status != "no_show"


# registered as Jinja globals by the blueprint
PREDICATES = {
    "can_manage_event": can_manage_event,
    "can_register": can_register,
    "can_cancel_registration": can_cancel_registration,
    "can_respond_request": can_respond_request,
    "can_withdraw_request": can_withdraw_request,
    "can_record_result": can_record_result,
    "can_view_registration": can_view_registration,
    "can_assign_meeting": can_assign_meeting,
}
