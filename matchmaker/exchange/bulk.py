"""The import's writer for new records: what the ORM writers in service.py do for one record,
done for thousands in a few executemany statements (issue 13: a 20,000-need document wrote
one row and one flush at a time). Only `created` records of products, enterprises and needs
come here, already validated by the import's plan; updates keep the ORM writers (they
compare and version the stored rows, and are few). Same rows, same audit entries, the same
transaction; flushes nothing of its own and never commits.
"""
from sqlalchemy import select

from ..audit.service import record_many
from ..enterprises.models import (
    Enterprise,
    EnterpriseTag,
    Need,
    NeedGuaranteeMode,
    derive_size,
)
from ..extensions import db, insert_many
from ..institutions.models import (
    PRODUCT_LIST_FIELDS,
    Product,
    ProductTerm,
    ProductVersion,
)
from ..policy.models import ProgramConfirmation
from ..types import utcnow
from .schema import FIELDS, to_exchange

MODELS = {"products": Product, "enterprises": Enterprise, "needs": Need}
NOUNS = {"products": "product", "enterprises": "enterprise", "needs": "need"}
# list-valued fields: (row table, owner column, keyed by the field's name)
LISTS = {
    "products": {name: (ProductTerm.__table__, "product_id", True) for name in PRODUCT_LIST_FIELDS},
    "enterprises": {"tags": (EnterpriseTag.__table__, "enterprise_id", False)},
    "needs": {"guarantee_modes": (NeedGuaranteeMode.__table__, "need_id", False)},
}
# reference fields: the section they point into and the column holding the id
REFS = {"institution_ref": ("institutions", "institution_id"),
        "enterprise_ref": ("enterprises", "enterprise_id"),
        "current_lender_ref": ("institutions", "current_lender_id")}
RENAMED = {"size": "declared_size"}
BATCH = 5_000  # rows per executemany where insert_many falls back to it
CHUNK = 500  # refs per IN (...) when reading ids back (SQLite caps bound parameters)


def insert_created(section: str, changes: list, ids: dict, actor) -> dict[str, int]:
    """Insert the created records of one section; returns ref -> new id. `ids` holds the
    ids of every record of the earlier sections (stored or just written), by section and ref."""
    now = utcnow()
    model = MODELS[section]
    columns = set(model.__table__.c.keys())
    rows = []
    for change in changes:
        row = {"created_at": now, "updated_at": now}
        for name, value in change.values.items():
            if name in REFS:
                target, column = REFS[name]
                row[column] = ids[target][value] if value is not None else None
            elif name not in LISTS[section] and RENAMED.get(name, name) in columns:
                row[RENAMED.get(name, name)] = value
        row.update(_status(section, change.values, now))
        if section == "enterprises":  # what Enterprise's listener stores on an ORM write
            row["size_class"] = row.get("declared_size") or derive_size(
                row.get("industry"), row.get("employees"), row.get("revenue_wan"),
                row.get("assets_wan"))
            row["verification"] = "verified"  # imported firms are (the column's default)
        rows.append(row)
    _insert_many(model.__table__, rows)
    new_ids = _ids_by_ref(model, [c.ref for c in changes])
    _insert_lists(section, changes, new_ids)
    details = [{"via": "import"} if section == "enterprises"  # its ref embeds the USCC
               else {"via": "import", "ref": c.ref} for c in changes]
    record_many(actor, f"{NOUNS[section]}.created", model.__tablename__,
                [(new_ids[c.ref], d) for c, d in zip(changes, details, strict=True)])
    if section == "products":
        _confirm_programmes(changes, new_ids, actor, now)
        _publish_first_versions(changes, new_ids, actor, now)
    return new_ids


def _confirm_programmes(changes: list, new_ids: dict, actor, now) -> None:
    """As policy.service.confirm_imported: the administrator's import confirms the programmes
    its products declare (a bank's own declaration waits for an organizer: issue 15)."""
    by = actor.id if actor is not None else None
    rows = [{"product_id": new_ids[c.ref], "program_code": code, "confirmed_at": now,
             "confirmed_by_id": by}
            for c in changes for code in dict.fromkeys(c.values.get("subsidy_programs") or ())]
    _insert_many(ProgramConfirmation.__table__, rows)
    record_many(actor, "program_confirmation.created", Product.__tablename__,
                [(r["product_id"], {"code": r["program_code"], "via": "import"}) for r in rows])


def _status(section: str, values: dict, now) -> dict:
    if section == "needs":  # a need with funded_on was funded where it comes from
        return {"status": "funded" if values.get("funded_on") else "published"}
    if section == "products":
        # as _write_product + _settle_product_status: active = published as version 1,
        # otherwise paused with no version
        if values["active"]:
            return {"status": "published", "version": 1, "published_at": now,
                    "rate_basis": "fixed"}
        return {"status": "paused", "version": 0, "published_at": None, "rate_basis": "fixed"}
    return {}


def _insert_many(table, rows: list[dict]) -> None:
    # by COPY on PostgreSQL where the rows allow: SQLAlchemy's executemany converted every
    # value of every row (a third of a 20,000-need import's rows step there)
    insert_many(table, rows, BATCH)


def _ids_by_ref(model, refs: list[str]) -> dict[str, int]:
    found = {}
    for start in range(0, len(refs), CHUNK):
        found.update(db.session.execute(
            select(model.ref, model.id).where(model.ref.in_(refs[start:start + CHUNK]))).all())
    return found


def _insert_lists(section: str, changes: list, new_ids: dict) -> None:
    by_table: dict = {}
    for change in changes:
        owner_id = new_ids[change.ref]
        for name, (table, owner, keyed) in LISTS[section].items():
            for position, value in enumerate(change.values.get(name) or ()):
                row = {owner: owner_id, "value": value, "position": position}
                if keyed:
                    row["field"] = name
                by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        _insert_many(table, rows)


def _publish_first_versions(changes: list, new_ids: dict, actor, now) -> None:
    """publish_version for each active new product: version 1 frozen as its exchange record."""
    active = [c for c in changes if c.values["active"]]
    by = actor.id if actor is not None else None
    _insert_many(ProductVersion.__table__, [
        {"product_id": new_ids[c.ref], "version": 1, "published_at": now,
         "published_by_id": by,
         "terms": to_exchange("products", {name: c.values.get(name)
                                           for name in FIELDS["products"]})}
        for c in active])
    record_many(actor, "product.published", Product.__tablename__,
                [(new_ids[c.ref], {"version": 1}) for c in active])
