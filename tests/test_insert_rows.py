"""extensions.insert_rows: what SQLAlchemy's executemany would have written, row for row."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from matchmaker.audit.models import AuditEntry
from matchmaker.extensions import db as _db
from matchmaker.extensions import insert_rows


def _rows(first_id: int) -> list[dict]:
    moment = datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=UTC)
    details = [{}, {"need_id": 5, "scope": ["name", "uscc"]}, {"名称": "中文", "n": 1.5},
               {"text": 'tab\there, line\nbreak, back\\slash "quoted"'}]
    # what COPY's text format must escape (tab, newline, backslash) in a column and in JSON
    return [{"created_at": moment, "actor_id": None, "action": f"test.{k % 2}\t\\N\n",
             "subject_type": "leads", "subject_id": first_id + k, "details": d,
             "remote_addr": None if k % 2 else "10.0.0.1"}
            for k, d in enumerate(details * 60)]  # 240 rows: by COPY on PostgreSQL


def _read(lo: int, hi: int) -> list[tuple]:
    return [(e.created_at, e.actor_id, e.action, e.subject_type, e.subject_id - lo, e.details,
             e.remote_addr)
            for e in _db.session.scalars(select(AuditEntry).where(
                AuditEntry.subject_id.between(lo, hi)).order_by(AuditEntry.subject_id))]


def test_insert_rows_writes_what_executemany_writes(db):
    db.session.execute(AuditEntry.__table__.insert(), _rows(1000))
    assert insert_rows(AuditEntry.__table__, _rows(2000)) == 240
    assert insert_rows(AuditEntry.__table__, _rows(4000)[:12]) == 12  # an executemany
    ours, theirs = _read(2000, 2999), _read(1000, 1999)
    assert len(ours) == 240 and ours == theirs
    assert _read(4000, 4999) == theirs[:12]
    assert ours[2][5] == {"名称": "中文", "n": 1.5} and ours[0][0].tzinfo is not None


def test_insert_rows_refuses_to_leave_a_python_default_out(db):
    rows = _rows(3000)
    for row in rows:
        del row["created_at"]
    with pytest.raises(ValueError, match="created_at"):
        insert_rows(AuditEntry.__table__, rows)
    assert insert_rows(AuditEntry.__table__, []) == 0
