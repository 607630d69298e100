"""Who moves the platform's data in and out as a whole (it carries every enterprise's
personal and credit data): the administrators."""


def can_exchange_data(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == "admin"
