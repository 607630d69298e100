"""CSRF, login rate limit (memory and Redis), headers, cookies, error pages, the secret, logs."""
import logging
import re

import pytest

import matchmaker
from matchmaker import create_app
from matchmaker.extensions import limiter
from tests.conftest import TEST_DATABASE_URL, Client, make_test_app
from tests.factories import PASSWORD, user_for_role
from tests.test_registration import USCC
from tests.test_registration import form as registration_form

REDIS = "redis://127.0.0.1:6379/15"


def wrong_login(client, email="someone@bank.cn"):
    return client.post("/login", data={"email": email, "password": "not-the-password"})


@pytest.fixture
def user(db):
    user = user_for_role("bank_admin", email="sec.admin@bank.cn")
    db.session.commit()
    return user


# --- CSRF -------------------------------------------------------------------------------------

def test_a_post_without_csrf_token_is_400_in_chinese(db, user):
    guarded = make_test_app(WTF_CSRF_ENABLED=True)
    guarded.test_client_class = Client
    client = guarded.test_client()

    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "请求有误" in response.get_data(as_text=True)

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302  # the same post, with the token, logs in
    assert client.post("/logout").status_code == 400  # the logout form carries a token too


# --- login rate limit -------------------------------------------------------------------------

@pytest.fixture
def limited_app(app, db):
    def make(**overrides):
        # these tests count the per-address limit; tests/security/test_login_guessing.py
        # counts the per-account one, which would otherwise stop them at the 6th attempt
        overrides.setdefault("LOGIN_ACCOUNT_LIMIT", "1000 per minute")
        limited = make_test_app(RATELIMIT_ENABLED=True, **overrides)
        limited.test_client_class = Client
        return limited

    yield make
    # Flask-Limiter keeps its state on the one Limiter object, and the last init_app wins:
    # give it back to the session's app, which runs with rate limits off
    limiter.init_app(app)


def test_the_11th_login_within_a_minute_is_429_in_chinese(limited_app):
    client = limited_app(RATELIMIT_STORAGE_URI="memory://").test_client()
    for _ in range(10):
        assert wrong_login(client).status_code == 401
    response = wrong_login(client)
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "操作过于频繁" in html and "请求过于频繁，请稍后再试。" in html
    assert client.get("/login").status_code == 200  # only POSTs count


def _redis():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    connection.flushdb()
    return connection


def test_with_redis_the_limit_is_shared_by_every_worker(limited_app):
    redis = _redis()
    worker_a = limited_app(RATELIMIT_STORAGE_URI=REDIS).test_client()
    for _ in range(6):
        assert wrong_login(worker_a).status_code == 401
    # a second worker: a new app whose limiter storage starts afresh, configured as production
    # does it (MATCHMAKER_REDIS_URL); only what is in Redis carries over
    worker_b = limited_app(REDIS_URL=REDIS).test_client()
    for _ in range(4):
        assert wrong_login(worker_b).status_code == 401
    assert wrong_login(worker_b).status_code == 429
    assert wrong_login(worker_a).status_code == 429
    assert redis.keys("*")
    redis.flushdb()


def test_without_redis_each_worker_counts_alone(limited_app):
    # the control for the test above: in-memory counts do not survive a new app
    worker_a = limited_app(RATELIMIT_STORAGE_URI="memory://").test_client()
    for _ in range(6):
        wrong_login(worker_a)
    worker_b = limited_app(RATELIMIT_STORAGE_URI="memory://").test_client()
    for _ in range(5):
        assert wrong_login(worker_b).status_code == 401


# --- headers and cookies ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page"])
def test_security_headers(client, path):
    headers = client.get(path).headers
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


INLINE = [re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"), re.compile(r"\sstyle="),
          re.compile(r"\son[a-z]+=")]


