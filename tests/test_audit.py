"""The audit log: admin-only page, its filters, and rows the database refuses to change."""
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from matchmaker.audit.models import AuditEntry
from matchmaker.audit.service import record
from tests.conftest import ROLES
from tests.factories import EnterpriseFactory, InstitutionFactory, user_for_role


def entry(actor, action, subject, at=None, **details) -> AuditEntry:
    row = record(actor, action, subject, **details)
    if at is not None:
        row.created_at = at
    return row


def shown(client, **filters) -> set[str]:
    """The rows the page lists, as "action subject_type #id" strings."""
    response = client.get("/admin/audit/", query_string=filters)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    actions = re.findall(r'<code class="small">([a-z_.]+)</code></td>\s*<td>(\w+) #(\d+)</td>',
                         html)
    return {f"{action} {kind} #{ident}" for action, kind, ident in actions}


@pytest.fixture
def trail(db):
    """Two actors, two kinds of subject, three days (China time)."""
    alice = user_for_role("admin", email="alice_w@platform.cn")
    bob = user_for_role("bank_admin", email="bob@bank.cn")
    firm, bank = EnterpriseFactory(), InstitutionFactory()
    rows = {
        "a": entry(alice, "enterprise.updated", firm, datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),
        # 2026-03-10 01:30 in Chongqing, though still the 9th in UTC
        "b": entry(alice, "institution.updated", bank,
                   datetime(2026, 3, 9, 17, 30, tzinfo=UTC)),
        "c": entry(bob, "institution.created", bank, datetime(2026, 3, 11, 2, 0, tzinfo=UTC)),
        "d": entry(None, "enterprise.created", firm, datetime(2026, 3, 12, 2, 0, tzinfo=UTC)),
    }
    db.session.flush()
    return {"alice": alice, "bob": bob, "firm": firm, "bank": bank,
            **{k: f"{r.action} {r.subject_type} #{r.subject_id}" for k, r in rows.items()}}


@pytest.fixture
def admin_client(client_as):
    return client_as("admin")


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_open_the_audit_page(client_as, role):
    response = client_as(role).get("/admin/audit/")
    if role == "admin":
        assert response.status_code == 200
        assert "审计日志" in response.get_data(as_text=True)
    elif role == "anonymous":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403


def test_unfiltered_shows_everything_newest_first(admin_client, trail):
    assert {trail[k] for k in "abcd"} <= shown(admin_client)
    html = admin_client.get("/admin/audit/").get_data(as_text=True)
    assert html.index("enterprise.created") < html.index("enterprise.updated")
    assert "系统/命令行" in html  # the row without an actor
    assert "更新企业" in html  # actions are shown in Chinese


def test_filter_by_actor_email(admin_client, trail):
    assert shown(admin_client, actor="alice_w@platform.cn") == {trail["a"], trail["b"]}
    assert shown(admin_client, actor="BOB@") == {trail["c"]}
    assert shown(admin_client, actor="alice_w") == {trail["a"], trail["b"]}
    assert shown(admin_client, actor="b_b@") == set()  # "_" is a character, not LIKE's wildcard


def test_filter_by_subject(admin_client, trail):
    assert shown(admin_client, subject_type="institutions") >= {trail["b"], trail["c"]}
    assert trail["a"] not in shown(admin_client, subject_type="institutions")
    assert shown(admin_client, subject_type="enterprises", subject_id=trail["firm"].id) == {
        trail["a"], trail["d"]}


def test_filter_by_action(admin_client, trail):
    found = shown(admin_client, action="institution.updated")
    assert trail["b"] in found and trail["c"] not in found
    assert all(row.startswith("institution.updated ") for row in found)


def test_filter_by_dates_in_china_time(admin_client, trail):
    assert shown(admin_client, date_from="2026-03-09", date_to="2026-03-09") == {trail["a"]}
    assert shown(admin_client, date_from="2026-03-10", date_to="2026-03-10") == {trail["b"]}
    assert shown(admin_client, date_from="2026-03-10", date_to="2026-03-11") == {
        trail["b"], trail["c"]}
    assert trail["c"] not in shown(admin_client, date_to="2026-03-10")
    assert {trail["c"], trail["d"]} <= shown(admin_client, date_from="2026-03-11")
    assert shown(admin_client, actor="bob@bank.cn", date_from="2026-03-12") == set()


@pytest.mark.parametrize("name", ["date_from", "date_to"])
def test_an_invalid_date_is_explained_in_chinese(admin_client, trail, name):
    response = admin_client.get("/admin/audit/", query_string={name: "2026-13-40"})
    assert response.status_code == 200
    assert "日期格式应为 YYYY-MM-DD" in response.get_data(as_text=True)


def test_a_non_numeric_subject_id_is_explained(admin_client, trail):
    response = admin_client.get("/admin/audit/", query_string={"subject_id": "abc"})
    assert "对象编号应为数字" in response.get_data(as_text=True)


def test_the_page_shows_no_personal_data(admin_client, trail, db):
    firm = trail["firm"]
    entry(trail["alice"], "enterprise.updated", firm, uscc=firm.uscc, name=firm.name,
          email="x@y.cn", employees=130)
    db.session.flush()
    html = admin_client.get("/admin/audit/").get_data(as_text=True)
    assert firm.uscc not in html and firm.name not in html and "x@y.cn" not in html
    assert "130" in html


def test_record_keeps_the_request_address(client, db):
    user = user_for_role("enterprise", email="addr@liangjiang.cn")
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": "wrong-password"})
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.login_failed",
                                                     AuditEntry.subject_id == user.id))
    assert row.remote_addr == "127.0.0.1"


def _refused(db, statement):
    # a savepoint: the test's transaction stays usable after the refusal
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(statement)


def test_audit_rows_cannot_be_updated_or_deleted(db, trail):
    row_id = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
    _refused(db, update(AuditEntry).where(AuditEntry.id == row_id).values(action="forged"))
    _refused(db, text("UPDATE audit_entries SET details = '{}'"))
    # the trail's rows are from March: past the 183-day floor, the retention job may delete
    # them (tests/security/test_retention.py); a row of today may not be deleted by anyone
    today = entry(None, "enterprise.updated", trail["firm"])
    db.session.flush()
    _refused(db, delete(AuditEntry).where(AuditEntry.id == today.id))
    _refused(db, text("DELETE FROM audit_entries"))
    db.session.expire_all()
    assert db.session.get(AuditEntry, row_id).action == "enterprise.created"
    # and new rows still go in
    entry(None, "enterprise.updated", trail["firm"])
    db.session.flush()


def test_record_many_writes_after_the_rows_the_session_holds(db):
    """record_many writes by insert_rows, beside the ORM: the session's pending rows are
    flushed first, as an executemany's autoflush did, so the audit keeps their order."""
    from matchmaker.audit.service import record_many
    from matchmaker.extensions import db as _db

    pending = AuditEntry(action="test.pending", subject_type="needs", subject_id=1, details={})
    _db.session.add(pending)
    record_many(None, "test.bulk", "needs", [(2, {"via": "import"})])
    bulk = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.bulk"))
    assert pending.id is not None and pending.id < bulk.id
    assert bulk.details == {"via": "import"}
