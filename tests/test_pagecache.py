"""The page cache (issue 13, matchmaker/web/pagecache.py): the busiest pages served from Redis
while nothing they read has changed, rendered again the moment a table they read is written.

It needs commits to be real (a write counts once its transaction committed), so the module runs
on a database of its own: a SQLite file, or `<test database>_pagecache` on PostgreSQL. Skipped
when no Redis answers (MATCHMAKER_TEST_REDIS_URL, default 127.0.0.1:6379/7).
"""
import os
import re
import secrets
from decimal import Decimal

import flask_migrate
import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select, text

from matchmaker.extensions import db as _db
from matchmaker.institutions.models import Institution
from matchmaker.leads.models import Lead
from matchmaker.web import pagecache
from tests.conftest import TEST_DATABASE_URL, Client, make_test_app
from tests.factories import LeadFactory, NeedFactory, user_for_role

REDIS = os.environ.get("MATCHMAKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
FORM_TOKEN = re.compile(r'name="form_token" type="hidden" value="([0-9a-f]{32})"')


def _redis_answers() -> bool:
    try:
        Redis.from_url(REDIS, socket_connect_timeout=0.5).ping()
    except (RedisError, OSError):
        return False
    return True


pytestmark = pytest.mark.skipif(not _redis_answers(), reason="no Redis: the cache is off")


def _own_database(tmp_path_factory) -> str:
    if not TEST_DATABASE_URL.startswith("postgresql"):
        return f"sqlite:///{tmp_path_factory.mktemp('pagecache') / 'pages.sqlite3'}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(TEST_DATABASE_URL)
    name = f"{base.database}_pagecache"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def cache_app(tmp_path_factory):
    app = make_test_app(DATABASE_URL=_own_database(tmp_path_factory), REDIS_URL=REDIS,
                        JOBS_QUEUE=f"matchmaker-test-pages-{os.getpid()}")
    app.test_client_class = Client
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    redis = Redis.from_url(REDIS)
    for key in redis.scan_iter(f"{app.config['JOBS_QUEUE']}:pages:*"):
        redis.delete(key)
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(scope="module")
def inbox(cache_app):
    """A bank manager with two leads in his inbox, committed."""
    with cache_app.app_context():
        manager = user_for_role("bank_manager")
        for _ in range(2):
            LeadFactory(institution=manager.institution)
        other = user_for_role("bank_manager")
        LeadFactory(institution=other.institution)
        _db.session.commit()
        ids = {"manager": manager.id, "other": other.id,
               "institution": manager.institution_id}
        _db.session.remove()
    return ids


def _client(app, user_id):
    with app.app_context():
        from matchmaker.accounts.models import User

        user = _db.session.get(User, user_id)
        client = app.test_client(user=user)
        _db.session.remove()
    with client.session_transaction() as session:  # as the login page leaves it
        session["csrf_token"] = secrets.token_hex(20)
    return client


def test_a_second_visit_is_served_from_the_store_with_fresh_form_tokens(cache_app, inbox):
    client = _client(cache_app, inbox["manager"])
    first = client.get("/leads/")
    second = client.get("/leads/")
    third = client.get("/leads/")
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Page-Cache"] == "miss"
    assert second.headers["X-Page-Cache"] == third.headers["X-Page-Cache"] == "hit"
    tokens = [FORM_TOKEN.findall(page.get_data(as_text=True))
              for page in (first, second, third)]
    assert tokens[0] and len(tokens[0]) == len(tokens[1]) == len(tokens[2])
    # a stored page never hands out a token twice: each serve gets new ones
    assert not set(tokens[0]) & set(tokens[1]) and not set(tokens[1]) & set(tokens[2])
    assert FORM_TOKEN.sub("", first.get_data(as_text=True)) == \
        FORM_TOKEN.sub("", second.get_data(as_text=True))
    # the security headers are on a stored page too
    assert second.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_write_to_a_table_the_page_read_renders_it_again(cache_app, inbox):
    client = _client(cache_app, inbox["manager"])
    client.get("/leads/")
    assert client.get("/leads/").headers["X-Page-Cache"] == "hit"
    with cache_app.app_context():
        LeadFactory(institution=_db.session.get(Institution, inbox["institution"]),
                    need=NeedFactory(amount_wan=Decimal(7777)))
        _db.session.commit()
        _db.session.remove()
    page = client.get("/leads/")
    assert page.headers["X-Page-Cache"] == "miss"
    assert "7,777 万元" in page.get_data(as_text=True)
    assert client.get("/leads/").headers["X-Page-Cache"] == "hit"


def test_rows_written_in_bulk_count_as_a_write(cache_app, inbox):
    """insert_rows writes by COPY on PostgreSQL, beside SQLAlchemy's cursor: it still counts."""
    from matchmaker.audit.models import AuditEntry
    from matchmaker.extensions import COPY_FROM, insert_rows

    store = cache_app.extensions["pagecache"]
    before = store.versions()
    with cache_app.app_context():
        insert_rows(AuditEntry.__table__, [
            {"created_at": pagecache.clock.now(), "actor_id": None, "action": "test.bulk",
             "subject_type": "needs", "subject_id": k, "details": {}, "remote_addr": None}
            for k in range(COPY_FROM)])
        _db.session.commit()
        _db.session.remove()
    after = store.versions()
    assert after.get("audit_entries", 0) == before.get("audit_entries", 0) + 1
    assert after.get(pagecache.ANY, 0) == before.get(pagecache.ANY, 0)  # its table was known


def test_a_rolled_back_write_changes_nothing(cache_app, inbox):
    client = _client(cache_app, inbox["manager"])
    client.get("/leads/")
    with cache_app.app_context():
        _db.session.execute(text("UPDATE leads SET status = status"))
        _db.session.rollback()
        _db.session.remove()
    assert client.get("/leads/").headers["X-Page-Cache"] == "hit"


def test_each_person_has_own_pages_and_each_browser_its_own_csrf_token(cache_app, inbox):
    mine = _client(cache_app, inbox["manager"])
    theirs = _client(cache_app, inbox["other"])
    mine.get("/leads/")
    assert mine.get("/leads/").headers["X-Page-Cache"] == "hit"
    assert theirs.get("/leads/").headers["X-Page-Cache"] == "miss"
    # the same person in a second browser shares the page, with that browser's CSRF token
    again = _client(cache_app, inbox["manager"])
    page = again.get("/leads/")
    assert page.headers["X-Page-Cache"] == "hit"
    for client, served in ((mine, mine.get("/leads/")), (again, page)):
        token = CSRF_META.search(served.get_data(as_text=True)).group(1)
        with client.session_transaction() as session:
            assert _signed_for(cache_app, token) == session["csrf_token"]


def test_a_new_session_is_served_the_page_with_a_csrf_token_of_its_own(cache_app, inbox):
    from matchmaker.accounts.models import User

    _client(cache_app, inbox["manager"]).get("/leads/")
    with cache_app.app_context():
        client = cache_app.test_client(user=_db.session.get(User, inbox["manager"]))
        _db.session.remove()
    page = client.get("/leads/")  # its session has no CSRF token yet
    assert page.headers["X-Page-Cache"] == "hit"
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    assert _signed_for(cache_app, CSRF_META.search(page.get_data(as_text=True)).group(1)) == raw


def _signed_for(app, token: str) -> str:
    """The raw session token a signed CSRF token was made from (what Flask-WTF checks)."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").loads(token)


def test_another_address_or_query_is_another_page(cache_app, inbox):
    client = _client(cache_app, inbox["manager"])
    client.get("/leads/")
    assert client.get("/leads/?page=1").headers["X-Page-Cache"] == "miss"


def test_a_page_showing_a_flash_is_not_served_from_the_store(cache_app, inbox):
    client = _client(cache_app, inbox["manager"])
    client.get("/leads/")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "已认领")]
    page = client.get("/leads/")
    assert "X-Page-Cache" not in page.headers or page.headers["X-Page-Cache"] != "hit"
    assert "已认领" in page.get_data(as_text=True)


def test_anonymous_visitors_share_the_catalogue(cache_app, inbox):
    cache_app.test_client().get("/catalog/?q=pagecache")
    page = cache_app.test_client().get("/catalog/?q=pagecache")
    assert page.status_code == 200 and page.headers["X-Page-Cache"] == "hit"


def test_refused_and_missing_pages_are_never_stored(cache_app, inbox):
    enterprise_user = _client(cache_app, inbox["manager"])
    assert enterprise_user.get("/needs/999999").status_code in (403, 404)
    assert cache_app.test_client().get("/leads/").status_code == 302  # to the login
    assert cache_app.test_client().get("/leads/").status_code == 302


def test_redis_down_pages_are_rendered_each_time(tmp_path, inbox, cache_app):
    app = make_test_app(DATABASE_URL=cache_app.config["DATABASE_URL"],
                        REDIS_URL="redis://127.0.0.1:1/7")  # nothing listens there
    app.test_client_class = Client
    client = _client(app, inbox["manager"])
    for _ in range(2):
        page = client.get("/leads/")
        assert page.status_code == 200 and "X-Page-Cache" not in page.headers
    with app.app_context():
        assert _db.session.get(Lead, 1) is not None
        _db.engine.dispose()


@pytest.mark.parametrize("statement, table", [
    ("INSERT INTO leads (a) VALUES (1)", "leads"),
    ('INSERT INTO "user" (a) VALUES (1)', "user"),
    ("INSERT OR IGNORE INTO form_submissions VALUES (1)", "form_submissions"),
    ("  UPDATE needs SET x=1 WHERE id IN (SELECT 1)", "needs"),
    ("DELETE FROM matches WHERE need_id = 3", "matches"),
    ('COPY "matches" (need_id, rank) FROM STDIN', "matches"),
    ("SELECT id FROM leads FOR UPDATE SKIP LOCKED", None),
    ("(SELECT 1) UNION (SELECT 2)", None),
    ("SAVEPOINT sa_savepoint_1", None),
    ("WITH t AS (SELECT 1) SELECT * FROM t", None),
    ("WITH t AS (SELECT 1) UPDATE needs SET x = 1", pagecache.ANY),
    ("CREATE TABLE x (a int)", pagecache.ANY),
    ("TRUNCATE leads", pagecache.ANY),
])
def test_which_table_a_statement_writes(statement, table):
    assert pagecache.written_table(statement) == table


def test_access_is_checked_before_the_store(cache_app, inbox):
    """The decorator sits below the access checks: a person switched off after the page was
    stored is refused, not served the copy."""
    from matchmaker.accounts.models import User

    with cache_app.app_context():
        worker = user_for_role("bank_manager",
                               institution=_db.session.get(Institution, inbox["institution"]))
        _db.session.commit()
        worker_id = worker.id
        _db.session.remove()
    client = _client(cache_app, worker_id)
    client.get("/leads/")
    assert client.get("/leads/").headers["X-Page-Cache"] == "hit"
    with cache_app.app_context():
        _db.session.get(User, worker_id).active = False
        _db.session.commit()
        _db.session.remove()
    refused = client.get("/leads/")
    assert refused.status_code != 200 and refused.headers.get("X-Page-Cache") != "hit"


@pytest.fixture(scope="module")
def probe_app(cache_app):
    """The same database and store, with two pages the rules must refuse to store."""
    from flask import render_template_string

    from matchmaker.web.pagecache import cached_page

    app = make_test_app(DATABASE_URL=cache_app.config["DATABASE_URL"], REDIS_URL=REDIS,
                        JOBS_QUEUE=cache_app.config["JOBS_QUEUE"])

    @app.get("/probe/writes")
    @cached_page
    def writes():
        _db.session.execute(text("UPDATE leads SET status = status WHERE id < 0"))
        _db.session.commit()
        return render_template_string("<p>wrote</p>")

    @app.get("/probe/text-sql")
    @cached_page
    def text_sql():
        count = _db.session.scalar(text("SELECT count(*) FROM leads"))
        return render_template_string("<p>{{ n }}</p>", n=count)

    @app.get("/probe/plain")
    @cached_page
    def plain():
        count = _db.session.scalar(select(func.count(Lead.id)))
        return render_template_string("<p>{{ n }}</p>", n=count)

    @app.get("/probe/remembered")
    @cached_page
    def with_remembered():
        from matchmaker.enterprises.models import Need
        from matchmaker.web.pagecache import remembered

        leads = _db.session.scalar(select(func.count(Lead.id)))
        needs = remembered("probe.needs",
                           lambda: _db.session.scalar(select(func.count(Need.id))))
        return render_template_string("<p>{{ l }}/<b>{{ n }}</b></p>", l=leads, n=needs)

    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.mark.parametrize("path, stored", [
    ("/probe/writes", False),  # its write would be skipped by a copy
    ("/probe/text-sql", False),  # what text SQL reads is unknown
    ("/probe/plain", True),
])
def test_what_a_render_did_decides_whether_it_is_stored(probe_app, path, stored):
    client = probe_app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = secrets.token_hex(20)
    client.get(path)
    again = client.get(path)
    assert again.status_code == 200
    assert (again.headers.get("X-Page-Cache") == "hit") is stored


def test_an_app_starting_forgets_the_pages_stored_before(cache_app, inbox):
    """A seed or restore run without Redis changed the database unseen: a new process (a
    gunicorn worker after a restart) does not serve what was stored before it."""
    client = _client(cache_app, inbox["manager"])
    client.get("/leads/")
    assert client.get("/leads/").headers["X-Page-Cache"] == "hit"
    make_test_app(DATABASE_URL=cache_app.config["DATABASE_URL"], REDIS_URL=REDIS,
                  JOBS_QUEUE=cache_app.config["JOBS_QUEUE"])
    assert client.get("/leads/").headers["X-Page-Cache"] == "miss"


def test_two_databases_on_one_redis_never_share_pages(cache_app, inbox, tmp_path):
    """A second platform (a demo beside production) with the same queue name: its user of the
    same id is not served this platform's page."""
    client = _client(cache_app, inbox["manager"])
    client.get("/leads/")
    assert client.get("/leads/").headers["X-Page-Cache"] == "hit"
    other = make_test_app(DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}",
                          REDIS_URL=REDIS, JOBS_QUEUE=cache_app.config["JOBS_QUEUE"])
    assert other.extensions["pagecache"].prefix != cache_app.extensions["pagecache"].prefix


