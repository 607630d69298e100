"""Who sees which figures. A district organizer (user.district set) sees its district only,
on every monitoring page and on the home page; a city organizer (district NULL) sees all
districts side by side."""


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_view_monitoring(user) -> bool:
    return _authenticated(user) and user.role == "organizer"


def district_of(user) -> str | None:
    """The one district a user's figures are limited to; None for the whole city."""
    return user.district if can_view_monitoring(user) else None
