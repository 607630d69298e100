"""Notifications: the bell and its page, marking read, e-mail after commit (never after a
rollback), the daily-digest preference and `matchmaker notifications digest`."""
from datetime import timedelta
from email import message_from_bytes, policy

from matchmaker.extensions import db as _db
from matchmaker.notifications import service
from matchmaker.notifications.models import Notification, NotificationPreference
from matchmaker.types import utcnow
from tests.factories import user_for_role
from tests.helpers import assert_audited


def _mails(outbox):
    return [message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(outbox.glob("*.eml"))]


def test_bell_shows_the_unread_count(db, app):
    user = user_for_role("bank_manager")
    client = app.test_client(user=user)
    assert 'data-testid="unread-count"' not in client.get("/notifications/").text
    service.notify(user, "lead.opened", "新线索 #1：流动资金", "/leads/")
    service.notify(user, "lead.opened", "新线索 #2：流动资金", "/leads/")
    _db.session.flush()
    page = client.get("/notifications/").text
    assert '<span class="badge rounded-pill text-bg-warning" data-testid="unread-count">2</span>' in page
    assert "新线索 #2" in page


def test_open_marks_read_and_follows_the_link(db, app):
    user = user_for_role("enterprise")
    note = service.notify(user, "lead.claimed", "已接单", "/needs")
    _db.session.flush()
    response = app.test_client(user=user).post(f"/notifications/{note.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith("/needs")
    assert note.read_at is not None


def test_open_never_redirects_off_site(db, app):
    user = user_for_role("enterprise")
    note = service.notify(user, "x", "消息", "//evil.example/phish")
    _db.session.flush()
    response = app.test_client(user=user).post(f"/notifications/{note.id}/open")
    assert response.headers["Location"].endswith("/notifications/")


def test_read_all(db, app):
    user = user_for_role("organizer")
    for n in range(3):
        service.notify(user, "lead.escalated", f"消息{n}")
    _db.session.flush()
    response = app.test_client(user=user).post("/notifications/read-all", follow_redirects=True)
    assert "已将3条消息标为已读" in response.text
    assert service.unread_count(user) == 0


def test_inactive_users_are_skipped(db):
    user = user_for_role("bank_manager", active=False)
    assert service.notify(user, "lead.opened", "x") is None


def test_mail_goes_out_after_commit_only(db, outbox):
    user = user_for_role("enterprise", email="cfo@example.test")
    service.notify(user, "lead.approved", "某银行已批准您的融资需求", "/needs", email=True)
    _db.session.flush()
    assert _mails(outbox) == []  # not before the commit
    _db.session.commit()
    mails = _mails(outbox)
    assert len(mails) == 1 and mails[0]["To"] == "cfo@example.test"
    assert "已批准" in mails[0]["Subject"] and "/needs" in mails[0].get_content()


def test_no_mail_after_a_rollback(db, outbox):
    user = user_for_role("enterprise")
    _db.session.commit()
    service.notify(user, "lead.approved", "不会发出", email=True)
    _db.session.rollback()
    _db.session.commit()
    assert _mails(outbox) == []


def test_digest_preference_and_command(db, app, outbox):
    user = user_for_role("bank_manager", email="mgr@example.test")
    quiet = user_for_role("bank_manager")
    client = app.test_client(user=user)
    response = client.post("/notifications/preferences", data={"daily_digest": "y"},
                           follow_redirects=True)
    assert "已开启每日邮件摘要" in response.text
    pref = _db.session.get(NotificationPreference, user.id)
    assert pref.daily_digest is True
    assert_audited("notification_preference.updated", daily_digest=True)
    app.test_client(user=quiet).post("/notifications/preferences", data={})
    service.notify(user, "lead.opened", "新线索 #7：技术改造", "/leads/7")
    service.notify(quiet, "lead.opened", "新线索 #8")
    _db.session.flush()
    for old in outbox.glob("*.eml"):
        old.unlink()
    result = app.test_cli_runner().invoke(args=["notifications", "digest"])
    assert result.exit_code == 0 and "1 digest(s) sent" in result.output
    mails = _mails(outbox)
    assert [m["To"] for m in mails] == ["mgr@example.test"]
    assert "新线索 #7：技术改造" in mails[0].get_content()
    # nothing new since: no second mail
    result = app.test_cli_runner().invoke(args=["notifications", "digest"])
    assert "0 digest(s) sent" in result.output


def test_digest_covers_what_arrived_since_the_last_one(db):
    user = user_for_role("bank_manager")
    service.set_daily_digest(user, True)
    old = service.notify(user, "lead.opened", "昨天以前")
    old.created_at = utcnow() - timedelta(days=3)
    _db.session.flush()
    assert service.send_digests() == 0  # the first digest looks one day back
    service.notify(user, "lead.opened", "今天")
    _db.session.flush()
    assert service.send_digests(utcnow() + timedelta(seconds=1)) == 1
    assert _db.session.get(NotificationPreference, user.id).last_digest_at is not None


def test_page_lists_newest_unread_first(db, app):
    user = user_for_role("enterprise")
    first = service.notify(user, "a", "第一条")
    second = service.notify(user, "b", "第二条")
    first.created_at = utcnow() - timedelta(hours=1)
    second.read_at = utcnow()
    _db.session.flush()
    ids = list(_db.session.scalars(service.user_notifications(user).with_only_columns(
        Notification.id)))
    assert ids == [first.id, second.id]
