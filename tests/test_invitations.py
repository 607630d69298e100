"""Invitation-only accounts: who may invite whom, the mail, single use, 72 hours, revocation."""
import email
import email.policy
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from matchmaker.accounts.models import Invitation, User
from matchmaker.types import utcnow
from tests.factories import InstitutionFactory, user_for_role
from tests.helpers import assert_audited

PASSWORD = "invited-pass-2026"


def mails(outbox) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(outbox.glob("*.eml"))]


def invitation_link(outbox, to: str) -> str:
    [message] = [m for m in mails(outbox) if m["To"] == to]
    [link] = re.findall(r"https?://\S+/invite/\S+", message.get_content())
    return link.removeprefix("http://localhost")


def invite(client, **data):
    return client.post("/invitations/new", data={"name": "", "institution": "", "district": "",
                                                 "organization": "", **data})


def accept(client, link, name="新同事"):
    return client.post(link, data={"name": name, "password": PASSWORD, "confirm": PASSWORD,
                                   "phone": "13900001111"})


@pytest.fixture
def admin(db):
    user = user_for_role("admin")
    db.session.commit()
    return user


def test_admin_invites_an_institution_admin(app, client_as, db, admin, outbox):
    bank = InstitutionFactory(name="重庆三峡银行测试部")
    db.session.commit()
    response = invite(app.test_client(user=admin), email="new.bankadmin@bank.cn",
                      role="bank_admin", institution=str(bank.id))
    assert response.status_code == 302

    invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == "new.bankadmin@bank.cn"))
    assert (invitation.role, invitation.institution_id, invitation.invited_by_id) == (
        "bank_admin", bank.id, admin.id)
    assert timedelta(hours=71, minutes=59) < invitation.expires_at - utcnow() <= timedelta(hours=72)
    assert len(invitation.token_hash) == 64  # only the hash is stored
    assert_audited("invitation.created", invitation, role="bank_admin", institution_id=bank.id)

    link = invitation_link(outbox, "new.bankadmin@bank.cn")
    assert invitation.token_hash not in link
    newcomer = app.test_client()
    page = newcomer.get(link)
    assert page.status_code == 200
    assert "机构管理员" in page.get_data(as_text=True)
    assert "重庆三峡银行测试部" in page.get_data(as_text=True)

    response = accept(newcomer, link, name="新机构管理员")
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.bankadmin@bank.cn"))
    assert (user.role, user.institution_id, user.name) == ("bank_admin", bank.id, "新机构管理员")
    home = newcomer.get("/home").get_data(as_text=True)
    assert "重庆三峡银行测试部" in home and "新机构管理员" in home
    assert invitation.used_by_id == user.id and invitation.used_at is not None
    assert assert_audited("invitation.accepted", invitation).actor_id == user.id
    assert assert_audited("user.created", user, role="bank_admin").actor_id == admin.id


def test_admin_invites_a_district_organizer(app, db, admin, outbox):
    response = invite(app.test_client(user=admin), email="new.organizer@jxw.cq.cn",
                      role="organizer", district="永川区", organization="永川区经济和信息化委员会")
    assert response.status_code == 302
    newcomer = app.test_client()
    assert accept(newcomer, invitation_link(outbox, "new.organizer@jxw.cq.cn")).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.organizer@jxw.cq.cn"))
    assert (user.role, user.district, user.organization, user.institution_id) == (
        "organizer", "永川区", "永川区经济和信息化委员会", None)
    assert "组织方工作台 · 永川区" in newcomer.get("/home").get_data(as_text=True)


def test_an_institution_chosen_for_an_organizer_is_ignored(app, db, admin, outbox):
    # the form shows the institution select for every role; only bank roles keep it, else the
    # users CHECK (institution only for bank roles) would fail when the link is used
    bank = InstitutionFactory()
    db.session.commit()
    invite(app.test_client(user=admin), email="new.city@jxw.cq.cn", role="organizer",
           institution=str(bank.id))
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.email == "new.city@jxw.cq.cn"))
    assert invitation.institution_id is None and invitation.district is None
    link = invitation_link(outbox, "new.city@jxw.cq.cn")
    assert accept(app.test_client(), link).status_code == 302


