"""Issue 19: registration said "该邮箱已注册" / "该统一社会信用代码已注册", telling anyone who has
an account. With REGISTRATION_CONFIRM_BY_MAIL (the production default) every registration gets
the same page; the mailbox typed hears the rest, and a new account works once its link is
opened."""
import email
import email.policy
import re

import pytest
from sqlalchemy import select

from matchmaker.accounts.models import User
from tests.factories import EnterpriseFactory, user_for_role, valid_uscc
from tests.test_registration import USCC
from tests.test_registration import form as registration_form


@pytest.fixture(autouse=True)
def by_mail(app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_CONFIRM_BY_MAIL", True)


def mails(outbox):
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(outbox.glob("*.eml"))]


def answer(response) -> tuple[int, str]:
    html = response.get_data(as_text=True)
    body = re.search(r"<main.*?</main>", html, re.DOTALL)
    return response.status_code, re.sub(r"\s+", " ", (body.group(0) if body else html))


def test_new_taken_email_and_taken_uscc_get_the_same_answer(client, db, outbox):
    existing = user_for_role("enterprise", email="taken@firm.cn")
    EnterpriseFactory(uscc=USCC)
    db.session.commit()
    other_uscc = valid_uscc(4242)
    new = client.post("/register", data=registration_form(email="new@firm.cn",
                                                          uscc=other_uscc))
    taken_email = client.post("/register", data=registration_form(email="taken@firm.cn",
                                                                  uscc=other_uscc))
    taken_uscc = client.post("/register", data=registration_form(email="third@firm.cn"))
    assert answer(new)[0] == 200
    # the same page, but for the address it names
    assert answer(taken_email)[1] == answer(new)[1].replace("new@firm.cn", "taken@firm.cn")
    assert answer(taken_uscc)[1] == answer(new)[1].replace("new@firm.cn", "third@firm.cn")
    for response in (new, taken_email, taken_uscc):
        assert "已注册" not in answer(response)[1]

    sent = {m["To"]: m for m in mails(outbox)}
    assert "请确认您的注册" in sent["new@firm.cn"]["Subject"]
    assert "有人用您的邮箱注册" in sent[existing.email]["Subject"]
    assert "邀请您加入" in sent["third@firm.cn"].get_content()


def test_the_account_works_once_the_mailed_link_is_opened(client, db, outbox):
    client.post("/register", data=registration_form(email="fresh@firm.cn"))
    user = db.session.scalar(select(User).where(User.email == "fresh@firm.cn"))
    assert user is not None and not user.active
    assert client.post("/login", data={"email": "fresh@firm.cn",
                                       "password": "long-enough-pass"}).status_code == 401
    [message] = [m for m in mails(outbox) if m["To"] == "fresh@firm.cn"]
    [link] = re.findall(r"https?://\S+/register/confirm/\S+", message.get_content())
    response = client.get(link.removeprefix("http://localhost"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    assert client.get("/home").status_code == 200
    again = client.get(link.removeprefix("http://localhost"))  # used: nothing more to do
    assert again.status_code == 302


def test_the_company_admins_are_told_of_an_attempt_on_their_uscc(client, db, outbox):
    company = EnterpriseFactory(uscc=USCC)
    admin = user_for_role("enterprise", email="boss@firm.cn", enterprise=company,
                          is_enterprise_admin=True)
    db.session.commit()
    client.post("/register", data=registration_form(email="someone@firm.cn"))
    assert any(m["To"] == admin.email and "以贵公司名义注册" in m["Subject"]
               for m in mails(outbox))


def test_a_malformed_uscc_is_still_explained_beside_the_field(client, db):
    response = client.post("/register", data=registration_form(uscc="123"))
    assert response.status_code == 400


def test_a_forged_confirmation_link_does_nothing(client):
    response = client.get("/register/confirm/not-a-token")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
