from sqlalchemy import select

from matchmaker.audit.models import AuditEntry
from matchmaker.extensions import db


def assert_audited(action: str, subject=None, **details) -> AuditEntry:
    query = select(AuditEntry).where(AuditEntry.action == action)
    if subject is not None:
        query = query.where(AuditEntry.subject_type == subject.__tablename__,
                            AuditEntry.subject_id == subject.id)
    entries = db.session.scalars(query.order_by(AuditEntry.id.desc())).all()
    assert entries, f"no audit entry {action} for {subject!r}"
    for key, value in details.items():
        assert entries[0].details.get(key) == value, (key, entries[0].details)
    return entries[0]