def test_admin_must_choose_the_institution_of_a_bank_admin(app, db, admin, outbox):
    response = invite(app.test_client(user=admin), email="new.x@bank.cn", role="bank_admin")
    assert response.status_code == 400
    assert "请选择所属机构" in response.get_data(as_text=True)
    assert db.session.scalar(select(Invitation).where(Invitation.email == "new.x@bank.cn")) is None
    assert mails(outbox) == []


def test_bank_admin_invites_managers_of_its_own_institution_only(app, db, outbox):
    own, other = InstitutionFactory(name="本行"), InstitutionFactory(name="他行")
    bank_admin = user_for_role("bank_admin", institution=own)
    db.session.commit()
    response = invite(app.test_client(user=bank_admin), email="new.manager@bank.cn",
                      role="bank_manager", institution=str(other.id))  # a forged choice
    assert response.status_code == 302
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == "new.manager@bank.cn"))
    assert invitation.institution_id == own.id

    newcomer = app.test_client()
    assert accept(newcomer, invitation_link(outbox, "new.manager@bank.cn")).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.manager@bank.cn"))
    assert (user.role, user.institution_id) == ("bank_manager", own.id)
    assert "本行" in newcomer.get("/home").get_data(as_text=True)


def test_enterprise_admin_invites_a_colleague(app, db, outbox):
    boss = user_for_role("enterprise")
    db.session.commit()
    response = invite(app.test_client(user=boss), email="new.colleague@liangjiang.cn",
                      role="enterprise")
    assert response.status_code == 302
    newcomer = app.test_client()
    assert accept(newcomer, invitation_link(outbox, "new.colleague@liangjiang.cn")).status_code \
        == 302
    user = db.session.scalar(select(User).where(User.email == "new.colleague@liangjiang.cn"))
    assert (user.role, user.enterprise_id, user.is_enterprise_admin) == (
        "enterprise", boss.enterprise_id, False)
    assert boss.enterprise.name in newcomer.get("/home").get_data(as_text=True)


@pytest.mark.parametrize("inviter, role", [
    ("admin", "enterprise"), ("admin", "bank_manager"),
    ("bank_admin", "bank_admin"), ("bank_admin", "organizer"), ("bank_admin", "admin"),
    ("enterprise", "bank_admin"), ("enterprise", "admin"),
])
def test_roles_an_inviter_may_not_invite_are_refused(app, db, outbox, inviter, role):
    user = user_for_role(inviter)
    db.session.commit()
    response = invite(app.test_client(user=user), email="new.someone@bank.cn", role=role,
                      institution=str(InstitutionFactory().id))
    assert response.status_code == 400
    assert db.session.scalar(select(Invitation)) is None
    assert mails(outbox) == []


@pytest.mark.parametrize("role", ["bank_manager", "organizer"])
def test_roles_without_invitations_get_403(client_as, role):
    client = client_as(role)
    assert client.get("/invitations").status_code == 403
    assert client.get("/invitations/new").status_code == 403


def test_an_enterprise_user_who_is_not_its_admin_gets_403(client_as):
    client = client_as("enterprise", is_enterprise_admin=False)
    assert client.get("/invitations/new").status_code == 403
    assert client.get("/invitations").status_code == 403


@pytest.mark.parametrize("path", ["/invitations", "/invitations/new"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["admin", "bank_admin", "enterprise"])
def test_inviters_see_their_pages(client_as, role):
    client = client_as(role)
    assert client.get("/invitations").status_code == 200
    assert client.get("/invitations/new").status_code == 200


def test_an_already_registered_email_cannot_be_invited(app, db, admin):
    user_for_role("organizer", email="taken@jxw.cq.cn")
    db.session.commit()
    response = invite(app.test_client(user=admin), email="taken@jxw.cq.cn", role="organizer")
    assert response.status_code == 400
    assert "该邮箱已注册" in response.get_data(as_text=True)


def _invited(app, db, admin, outbox, email_="new.once@jxw.cq.cn") -> tuple[Invitation, str]:
    invite(app.test_client(user=admin), email=email_, role="organizer")
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == email_))
    return invitation, invitation_link(outbox, email_)


