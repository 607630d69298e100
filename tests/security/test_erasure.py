"""Issue 19: the personal data of a deleted enterprise account is erased, except what the law
requires to keep (the row under its id, so the audit trail and the enterprise's credit records
still point at "a closed account")."""
import pytest
from sqlalchemy import select

from matchmaker.accounts import service
from matchmaker.accounts.models import Invitation
from matchmaker.audit.models import AuditEntry
from tests.factories import PASSWORD, NeedFactory, user_for_role
from tests.helpers import assert_audited


def test_erasing_an_account_removes_what_identifies_a_person(client, db):
    user = user_for_role("enterprise", email="leaving@firm.cn", phone="13800000000")
    need = NeedFactory(enterprise=user.enterprise)
    db.session.add(Invitation(email="Leaving@firm.cn", name="离职者", role="enterprise",
                              token_hash="x" * 64, invited_by_id=user.id,
                              enterprise_id=user.enterprise_id,
                              expires_at=user.created_at))
    db.session.flush()
    service.erase_account(user, user)
    db.session.commit()

    assert user.name == service.ERASED_NAME and "leaving" not in user.email
    assert user.phone is None and not user.active
    invitation = db.session.scalar(select(Invitation).where(Invitation.name == service.ERASED_NAME))
    assert invitation is not None and "leaving" not in invitation.email.lower()
    assert client.post("/login", data={"email": "leaving@firm.cn",
                                       "password": PASSWORD}).status_code == 401
    # kept: the row (the need it published still names its enterprise), the audit entry
    assert need.enterprise_id == user.enterprise_id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.erased",
                                                      AuditEntry.subject_id == user.id))


def test_an_admin_may_erase_an_account(db):
    user = user_for_role("enterprise", email="gone@firm.cn")
    service.erase_account(user_for_role("admin"), user)
    assert user.email.endswith("@erased.invalid")


# --- the page (/account/close) and the enterprise's contact ---------------------------------

def contact_user(db, **fields):
    """An enterprise user who is the enterprise's contact person, as registration makes them."""
    user = user_for_role("enterprise", name="王会计", phone="13912345678", **fields)
    user.enterprise.contact_name, user.enterprise.contact_phone = "王会计", "139 1234 5678"
    db.session.flush()
    return user


def test_the_page_says_what_goes_and_asks_for_the_password(app, db):
    user = contact_user(db)
    page = app.test_client(user=user).get("/account/close").get_data(as_text=True)
    assert "注销后无法恢复" in page and "将保留" in page
    assert 'name="password"' in page and 'name="understood"' in page


@pytest.mark.parametrize("data,message", [
    ({"password": "wrong-password-1", "understood": "y"}, "密码不正确"),
    ({"password": PASSWORD}, "请勾选确认"),
    ({"understood": "y"}, "请输入当前密码以确认身份"),
])
def test_closing_is_refused_without_the_password_and_the_tick(app, db, data, message):
    user = contact_user(db)
    response = app.test_client(user=user).post("/account/close", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert user.active and user.name == "王会计" and user.phone == "13912345678"
    assert user.enterprise.contact_phone == "139 1234 5678"
    assert not db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.erased"))


def test_closing_erases_the_account_and_the_contact_it_was(app, db):
    user = contact_user(db)
    client = app.test_client(user=user)
    response = client.post("/account/close", data={"password": PASSWORD, "understood": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    db.session.expire_all()
    assert user.name == service.ERASED_NAME and user.phone is None and not user.active
    enterprise = user.enterprise
    assert (enterprise.contact_name, enterprise.contact_phone) == (None, None)
    entry = assert_audited("enterprise.contact_erased", enterprise, account_id=user.id)
    assert entry.actor_id == user.id
    assert "王会计" not in str(entry.details) and "13912345678" not in str(entry.details)
    assert_audited("user.erased", user)
    # signed out: the next page asks for a login
    assert client.get("/home").status_code in (302, 303)


def test_a_colleague_who_is_the_contact_keeps_it(app, db):
    user = user_for_role("enterprise", name="李出纳", phone="13700000000")
    user.enterprise.contact_name, user.enterprise.contact_phone = "王会计", "13912345678"
    db.session.flush()
    response = app.test_client(user=user).post("/account/close",
                                               data={"password": PASSWORD, "understood": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert user.name == service.ERASED_NAME
    assert (user.enterprise.contact_name, user.enterprise.contact_phone) == ("王会计",
                                                                             "13912345678")
    assert not db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "enterprise.contact_erased"))


def test_an_admin_erasing_the_contact_erases_it_too(db):
    user = contact_user(db)
    admin = user_for_role("admin")
    service.erase_account(admin, user)
    assert (user.enterprise.contact_name, user.enterprise.contact_phone) == (None, None)
    assert assert_audited("enterprise.contact_erased", user.enterprise).actor_id == admin.id


@pytest.mark.parametrize("role", ["admin", "bank_admin", "bank_manager", "organizer"])
def test_other_roles_cannot_close_an_account_here(client_as, db, role):
    client = client_as(role)
    assert client.get("/account/close").status_code == 403
    assert client.post("/account/close", data={"password": PASSWORD,
                                                "understood": "y"}).status_code == 403
    assert not db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.erased"))
