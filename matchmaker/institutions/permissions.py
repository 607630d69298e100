"""Who sees and changes an institution's products; the core-enterprise list is the organizers'.

Every product query of the institution pages starts from visible_products(), so another
institution's product answers 404 (it is not in the query), never 403.
"""
from sqlalchemy import Select, false, select

from ..accounts.models import BANK_ROLES
from .models import Product

# the state machine: action -> (states it may start from, state it leads to)
TRANSITIONS = {
    "publish": (("draft", "paused"), "published"),
    "pause": (("published",), "paused"),
    "retire": (("draft", "published", "paused"), "retired"),  # retired is final
}
POOL_ROLES = ("organizer", "admin")


def visible_products(user) -> Select:
    """The products of the user's own institution; nothing for other roles."""
    if not user.is_authenticated or user.role not in BANK_ROLES:
        return select(Product).where(false())
    return select(Product).where(Product.institution_id == user.institution_id)


def can_view_product(user, product) -> bool:
    return (user.is_authenticated and user.role in BANK_ROLES
            and product.institution_id == user.institution_id)


def administers_product(user, product) -> bool:
    """The product's institution's admin (whatever the product's state)."""
    return (getattr(user, "is_authenticated", False) and user.role == "bank_admin"
            and product is not None and product.institution_id == user.institution_id)


def can_edit_product(user, product) -> bool:
    """Only the institution's own admin changes its products; a retired product is frozen."""
    return administers_product(user, product) and product.status != "retired"


def can_change_product_status(user, product, action: str) -> bool:
    return can_edit_product(user, product) and product.status in TRANSITIONS[action][0]


def can_create_product(user) -> bool:
    return user.is_authenticated and user.role == "bank_admin"


def can_edit_institution(user, institution) -> bool:
    return (getattr(user, "is_authenticated", False) and user.role == "bank_admin"
            and institution is not None and institution.id == user.institution_id)


def can_manage_core_enterprises(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in POOL_ROLES


def can_export_product_pool(user) -> bool:
    return user.is_authenticated and user.role in POOL_ROLES


# registered as Jinja globals when the institutions blueprint is registered
PREDICATES = {
    "can_view_product": can_view_product,
    "can_edit_product": can_edit_product,
    "can_change_product_status": can_change_product_status,
    "can_create_product": can_create_product,
    "can_edit_institution": can_edit_institution,
    "can_manage_core_enterprises": can_manage_core_enterprises,
    "can_export_product_pool": can_export_product_pool,
}
