from datetime import timedelta

from flask import has_request_context, request

from .. import clock
from ..extensions import db
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
    """record() for a batch (a job opening thousands of leads): one audit row per subject,
    written in one executemany. `rows`: (subject id, details)."""
    if not rows:
        return 0
    from .. import clock

    now = clock.now()
    addr = request.remote_addr if has_request_context() else None
    db.session.execute(AuditEntry.__table__.insert(), [
        {"created_at": now, "actor_id": actor.id if actor is not None else None,
         "action": action, "subject_type": subject_type, "subject_id": subject_id,
         "details": {k: _plain(v) for k, v in details.items() if k not in PERSONAL},
         "remote_addr": addr} for subject_id, details in rows])
    return len(rows)


RETENTION_FLOOR_DAYS = 183  # the migration's trigger refuses deleting anything younger


def prune_before(cutoff) -> int:
    """Delete audit rows older than `cutoff` (the retention job; never younger than the floor:
    the database refuses that itself)."""
    floor = clock.now() - timedelta(days=RETENTION_FLOOR_DAYS)
    cutoff = min(cutoff, floor)
    return db.session.execute(
        AuditEntry.__table__.delete().where(AuditEntry.created_at < cutoff)).rowcount
