"""Everyone can reach everyone (issue 17, finding 2): registration and the needs form ask for
a contact person and a Chinese mobile number (the needs form prefilled from the profile);
after a claim the bank sees them and the enterprise sees its manager, both with tel: links."""
from sqlalchemy import select

from matchmaker import mobile
from matchmaker.accounts.models import User
from matchmaker.enterprises.models import Enterprise
from matchmaker.leads import claims
from tests.factories import EnterpriseFactory, user_for_role
from tests.test_leads_helpers import claimed_lead, manager, pushed_lead
from tests.test_needs_form import feedback, need_data
from tests.test_registration import USCC, field_errors
from tests.test_registration import form as registration


def test_mobile_numbers():
    assert mobile.normalize("+86 138-0000-1234") == "13800001234"
    assert mobile.problem("138 0000 1234") is None
    assert mobile.problem("") == "请填写手机号码"
    assert mobile.problem("023-6789012") and mobile.problem("12800001234")
    assert mobile.problem("1380000123")


def test_registration_asks_for_a_mobile(client, db):
    response = client.post("/register", data=registration(mobile="023-1234567"))
    assert response.status_code == 400
    assert field_errors(response.text, "mobile") == ["请填写11位手机号码（如 138 0000 0000）"]
    assert db.session.scalar(select(Enterprise).where(Enterprise.uscc == USCC)) is None
    client.post("/register", data=registration(mobile="+86 139 2222 3333"))
    firm = db.session.scalar(select(Enterprise).where(Enterprise.uscc == USCC))
    assert (firm.contact_name, firm.contact_phone) == ("王会计", "13922223333")
    assert db.session.scalar(select(User.phone).where(User.enterprise_id == firm.id)) == \
        "13922223333"


def test_needs_form_prefills_the_contact_and_saves_it_to_the_profile(db, client_as):
    firm = EnterpriseFactory(has_bank_loan=True, contact_name="刘出纳",
                             contact_phone="13711112222")
    client = client_as("enterprise", enterprise=firm)
    page = client.get("/needs/new").text
    assert 'value="刘出纳"' in page and 'value="13711112222"' in page
    response = client.post("/needs/new", data=need_data(contact_phone="12345"))
    assert response.status_code == 400
    assert feedback(response.text, "contact_phone") == "请填写11位手机号码（如 138 0000 0000）"
    client.post("/needs/new", data=need_data(contact_name="王会计",
                                             contact_phone="138-0000-1234"))
    assert (firm.contact_name, firm.contact_phone) == ("王会计", "13800001234")


def test_a_profile_without_contact_prefills_the_user(db, app):
    firm = EnterpriseFactory(has_bank_loan=True, contact_name=None, contact_phone=None)
    user = user_for_role("enterprise", enterprise=firm, name="赵财务", phone="13600000000")
    db.session.commit()
    client = app.test_client(user=user)
    html = client.get("/needs/new").text
    assert 'value="赵财务"' in html and 'value="13600000000"' in html


def test_the_bank_sees_the_contact_after_the_claim(db, app, client_as):
    lead = pushed_lead()
    firm = lead.need.enterprise
    firm.contact_name, firm.contact_phone = "王会计", "13800001234"
    mgr = manager(lead.institution, name="陈经理", phone="13911112222")
    db.session.commit()
    bank = app.test_client(user=mgr)
    before = bank.get(f"/leads/{lead.id}").text
    assert "接单后可见" in before and "13800001234" not in before
    claims.claim_lead(mgr, lead)
    db.session.commit()
    after = bank.get(f"/leads/{lead.id}").text
    assert 'href="tel:13800001234"' in after and "王会计" in after
    enterprise = client_as("enterprise", enterprise=firm)
    progress = enterprise.get(f"/leads/{lead.id}/progress").text
    assert 'data-testid="manager-contact"' in progress
    assert "陈经理" in progress and lead.institution.name in progress
    assert 'href="tel:13911112222"' in progress


def test_another_institution_never_sees_the_contact(db, client_as):
    lead, _mgr = claimed_lead()
    lead.need.enterprise.contact_phone = "13800001234"
    other = client_as("bank_manager")
    assert other.get(f"/leads/{lead.id}").status_code == 404


def test_an_account_manager_gives_a_mobile_when_joining(db, app, outbox):
    from tests.test_invitations import PASSWORD, invitation_link

    bank_admin = user_for_role("bank_admin")
    db.session.commit()
    admin = app.test_client(user=bank_admin)
    admin.post("/invitations/new", data={"email": "m@bank.cn", "role": "bank_manager",
                                         "name": "新经理"})
    link = invitation_link(outbox, "m@bank.cn")
    guest = app.test_client()
    refused = guest.post(link, data={"name": "新经理", "password": PASSWORD,
                                     "confirm": PASSWORD})
    assert refused.status_code == 400 and "请填写手机号码" in refused.text
    guest.post(link, data={"name": "新经理", "password": PASSWORD, "confirm": PASSWORD,
                           "phone": "13988887777"})
    assert db.session.scalar(select(User.phone).where(User.email == "m@bank.cn")) == \
        "13988887777"