def test_a_link_works_once(app, db, admin, outbox):
    _, link = _invited(app, db, admin, outbox)
    assert accept(app.test_client(), link).status_code == 302

    again = app.test_client()
    page = again.get(link)
    assert page.status_code == 404
    assert "该邀请链接已使用过" in page.get_data(as_text=True)
    response = accept(again, link, name="第二次")
    assert response.status_code == 404
    users = db.session.scalars(select(User).where(User.email == "new.once@jxw.cq.cn")).all()
    assert len(users) == 1


def test_a_link_expires_after_72_hours(app, db, admin, outbox):
    invitation, link = _invited(app, db, admin, outbox)
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    newcomer = app.test_client()
    page = newcomer.get(link)
    assert page.status_code == 404
    assert "该邀请链接已过期（有效期72小时）" in page.get_data(as_text=True)
    assert accept(newcomer, link).status_code == 404
    assert db.session.scalar(select(User).where(User.email == invitation.email)) is None


def test_a_revoked_link_is_refused(app, db, admin, outbox):
    invitation, link = _invited(app, db, admin, outbox)
    response = app.test_client(user=admin).post(f"/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert invitation.revoked_at is not None
    assert assert_audited("invitation.revoked", invitation).actor_id == admin.id

    page = app.test_client().get(link)
    assert page.status_code == 404
    assert "邀请链接无效" in page.get_data(as_text=True)


def test_a_used_invitation_cannot_be_revoked(app, db, admin, outbox):
    invitation, link = _invited(app, db, admin, outbox)
    accept(app.test_client(), link)
    admin_client = app.test_client(user=admin)
    response = admin_client.post(f"/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "该邀请已被使用，无法撤销" in response.get_data(as_text=True)
    assert invitation.revoked_at is None


def test_an_unknown_token_is_404(client):
    page = client.get("/invite/not-a-real-token")
    assert page.status_code == 404
    assert "邀请链接无效" in page.get_data(as_text=True)


def test_another_institutions_invitation_is_404(app, db, outbox):
    mine, theirs = InstitutionFactory(), InstitutionFactory()
    their_admin = user_for_role("bank_admin", institution=theirs)
    my_admin = user_for_role("bank_admin", institution=mine)
    db.session.commit()
    invite(app.test_client(user=their_admin), email="new.theirs@bank.cn", role="bank_manager")
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.email == "new.theirs@bank.cn"))

    mine_client = app.test_client(user=my_admin)
    assert mine_client.post(f"/invitations/{invitation.id}/revoke").status_code == 404
    assert invitation.revoked_at is None
    assert "new.theirs@bank.cn" not in mine_client.get("/invitations").get_data(as_text=True)
    assert "new.theirs@bank.cn" in app.test_client(user=their_admin).get("/invitations") \
        .get_data(as_text=True)


def test_another_enterprises_invitation_is_404(app, db, outbox):
    theirs, mine = user_for_role("enterprise"), user_for_role("enterprise")
    db.session.commit()
    invite(app.test_client(user=theirs), email="new.peer@liangjiang.cn", role="enterprise")
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == "new.peer@liangjiang.cn"))
    assert app.test_client(user=mine).post(f"/invitations/{invitation.id}/revoke").status_code \
        == 404


def test_accepting_needs_a_name_and_matching_passwords(app, db, admin, outbox):
    _, link = _invited(app, db, admin, outbox)
    response = app.test_client().post(link, data={"name": "", "password": PASSWORD,
                                                  "confirm": "different-pass-1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "请输入姓名" in html and "两次输入的密码不一致" in html
    assert db.session.scalar(select(User).where(User.email == "new.once@jxw.cq.cn")) is None


@pytest.mark.parametrize("forged", ["abc", "999999"])
def test_a_forged_institution_choice_is_refused_not_a_500(app, db, admin, forged):
    response = invite(app.test_client(user=admin), email="new.y@bank.cn", role="bank_admin",
                      institution=forged)
    assert response.status_code == 400
    assert "请选择所属机构" in response.get_data(as_text=True)


def test_a_post_without_the_institution_field_is_refused_not_a_500(app, db, admin):
    response = app.test_client(user=admin).post("/invitations/new", data={
        "email": "new.z@bank.cn", "role": "bank_admin"})
    assert response.status_code == 400
    assert "请选择所属机构" in response.get_data(as_text=True)
