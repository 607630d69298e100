"""Issue 19: the personal data of a deleted enterprise account is erased, except what the law
requires to keep (the row under its id, so the audit trail and the enterprise's credit records
still point at "a closed account")."""
from sqlalchemy import select

from matchmaker.accounts import service
from matchmaker.accounts.models import Invitation
from matchmaker.audit.models import AuditEntry
from tests.factories import PASSWORD, NeedFactory, user_for_role


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