PUBLISHED = re.compile(r'data-figure="published">(\d+)<')


def test_the_organizer_home_keeps_its_need_figures_while_only_leads_move(cache_app, inbox):
    """The home reads leads and needs; its counts over the needs are remembered apart
    (pagecache.remembered): a lead written renders the page again without counting the
    needs again, and a need written counts them again — the page depends on the needs
    even when the figures came from the store."""
    from sqlalchemy import event

    with cache_app.app_context():
        organizer = user_for_role("organizer")
        _db.session.commit()
        organizer_id = organizer.id
        _db.session.remove()
    client = _client(cache_app, organizer_id)
    before = int(PUBLISHED.search(client.get("/home").get_data(as_text=True)).group(1))

    statements = []
    with cache_app.app_context():
        engine = _db.engine

        def seen(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            _db.session.execute(text("UPDATE leads SET status = status"))
            _db.session.commit()
            _db.session.remove()
            page = client.get("/home")
            assert page.headers["X-Page-Cache"] == "miss"  # it reads the leads
            assert not [s for s in statements if "sum(needs.amount_wan)" in s]
            assert int(PUBLISHED.search(page.get_data(as_text=True)).group(1)) == before

            NeedFactory(status="published")
            _db.session.commit()
            _db.session.remove()
            statements.clear()
            page = client.get("/home")
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert page.headers["X-Page-Cache"] == "miss"
    assert [s for s in statements if "sum(needs.amount_wan)" in s]
    assert int(PUBLISHED.search(page.get_data(as_text=True)).group(1)) == before + 1
    assert client.get("/home").headers["X-Page-Cache"] == "hit"


NEEDS_SHOWN = re.compile(r"<b>(\d+)</b>")


def test_a_page_depends_on_what_its_remembered_value_read_even_when_served(probe_app):
    """A render that got the value from the store still depends on the value's tables:
    the page stored after it is not served once a need is written."""
    client = probe_app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = secrets.token_hex(20)
    client.get("/probe/remembered")  # the value and the page stored
    with probe_app.app_context():
        _db.session.execute(text("UPDATE leads SET status = status"))
        _db.session.commit()
        _db.session.remove()
    page = client.get("/probe/remembered")  # the page rendered again, the value served
    assert page.headers["X-Page-Cache"] == "miss"
    count = int(NEEDS_SHOWN.search(page.get_data(as_text=True)).group(1))
    with probe_app.app_context():
        NeedFactory()
        _db.session.commit()
        _db.session.remove()
    page = client.get("/probe/remembered")
    assert page.headers["X-Page-Cache"] == "miss"
    assert int(NEEDS_SHOWN.search(page.get_data(as_text=True)).group(1)) == count + 1
