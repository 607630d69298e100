"""Enterprise self-registration through /register: the USCC rules, refusals that write nothing."""
import re

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc as uscc_lib

from matchmaker.accounts.models import User
from matchmaker.audit.models import AuditEntry
from matchmaker.enterprises.models import Enterprise
from tests.factories import EnterpriseFactory, UserFactory, valid_uscc
from tests.helpers import assert_audited

USCC = valid_uscc(424242)


def form(**changes) -> dict:
    data = {"company_name": "重庆两江精工机械有限公司", "uscc": USCC, "district": "永川区",
            "industry": "C34", "employees": "120", "revenue_wan": "8600.5",
            "founded": "2016-05-18", "name": "王会计", "email": "finance@liangjiang.cn",
            "password": "long-enough-pass", "confirm": "long-enough-pass",
            "mobile": "138 0000 1234"}
    data.update(changes)
    return data


def field_errors(html: str, name: str) -> list[str]:
    """The Chinese messages the _form.html macro prints beside one field."""
    return re.findall(rf'<div class="invalid-feedback" data-field="{name}">(.*?)</div>', html)


def counts(db) -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Enterprise, User, AuditEntry))


def test_register_creates_enterprise_and_admin_user_logged_in(client, db):
    response = client.post("/register", data=form(uscc=USCC.lower()))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")

    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == USCC))
    assert enterprise.name == "重庆两江精工机械有限公司"
    assert (enterprise.district, enterprise.industry, enterprise.employees) == (
        "永川区", "C34", 120)
    user = db.session.scalar(select(User).where(User.email == "finance@liangjiang.cn"))
    assert (user.role, user.enterprise_id, user.is_enterprise_admin) == (
        "enterprise", enterprise.id, True)
    assert user.password_hash.startswith("$argon2id$")

    assert_audited("enterprise.created", enterprise, via="registration")
    entry = assert_audited("user.registered", user)
    assert entry.actor_id == user.id

    home = client.get("/home")
    assert home.status_code == 200
    assert "重庆两江精工机械有限公司" in home.get_data(as_text=True)


def test_wrong_check_character_is_refused_beside_the_field_with_the_expected_one(client, db):
    expected = uscc_lib.calc_check_digit(USCC[:17])
    wrong = USCC[:17] + ("1" if expected != "1" else "2")
    before = counts(db)

    response = client.post("/register", data=form(uscc=wrong))

    assert response.status_code == 400
    [message] = field_errors(response.get_data(as_text=True), "uscc")
    assert "校验位错误" in message and expected in message
    assert counts(db) == before


@pytest.mark.parametrize("code, length", [(USCC[:17], 17), (USCC + "1", 19)])
def test_wrong_length_is_refused(client, db, code, length):
    before = counts(db)
    response = client.post("/register", data=form(uscc=code))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "uscc") == [
        f"统一社会信用代码应为18位，当前为{length}位"]
    assert counts(db) == before


def test_invalid_characters_are_refused(client, db):
    code = "91500000MA0000000" + "I"  # GB 32100 does not use I, O, S, V, Z
    response = client.post("/register", data=form(uscc=code))
    assert response.status_code == 400
    [message] = field_errors(response.get_data(as_text=True), "uscc")
    assert "统一社会信用代码" in message


def test_a_known_uscc_gives_an_applicant_not_the_enterprise(client, db):
    """Issue 17 #4: typing a known enterprise's code makes a claim request, nothing more
    (tests/test_enterprise_claims.py follows it to a decision)."""
    known = EnterpriseFactory(uscc=USCC)
    db.session.commit()  # a view's rollback must not undo the arrangement
    enterprises_before = counts(db)[0]
    response = client.post("/register", data=form())
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    user = db.session.scalar(select(User).where(User.email == "finance@liangjiang.cn"))
    assert (user.role, user.enterprise_id, user.is_enterprise_admin) == ("applicant", None,
                                                                         False)
    assert counts(db)[0] == enterprises_before
    assert known.name not in client.get("/enterprise").get_data(as_text=True)
    assert "待审核" in client.get("/home").get_data(as_text=True)


def test_duplicate_email_is_refused_and_the_enterprise_is_not_kept(client, db):
    UserFactory(email="finance@liangjiang.cn", role="enterprise",
                enterprise=EnterpriseFactory())
    db.session.commit()
    before = counts(db)
    response = client.post("/register", data=form(email="Finance@LiangJiang.cn"))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "email") == ["该邮箱已注册"]
    assert counts(db) == before
    assert db.session.scalar(select(Enterprise).where(Enterprise.uscc == USCC)) is None


def test_password_mismatch_is_refused(client, db):
    before = counts(db)
    response = client.post("/register", data=form(confirm="something-else-1"))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "confirm") == ["两次输入的密码不一致"]
    assert counts(db) == before


def test_short_password_is_refused(client, db):
    response = client.post("/register", data=form(password="short", confirm="short"))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "password") == ["密码长度需为10–128位"]


def test_missing_fields_are_refused_in_chinese(client, db):
    before = counts(db)
    response = client.post("/register", data=form(company_name="", district="", industry=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_errors(html, "company_name") == ["请填写企业名称"]
    assert field_errors(html, "district") == ["请选择所在区县"]
    assert field_errors(html, "industry") == ["请选择所属行业"]
    assert counts(db) == before


def test_register_page_renders_for_anonymous_and_redirects_a_logged_in_user(client, client_as):
    page = client.get("/register")
    assert page.status_code == 200
    assert "统一社会信用代码" in page.get_data(as_text=True)
    assert client_as("enterprise").get("/register").status_code == 302


@pytest.mark.parametrize("typed", [
    f"{USCC[:8]}-{USCC[8:]}",                                    # as printed on some licences
    " ".join(USCC[i:i + 6] for i in range(0, 18, 6)).lower(),   # grouped, lower case
    USCC.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),  # a Chinese IME's full width
], ids=["hyphen", "spaces", "full-width"])
def test_uscc_is_stored_in_its_18_character_form(client, db, typed):
    response = client.post("/register", data=form(uscc=typed))
    assert response.status_code == 302
    stored = select(Enterprise.uscc).where(Enterprise.name == form()["company_name"])
    assert db.session.scalar(stored) == USCC
