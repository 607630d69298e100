"""Issue 19: with Redis configured but unreachable, login answered 500 (a ConnectionError from
the rate limiter). Now the limiter counts in this process, says so in the log, and logins work."""
import logging

import pytest

from matchmaker.extensions import limiter
from tests.conftest import Client, make_test_app
from tests.factories import PASSWORD, user_for_role

UNREACHABLE = "redis://127.0.0.1:1/8"  # nothing listens on port 1


@pytest.fixture
def down_app(app, db):
    limited = make_test_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=UNREACHABLE,
                            REDIS_URL=UNREACHABLE)
    limited.test_client_class = Client
    yield limited
    limiter.init_app(app)  # the one Limiter object goes back to the session's app


def test_login_works_and_the_limit_holds_in_process(down_app, db, caplog):
    user = user_for_role("enterprise", email="redis.down@firm.cn")
    db.session.commit()
    client = down_app.test_client()
    with caplog.at_level(logging.WARNING):
        assert client.post("/login", data={"email": user.email,
                                           "password": "wrong"}).status_code == 401
    assert "falling back to in-memory storage" in caplog.text
    for n in range(9):  # other accounts: the per-address limit counts them all
        assert client.post("/login", data={"email": f"x{n}@firm.cn",
                                           "password": "wrong"}).status_code == 401
    assert client.post("/login", data={"email": "y@firm.cn",
                                       "password": "wrong"}).status_code == 429
    other = down_app.test_client()  # another address, the right password
    response = other.post("/login", data={"email": user.email, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 302
    assert other.get("/login").status_code in (200, 302)
