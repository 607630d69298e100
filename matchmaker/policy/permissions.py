"""Who may change the platform's policy figures and calendar: administrators only."""


def can_edit_policy(user) -> bool:
    """LPR quotes, subsidy programmes, settings, the working-day calendar."""
    return bool(getattr(user, "is_authenticated", False)) and user.role == "admin"
