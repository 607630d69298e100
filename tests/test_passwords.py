"""Forgotten password: the mail, the link, its single use and its 2-hour life; argon2 hashing."""
import email
import email.policy
import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from matchmaker.accounts import service
from matchmaker.accounts.passwords import hash_password, needs_rehash, verify_password
from matchmaker.audit.models import AuditEntry
from tests.factories import PASSWORD, user_for_role
from tests.helpers import assert_audited

NEW_PASSWORD = "reset-to-this-one"
SENT = "如果该邮箱已注册，重置密码的链接已发送到该邮箱。"


def mails(outbox):
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(outbox.glob("*.eml"))]


def reset_link(outbox) -> str:
    [message] = mails(outbox)
    [link] = re.findall(r"https?://\S+/password/reset/\S+", message.get_content())
    return link.removeprefix("http://localhost")


def login(client, email_, password):
    return client.post("/login", data={"email": email_, "password": password})


def reset(client, link, password=NEW_PASSWORD):
    return client.post(link, data={"new_password": password, "confirm": password},
                       follow_redirects=True)


@pytest.fixture
def user(db):
    user = user_for_role("bank_manager", email="li.manager@bank.cn")
    db.session.commit()
    return user


def test_request_sends_a_mail_with_the_link(client, user, outbox):
    response = client.post("/password/forgot", data={"email": "LI.Manager@bank.cn"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    [message] = mails(outbox)
    assert message["To"] == "li.manager@bank.cn"
    assert "重置密码" in message["Subject"]
    assert "/password/reset/" in message.get_content()
    assert_audited("user.password_reset_requested", user)


def test_the_link_resets_the_password_once(app, client, user, outbox):
    client.post("/password/forgot", data={"email": user.email})
    link = reset_link(outbox)
    assert client.get(link).status_code == 200

    response = reset(client, link)
    assert "密码已重置，请用新密码登录。" in response.get_data(as_text=True)
    assert_audited("user.password_reset", user)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 401
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302

    again = reset(app.test_client(), link, "yet-another-password")
    assert "重置链接已失效，请重新申请" in again.get_data(as_text=True)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_a_reset_ends_every_session(app, user, outbox):
    laptop = app.test_client()
    login(laptop, user.email, PASSWORD)
    laptop.post("/password/forgot", data={"email": user.email})  # logged-in users may ask too
    reset(app.test_client(), reset_link(outbox))
    assert laptop.get("/home").status_code == 302


def test_unknown_email_gets_the_same_message_and_no_mail(client, db, outbox):
    before = db.session.scalars(select(AuditEntry.id)).all()
    response = client.post("/password/forgot", data={"email": "nobody@bank.cn"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    assert mails(outbox) == []
    assert db.session.scalars(select(AuditEntry.id)).all() == before


def test_an_expired_link_is_refused(app, client, user, monkeypatch):
    issued = int(time.time()) - 2 * 3600 - 5  # the link lives 2 hours
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued)
    with app.test_request_context():
        token = service.reset_token(user)
    monkeypatch.undo()

    response = reset(client, f"/password/reset/{token}")
    assert "重置链接已过期，请重新申请" in response.get_data(as_text=True)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 302


def test_a_forged_link_is_refused(app, client, user):
    response = reset(client, "/password/reset/not-a-token")
    assert "重置链接无效" in response.get_data(as_text=True)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 302


def test_the_new_password_follows_the_rules(client, user, outbox):
    client.post("/password/forgot", data={"email": user.email})
    response = client.post(reset_link(outbox), data={"new_password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "密码长度需为10–128位" in response.get_data(as_text=True)


def test_argon2_hashes():
    hashed = hash_password("correct-horse-battery")
    assert hashed.startswith("$argon2id$")
    assert hashed != hash_password("correct-horse-battery")  # salted
    assert verify_password(hashed, "correct-horse-battery")
    assert not verify_password(hashed, "wrong")
    assert not verify_password("not-a-hash", "wrong")
    assert not needs_rehash(hashed)


def test_a_used_link_says_so_before_asking_for_a_password(client, user, outbox):
    client.post("/password/forgot", data={"email": user.email})
    link = reset_link(outbox)
    reset(client, link)
    response = client.get(link, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "重置链接已失效，请重新申请" in page
    assert 'name="new_password"' not in page
