"""The result tables are analyzed before a job's bulk statements only where their statistics
no longer describe them (extensions.refresh_stale_statistics): never taken, or half the rows
modified since. Not when the activity counters alone started again (a crash's recovery,
pg_stat_reset, a database copied from a template): that analyzed 3.3 million rows in every
chunk of a job."""
import pytest
from sqlalchemy import text

from matchmaker.extensions import db as _db
from matchmaker.extensions import refresh_stale_statistics


@pytest.fixture
def postgresql(db):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no planner statistics to refresh")
    return db


def _pretend(reltuples: float) -> None:
    """The planner's count of matches as if taken on a city's platform (the test database
    user is a superuser; the test's transaction rolls it back), its activity counters reset."""
    _db.session.execute(text("UPDATE pg_class SET reltuples = :n WHERE relname = 'matches'"),
                        {"n": reltuples})
    _db.session.execute(text("SELECT pg_stat_reset_single_table_counters('matches'::regclass)"))
    _db.session.execute(text("SELECT pg_stat_clear_snapshot()"))


def test_counters_reset_leave_true_statistics_alone(postgresql):
    _pretend(3_300_000)
    assert refresh_stale_statistics("matches") == []


def test_a_table_never_analyzed_is_analyzed(postgresql):
    _pretend(-1)
    assert refresh_stale_statistics("matches") == ["matches"]

