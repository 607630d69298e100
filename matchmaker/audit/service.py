from datetime import timedelta

from flask import has_request_context, request
from sqlalchemy import JSON, Boolean, Integer, String, cast, func, insert, literal, select
from sqlalchemy.sql import ColumnElement

from .. import clock
from ..extensions import db, insert_many
from .models import AuditEntry

# never copied into an audit row: personal or credit data (个人信息保护法)
PERSONAL = {"uscc", "phone", "contact_name", "contact_phone", "email", "id_number",
            "revenue_wan", "password", "token", "name", "address", "tax_credit_grade"}


def record(actor, action: str, subject, **details) -> AuditEntry:
    """Add an audit row to the caller's transaction: the change and its record commit together."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject.__tablename__,
        subject_id=getattr(subject, "id", None),
        details={k: _plain(v) for k, v in details.items() if k not in PERSONAL},
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def _plain(value):
    """JSON-safe: Decimals and dates become strings, sets lists."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def record_many(actor, action: str, subject_type: str, rows: list[tuple[int, dict]]) -> int:
    """record() for a batch (an import's thousands of records): one audit row per subject,
    written at once by insert_many (COPY on PostgreSQL), after the session's pending rows.
    `rows`: (subject id, details)."""
    if not rows:
        return 0
    from .. import clock

    now = clock.now()
    addr = request.remote_addr if has_request_context() else None
    return insert_many(AuditEntry.__table__, [
        {"created_at": now, "actor_id": actor.id if actor is not None else None,
         "action": action, "subject_type": subject_type, "subject_id": subject_id,
         "details": {k: _plain(v) for k, v in details.items() if k not in PERSONAL},
         "remote_addr": addr} for subject_id, details in rows])


def record_rows(actor, action: str, model, *where, **details) -> int:
    """record() for every row of `model` that `where` selects, in one INSERT … SELECT: the
    database builds each row's details (a JSON object whose values are that row's columns or
    constants) and nothing passes through Python. For bulk work that cannot avoid one row per
    subject (a job opening leads by the hundred thousand: the enterprise's timeline and the
    admin's search find a lead's story by subject, on an index). Returns the rows recorded."""
    table, columns = model.__table__, AuditEntry.__table__.c
    pairs = []
    for key, value in details.items():
        if key in PERSONAL:
            continue
        pairs += [cast(literal(key), String), _json_value(value)]
    builder = func.json_build_object if _dialect() == "postgresql" else func.json_object
    stmt = insert(AuditEntry).from_select(
        ["created_at", "actor_id", "action", "subject_type", "subject_id", "details",
         "remote_addr"],
        select(literal(clock.now(), columns.created_at.type),
               cast(literal(actor.id if actor is not None else None), Integer),
               cast(literal(action), String), cast(literal(table.name), String), table.c.id,
               builder(*pairs, type_=JSON),
               cast(literal(request.remote_addr if has_request_context() else None), String))
        .where(*where).order_by(table.c.id))
    return db.session.execute(stmt).rowcount


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _json_value(value):
    """A column goes into the JSON object as its value (a JSON column as JSON, not as its
    text: SQLite stores it as text); a constant as a bound value."""
    if hasattr(value, "__clause_element__"):  # a mapped attribute: Lead.need_id
        value = value.__clause_element__()
    if not isinstance(value, ColumnElement):
        value = _plain(value)
        kind = {bool: Boolean, int: Integer, str: String}.get(type(value))
        if kind is None:  # a list or an object would need its own JSON: pass a column
            raise TypeError(f"record_rows: a constant {type(value).__name__} in the details")
        return cast(literal(value), kind)
    if isinstance(value.type, JSON) and _dialect() == "sqlite":
        return func.json(value)
    return value


RETENTION_FLOOR_DAYS = 183  # the migration's trigger refuses deleting anything younger


def prune_before(cutoff) -> int:
    """Delete audit rows older than `cutoff` (the retention job; never younger than the floor:
    the database refuses that itself)."""
    floor = clock.now() - timedelta(days=RETENTION_FLOOR_DAYS)
    cutoff = min(cutoff, floor)
    return db.session.execute(
        AuditEntry.__table__.delete().where(AuditEntry.created_at < cutoff)).rowcount
