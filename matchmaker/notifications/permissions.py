"""Whose bell entries these are: a user reads and clears only their own."""
from ..accounts.permissions import is_signed_in


def owns_notification(user, note) -> bool:
    return is_signed_in(user) and note is not None and note.user_id == user.id