@pytest.mark.parametrize("role, path", [
    ("anonymous", "/"), ("anonymous", "/login"), ("anonymous", "/register"),
    ("anonymous", "/password/forgot"), ("enterprise", "/home"), ("bank_admin", "/home"),
    ("organizer", "/home"), ("admin", "/home"), ("admin", "/admin/audit/"),
    ("admin", "/invitations/new"), ("admin", "/account/password"),
])
def test_pages_need_no_inline_script_or_style(client_as, role, path):
    html = client_as(role).get(path).get_data(as_text=True)
    for pattern in INLINE:
        assert not pattern.search(html), (path, pattern.pattern)


def _session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_session_cookie_is_httponly_and_samesite_lax(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_with_the_default_config_the_session_cookie_is_secure(db, user):
    # no cookie overrides: the shipped defaults
    shipped = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": TEST_DATABASE_URL,
                          "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                          "SERVER_NAME": "localhost"})
    assert shipped.config["SESSION_COOKIE_SECURE"] is True
    assert shipped.config["REMEMBER_COOKIE_SECURE"] is True
    shipped.test_client_class = Client
    response = shipped.test_client().post("/login", data={"email": user.email,
                                                          "password": PASSWORD})
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- error pages ------------------------------------------------------------------------------

def test_403_page_is_chinese(client_as):
    response = client_as("enterprise").get("/admin/audit/")
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)


def test_404_page_is_chinese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_405_page_is_chinese(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "不支持的请求方式" in response.get_data(as_text=True)


def test_500_page_is_chinese_and_logged(db, caplog):
    broken = make_test_app()

    @broken.get("/test-only/boom")
    def boom():
        raise RuntimeError("boom")

    response = broken.test_client().get("/test-only/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "服务器内部错误" in html and "RuntimeError" not in html
    assert "unhandled error on GET /test-only/boom" in caplog.text


def test_json_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "页面不存在", "status": 404}


# --- the secret key ---------------------------------------------------------------------------

def test_create_app_refuses_to_start_without_a_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("MATCHMAKER_SECRET_KEY", raising=False)
    monkeypatch.setattr(matchmaker, "ROOT", tmp_path)  # an instance/ without secret_key
    with pytest.raises(RuntimeError, match="MATCHMAKER_SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_the_secret_comes_from_instance_then_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MATCHMAKER_SECRET_KEY", raising=False)
    monkeypatch.setattr(matchmaker, "ROOT", tmp_path)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("written-by-make-demo\n")
    config = {"DATABASE_URL": "sqlite://", "RATELIMIT_ENABLED": False}
    assert create_app(config).config["SECRET_KEY"] == "written-by-make-demo"
    monkeypatch.setenv("MATCHMAKER_SECRET_KEY", "from-the-environment")
    assert create_app(config).config["SECRET_KEY"] == "from-the-environment"


# --- logs -------------------------------------------------------------------------------------

def test_no_personal_data_in_logs(client, db, caplog, outbox):
    caplog.set_level(logging.DEBUG)
    data = registration_form()
    assert client.post("/register", data=data).status_code == 302
    client.post("/logout")
    assert wrong_login(client, data["email"]).status_code == 401
    client.post("/password/forgot", data={"email": data["email"]})

    assert "failed login for user" in caplog.text  # the capture works
    for personal in (USCC, data["company_name"], data["email"], data["name"]):
        assert personal not in caplog.text


def test_behind_a_proxy_the_client_address_is_the_forwarded_one():
    from flask import request

    from tests.conftest import make_test_app

    def whoami():
        return request.remote_addr or ""

    direct, proxied = make_test_app(), make_test_app(PROXY_HOPS=1)
    for app in (direct, proxied):
        app.add_url_rule("/_whoami", "whoami", whoami)
    seen = {}
    for name, app in (("direct", direct), ("proxied", proxied)):
        response = app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"},
                                         environ_base={"REMOTE_ADDR": "10.0.0.1"})
        seen[name] = response.get_data(as_text=True)
    assert seen == {"direct": "10.0.0.1", "proxied": "203.0.113.9"}
