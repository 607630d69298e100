"""Who sees which figures. A district organizer (user.district set) sees its district only,
on every monitoring page and on the home page; a city organizer (district NULL) sees all
districts side by side."""
from sqlalchemy import false, select

from .models import Activity, Report


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_view_monitoring(user) -> bool:
    return _authenticated(user) and user.role == "organizer"


def district_of(user) -> str | None:
    """The one district a user's figures are limited to; None for the whole city."""
    return user.district if can_view_monitoring(user) else None


def can_edit_targets(user) -> bool:
    """Targets and the scorecard's weights are the administrators' settings."""
    return _authenticated(user) and user.role == "admin"


def can_record_activity(user) -> bool:
    return can_view_monitoring(user)


def can_view_targets(user) -> bool:
    return _authenticated(user) and user.role in ("organizer", "admin")


def visible_activities(user):
    """Activities an organizer sees: its district's (all for the city)."""
    query = select(Activity)
    if not can_view_monitoring(user):
        return query.where(false())
    return query.where(Activity.district == user.district) if user.district else query


def can_file_return(user, institution) -> bool:
    """A bank's own admin files its monthly 制造业贷款 return."""
    return (_authenticated(user) and user.role == "bank_admin" and institution is not None
            and user.institution_id == institution.id and institution.kind == "bank")


def visible_reports(user):
    """Reports an organizer may download: its district's (the city's for a city organizer)."""
    if not can_view_monitoring(user):
        return select(Report).where(false())
    if user.district:
        return select(Report).where(Report.district == user.district)
    return select(Report)
