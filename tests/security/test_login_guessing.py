"""Issue 19, guessing: the login limit was per address only (24 wrong passwords for one account
from three addresses, then the right one from a fourth, all accepted); a login for an unknown
e-mail answered in 38 ms against 717 ms for a real one; nobody was told."""
import email
import time

import limits.storage.memory as limits_memory
import pytest

from matchmaker.accounts import service
from matchmaker.extensions import limiter
from tests.conftest import Client, make_test_app
from tests.factories import PASSWORD, user_for_role


@pytest.fixture
def limited(app, db):
    limited = make_test_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    limited.test_client_class = Client
    yield limited
    limiter.init_app(app)


@pytest.fixture
def owner(db):
    user = user_for_role("enterprise", email="guessed@firm.cn")
    db.session.commit()
    return user


def attempt(client, email, password, address):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_guessing_from_many_addresses_is_slowed_per_account(limited, owner):
    client = limited.test_client()
    answers = [attempt(client, owner.email, f"wrong-{n}", f"10.0.0.{n % 3 + 1}")
               for n in range(24)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    assert attempt(client, owner.email, PASSWORD, "10.0.0.4") == 429  # the right one waits too
    # another account is not held back by this one's guessing
    other = user_for_role("enterprise", email="other.owner@firm.cn")
    assert attempt(client, other.email, PASSWORD, "10.0.0.4") == 302


def test_the_wait_ends_no_permanent_lockout(limited, owner, monkeypatch):
    client = limited.test_client()
    for n in range(25):
        attempt(client, owner.email, f"wrong-{n}", f"10.0.1.{n % 5}")
    assert attempt(client, owner.email, PASSWORD, "10.0.1.9") == 429

    class Later:  # the limiter's memory storage reads time.time()
        @staticmethod
        def time():
            return time.time() + 3601

        def __getattr__(self, name):
            return getattr(time, name)

    monkeypatch.setattr(limits_memory, "time", Later())
    assert attempt(client, owner.email, PASSWORD, "10.0.1.9") == 302


def test_an_unknown_email_is_answered_the_same_way(limited, owner):
    client = limited.test_client()
    for address in ("10.0.2.1", "10.0.2.2"):
        known = [attempt(client, owner.email, "wrong", address) for _ in range(3)]
        unknown = [attempt(client, "nobody@firm.cn", "wrong", address) for _ in range(3)]
        assert known == unknown  # 401s, then 429s from the 6th on, for both
    assert known == [401, 401, 429]  # the 6th attempt waits, known account or not


def test_a_password_is_checked_even_for_an_unknown_or_inactive_account(client, db, monkeypatch):
    checked = []
    real = service.verify_password
    monkeypatch.setattr(service, "verify_password",
                        lambda hashed, password: checked.append(hashed) or real(hashed, password))
    inactive = user_for_role("enterprise", email="left@firm.cn", active=False)
    db.session.commit()
    assert client.post("/login", data={"email": "nobody@firm.cn",
                                       "password": "whatever"}).status_code == 401
    assert client.post("/login", data={"email": inactive.email,
                                       "password": PASSWORD}).status_code == 401
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)


def test_the_owner_is_mailed_after_repeated_failures(client, owner, outbox):
    for n in range(service.FAILURES_TOLD):
        assert client.post("/login", data={"email": owner.email,
                                           "password": f"wrong-{n}"}).status_code == 401
    mails = [email.message_from_bytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]
    told = [m for m in mails if m["To"] == owner.email]
    assert len(told) == 1
    assert "多次登录失败" in str(email.header.make_header(email.header.decode_header(
        told[0]["Subject"])))
    client.post("/login", data={"email": owner.email, "password": "wrong-again"})
    assert len(list(outbox.glob("*.eml"))) == len(mails)  # once, not at every failure
