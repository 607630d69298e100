"""Issue 19: audit entries and consent records kept at least 6 months, pruned by a job only
after that. The database itself refuses deleting a younger audit row."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from matchmaker import clock
from matchmaker.audit.models import AuditEntry
from matchmaker.leads.jobs import prune_expired_records
from matchmaker.leads.models import Consent
from tests.factories import ConsentFactory


def audit_row(db, days_old: int) -> int:
    entry = AuditEntry(action="test.retention", subject_type="users", subject_id=1,
                       created_at=clock.now() - timedelta(days=days_old), details={})
    db.session.add(entry)
    db.session.flush()
    return entry.id


def test_old_audit_rows_and_revoked_consents_go_young_ones_stay(db):
    old, young = audit_row(db, 400), audit_row(db, 200)
    kept_in_force = ConsentFactory(granted_at=clock.now() - timedelta(days=900))
    revoked_long_ago = ConsentFactory(revoked_at=clock.now() - timedelta(days=400))
    revoked_lately = ConsentFactory(revoked_at=clock.now() - timedelta(days=200))
    db.session.flush()
    ids = [kept_in_force.id, revoked_long_ago.id, revoked_lately.id]

    result = prune_expired_records()  # default: 366 days
    assert result["audit_entries"] >= 1 and result["consents"] == 1
    left = set(db.session.scalars(select(AuditEntry.id).where(AuditEntry.id.in_([old, young]))))
    assert left == {young}
    assert set(db.session.scalars(select(Consent.id).where(Consent.id.in_(ids)))) == {
        kept_in_force.id, revoked_lately.id}


def test_a_retention_below_six_months_is_raised_to_six_months(db, app, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 30)
    young = audit_row(db, 100)
    prune_expired_records()
    assert db.session.scalar(select(func.count()).where(AuditEntry.id == young)) == 1


def test_the_database_refuses_deleting_a_younger_audit_row(db):
    young = audit_row(db, 10)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == young))
    old = audit_row(db, 200)
    with db.session.begin_nested():  # past the floor: allowed
        db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == old))
