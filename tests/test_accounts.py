"""Login, logout, change password, and each role's home page, through the real forms."""
import json

import pytest
from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.accounts.passwords import verify_password
from matchmaker.audit.models import AuditEntry
from tests.factories import PASSWORD, InstitutionFactory, user_for_role
from tests.helpers import assert_audited

NEW_PASSWORD = "a-brand-new-passphrase"


def login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def is_logged_in(client) -> bool:
    return client.get("/home").status_code == 200


@pytest.fixture
def user(db):
    user = user_for_role("enterprise", email="wang@liangjiang.cn")
    db.session.commit()  # views roll back on refusal; the arrangement must survive that
    return user


def test_login_page_is_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "忘记密码" in response.get_data(as_text=True)


def test_login_with_the_right_password_lands_on_home_and_is_audited(client, user):
    response = login(client, "Wang@LiangJiang.cn ")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")
    assert is_logged_in(client)
    assert user.last_login_at is not None
    assert assert_audited("user.logged_in", user).actor_id == user.id


def test_wrong_password_is_401_with_message_and_audited_without_the_email(client, user):
    response = login(client, user.email, "not-the-password")
    assert response.status_code == 401
    assert "邮箱或密码不正确" in response.get_data(as_text=True)
    assert not is_logged_in(client)
    entry = assert_audited("user.login_failed", user)
    assert entry.actor_id is None
    assert user.email not in json.dumps(entry.details, ensure_ascii=False)


def test_unknown_email_gets_the_same_answer(client, user):
    response = login(client, "nobody@liangjiang.cn")
    assert response.status_code == 401
    assert "邮箱或密码不正确" in response.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(client, user, db):
    user.active = False
    db.session.commit()
    assert login(client, user.email).status_code == 401


def test_demo_style_addresses_can_log_in(client, db):
    # the seeds' users live under demo.matchmaker.local, a domain email-validator calls reserved
    user_for_role("admin", email="admin@demo.matchmaker.local")
    db.session.commit()
    assert login(client, "admin@demo.matchmaker.local").status_code == 302


def test_empty_login_form_is_refused_in_chinese(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert "请输入邮箱" in response.get_data(as_text=True)


@pytest.mark.parametrize("target, expected", [
    ("/admin/audit/", "/admin/audit/"),
    ("//evil.example.com/", "/home"),
    ("/\\evil.example.com", "/home"),
    ("https://evil.example.com/", "/home"),
])
def test_login_follows_only_local_next(client, user, target, expected):
    response = login(client, user.email, next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location in (expected, f"http://localhost{expected}")


def test_logout_ends_every_session_of_the_user(app, user):
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, user.email).status_code == 302
    assert login(phone, user.email).status_code == 302
    assert is_logged_in(laptop) and is_logged_in(phone)

    response = laptop.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")

    elsewhere = phone.get("/home")
    assert elsewhere.status_code == 302
    assert "/login" in elsewhere.headers["Location"]
    assert not is_logged_in(laptop)
    assert_audited("user.logged_out", user)


def test_logout_needs_post(client, user):
    login(client, user.email)
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)


def test_change_password_keeps_this_session_and_ends_the_others(app, user, db):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email)
    login(phone, user.email)

    response = laptop.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert verify_password(db.session.get(User, user.id).password_hash, NEW_PASSWORD)
    assert_audited("user.password_changed", user)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 401
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_change_password_with_wrong_current_password_is_refused(app, user, db):
    client = app.test_client()
    login(client, user.email)
    response = client.post("/account/password", data={
        "current_password": "wrong-password", "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "当前密码不正确" in response.get_data(as_text=True)
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)
    assert is_logged_in(client)


def test_change_password_mismatch_is_refused(app, user):
    client = app.test_client()
    login(client, user.email)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": "other-one-123"})
    assert response.status_code == 400
    assert "两次输入的密码不一致" in response.get_data(as_text=True)


def test_change_password_needs_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


HOME_HEADINGS = {
    "enterprise": "企业工作台",
    "bank_manager": "机构工作台",
    "bank_admin": "机构工作台",
    "organizer": "组织方工作台",
    "admin": "平台管理",
}


@pytest.mark.parametrize("role", sorted(HOME_HEADINGS))
def test_each_role_has_its_home(client_as, role):
    fields = {"institution": InstitutionFactory(name="重庆农商行测试支行")} \
        if role in ("bank_manager", "bank_admin") else {}
    response = client_as(role, **fields).get("/home")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert HOME_HEADINGS[role] in html
    if fields:
        assert "重庆农商行测试支行" in html


def test_home_needs_login(client):
    response = client.get("/home")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_password_hashes_are_argon2(db):
    user = user_for_role("organizer")
    assert db.session.scalar(select(User.password_hash).where(User.id == user.id)) \
        .startswith("$argon2id$")


def test_failed_login_for_unknown_email_writes_no_audit_row(client, db):
    before = db.session.scalars(select(AuditEntry.id)).all()
    login(client, "ghost@liangjiang.cn")
    assert db.session.scalars(select(AuditEntry.id)).all() == before
