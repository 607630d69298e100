"""App → database (each test rolled back) → clients logged in per role.

MATCHMAKER_TEST_DATABASE_URL picks the database (default: a SQLite file in a temp dir, so that
threads and a live server see the same data); `make test` runs the suite on SQLite and on
PostgreSQL.
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import flask_sqlalchemy.session
import pytest
from flask import g, has_app_context
from flask_login import FlaskLoginClient

from matchmaker import create_app
from matchmaker.extensions import db as _db

_TMP = Path(tempfile.mkdtemp(prefix="matchmaker-test-"))


def _per_worker(url: str) -> str:
    """Under pytest-xdist every worker gets a database of its own: on PostgreSQL
    `<name>_gw0`, `<name>_gw1` … (created when missing; each worker resets its own schema),
    on SQLite a file in the worker's own temp dir, as without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                       {"name": name}) is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL = _per_worker(os.environ.get("MATCHMAKER_TEST_DATABASE_URL")
                                or os.environ.get("MATCHMAKER_TEST_POSTGRES_URL")
                                or f"sqlite:///{_TMP / 'test.sqlite3'}")
ROLES = ("anonymous", "enterprise", "bank_manager", "bank_admin", "organizer", "admin")


class Client(FlaskLoginClient):
    def open(self, *args, **kwargs):
        # Flask 3.1 runs a test request inside the test's app context, so g (and the user
        # Flask-Login cached in it) would leak from one request, or one client, to the next.
        if has_app_context():
            for name in list(vars(g)):
                g.pop(name)
        return super().open(*args, **kwargs)


def make_test_app(**overrides):
    config = {"TESTING": True, "SECRET_KEY": "test-secret-key", "WTF_CSRF_ENABLED": False,
              "DATABASE_URL": TEST_DATABASE_URL, "SESSION_COOKIE_SECURE": False,
              "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False,
              "MAIL_OUTBOX": str(_TMP / "outbox"), "SERVER_NAME": "localhost",
              # background jobs run at once, inside the test's transaction (tests/test_jobs.py
              # runs the thread and RQ backends against their own databases)
              "JOBS_BACKEND": "inline", "REDIS_URL": None,
              # registration logs in at once here; tests/security/test_registration_mail.py
              # runs the production answer (the same page for all, the rest by mail)
              "REGISTRATION_CONFIRM_BY_MAIL": False}
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app():
    app = make_test_app()
    app.test_client_class = Client
    with app.app_context():
        _reset_schema()
        flask_migrate.upgrade()  # the real migrations, on both databases
    return app


def _reset_schema():
    """Start from nothing, whatever an earlier run left behind in the test database."""
    from sqlalchemy import text

    engine = _db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        _db.drop_all()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


class _ConnectionBoundSession(flask_sqlalchemy.session.Session):
    # Flask-SQLAlchemy's get_bind() picks the engine and ignores bind=; every
    # statement must go through the one connection that the test rolls back
    def get_bind(self, *args, **kwargs):
        return self.bind


@contextmanager
def session_on(connection):
    """Point db.session at one connection for the block: every statement, and every commit
    a view makes (a savepoint), stays inside the transaction the caller rolls back."""
    real_session = _db.session
    _db.session = _db._make_scoped_session({  # private API: kept in this one place
        "class_": _ConnectionBoundSession, "bind": connection,
        "join_transaction_mode": "create_savepoint"})  # view commits become savepoints
    try:
        yield _db
    finally:
        _db.session.remove()
        _db.session = real_session


@pytest.fixture(scope="module")
def module_connection(app):
    """One connection and transaction for a whole module, rolled back at its end: data a
    module builds once (see `shared_data`) lives in it, and each test's `db` runs in a
    savepoint of it that is rolled back after the test, so every case starts from the
    same data and none sees another's changes (tests/README.md)."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()
            connection.close()


def shared_data(build):
    """A module-scoped fixture that runs `build(app)` once, inside `module_connection`,
    and returns what it returns (ids and URLs: its ORM objects belong to a closed session).
    The module also sets `pytestmark = pytest.mark.usefixtures("module_connection")`, so
    that all its tests' `db` run in savepoints of the one connection (on SQLite a second
    connection would wait for the module's open transaction)."""
    @pytest.fixture(scope="module")
    def fixture(app, module_connection):
        with app.app_context(), session_on(module_connection):
            built = build(app)
            _db.session.commit()   # releases the build's savepoint into the module transaction
        return built
    fixture.__doc__ = build.__doc__
    return fixture


@pytest.fixture
def db(app, request):
    with app.app_context():
        if "module_connection" in request.fixturenames:   # the module shares data built once
            connection = request.getfixturevalue("module_connection")
            outer, own = connection.begin_nested(), False
        else:
            connection = _db.engine.connect()
            outer, own = connection.begin(), True
        try:
            with session_on(connection):
                yield _db
        finally:
            if outer.is_active:
                outer.rollback()
            if own:
                connection.close()


@pytest.fixture
def outbox():
    path = _TMP / "outbox"
    for old in path.glob("*.eml"):
        old.unlink()
    return path


@pytest.fixture
def client_as(app, db):
    from tests.factories import user_for_role

    def make(role, **fields):
        if role == "anonymous":
            return app.test_client()
        return app.test_client(user=user_for_role(role, **fields))

    return make


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture(autouse=True)
def _fresh_matcher():
    """Each test builds its own matcher: with the clock frozen, two tests' catalogues can
    carry the same counts and timestamps, and a cached matcher would leak between them."""
    from matchmaker.matching import service as matching

    matching._cache.update(stamp=None, matcher=None)
    yield
