"""Enterprises react: an erased account takes the enterprise's copy of its contact details
with it."""
from .. import signals
from . import service


@signals.user_erased.connect
def _account_erased(account, *, actor=None, name=None, phone=None, **_):
    """The erased user was the enterprise's contact person: erase the contact too."""
    if account.role == "enterprise":
        service.erase_contact_of(account, name, phone, by=actor)
