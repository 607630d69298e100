"""Who may change the platform's policy figures and calendar: administrators only."""


def can_edit_policy(user) -> bool:
    """LPR quotes, subsidy programmes, settings, the working-day calendar."""
    return bool(getattr(user, "is_authenticated", False)) and user.role == "admin"


def can_confirm_programs(user) -> bool:
    """Which products a subsidy programme applies to: an organizer (or the administrator)
    decides; a bank's declaration on its product is a request (issue 15)."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in ("organizer", "admin")
