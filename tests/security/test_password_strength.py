"""Issue 19: any 10 characters made a password ("aaaaaaaaaa" was accepted). Now zxcvbn must
score it 3 or more, judged with the user's own e-mail and name, and its list of common
passwords is refused outright — on every form that sets one."""
import pytest

from matchmaker.accounts.passwords import weakness
from tests.factories import PASSWORD
from tests.test_registration import form as registration_form


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "qwertyuiop", "1234567890", "password123",
                                      "iloveyou12"])
def test_weak_passwords_are_refused_when_changing(client_as, db, password):
    client = client_as("enterprise")
    db.session.commit()
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": password, "confirm": password})
    assert response.status_code == 400
    assert "密码" in response.get_data(as_text=True)
    assert weakness(password)


def test_a_weak_password_is_refused_at_registration(client, db):
    data = registration_form(password="aaaaaaaaaa", confirm="aaaaaaaaaa")
    response = client.post("/register", data=data)
    assert response.status_code == 400
    assert "密码太容易被猜中" in response.get_data(as_text=True)


def test_the_users_own_details_make_a_weak_password():
    assert weakness("zhangwei.finance") is None  # strong enough for a stranger …
    assert weakness("zhangwei.finance", ["zhangwei.finance@firm.cn", "张伟"])  # not for her


def test_a_strong_passphrase_passes():
    assert weakness("correct-horse-battery") is None
    assert weakness("重庆银行贷款2024abc") is None
