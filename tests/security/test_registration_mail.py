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
    # the known company's registrant learns, in their own mailbox only, that the account
    # will be a claim request (issue 17 #4); the new company's registrant reads nothing of it
    assert "请确认您的注册" in sent["third@firm.cn"]["Subject"]
    assert "已在平台登记" in sent["third@firm.cn"].get_content()
    assert "已在平台登记" not in sent["new@firm.cn"].get_content()


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


def test_the_company_admins_hear_of_a_claim_once_its_mailbox_is_confirmed(client, db, outbox):
    """An unconfirmed registration is nobody yet: the admins and the district's organizers
    are told of the claim request when the registrant opens the mailed link."""
    company = EnterpriseFactory(uscc=USCC, district="永川区")
    admin = user_for_role("enterprise", email="boss@firm.cn", enterprise=company,
                          is_enterprise_admin=True)
    district = user_for_role("organizer", email="yc@jxw.cn", district="永川区")
    elsewhere = user_for_role("organizer", email="jj@jxw.cn", district="江津区")
    db.session.commit()
    client.post("/register", data=registration_form(email="someone@firm.cn"))
    assert not any(m["To"] in (admin.email, district.email) for m in mails(outbox))
    [message] = [m for m in mails(outbox) if m["To"] == "someone@firm.cn"]
    [link] = re.findall(r"https?://\S+/register/confirm/\S+", message.get_content())
    client.get(link.removeprefix("http://localhost"))
    told = {m["To"] for m in mails(outbox) if "请审核" in m["Subject"]}
    assert told == {admin.email, district.email}
    assert elsewhere.email not in told
    applicant = db.session.scalar(select(User).where(User.email == "someone@firm.cn"))
    assert (applicant.role, applicant.enterprise_id, applicant.active) == ("applicant", None,
                                                                           True)


def test_a_malformed_uscc_is_still_explained_beside_the_field(client, db):
    response = client.post("/register", data=registration_form(uscc="123"))
    assert response.status_code == 400


def test_a_forged_confirmation_link_does_nothing(client):
    response = client.get("/register/confirm/not-a-token")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
