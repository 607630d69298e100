"""Unbound extensions and the declarative base: every domain imports from here."""
import json
from contextvars import ContextVar
from datetime import datetime

import orjson
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import JSON, MetaData, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import DeclarativeBase, registry

from .types import UTCDateTime

# every constraint gets a name Alembic (and SQLite batch mode) can use
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING),
                        type_annotation_map={datetime: UTCDateTime()})


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# storage is chosen in create_app: Redis when MATCHMAKER_REDIS_URL is set, else memory
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# how long a SQLite writer waits for another's lock (a job's chunk holds it for seconds)
SQLITE_BUSY_MS = 15_000
# set while a background job runs (jobs.runner.execute): its transactions are there to write
JOB_RUNNING: ContextVar[bool] = ContextVar("matchmaker_job_running", default=False)


def _writes_expected() -> bool:
    """A job, or a web request that may change something (not GET/HEAD/OPTIONS)."""
    if JOB_RUNNING.get():
        return True
    from flask import has_request_context, request

    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def configure_sqlite(engine) -> None:
    """Foreign keys on, and SQLAlchemy-issued BEGIN so that SAVEPOINTs nest on SQLite.

    A transaction that may write begins IMMEDIATE: it waits for the write lock (up to
    SQLITE_BUSY_MS) before reading. Begun as a read, its first write after another
    connection committed fails at once with "database is locked" (WAL's stale snapshot,
    which no busy timeout waits out): a login beside an RQ worker's matching job did."""
    if engine.dialect.name != "sqlite":
        return

    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        # readers never wait for a writer: the web reads while a job (a thread, or an RQ
        # worker beside gunicorn) writes; an in-memory database answers "memory" and stays so
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        # WAL's recommended durability: a crash loses no committed data, a power cut may lose
        # the last commits (not corrupt the file); one fsync per checkpoint, not per commit
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA cache_size=-32768")
        dbapi_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")

    @sa_event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes_expected() else "BEGIN")


def json_text(value) -> str:
    """The JSON columns' serializer (the engine's json_serializer): orjson, about ten times
    json.dumps, which took an eighth of an import's time (a lead's snapshot and a match's
    reasons are JSON, 1.4 million values in a 20,000-need import). The text is UTF-8
    rather than \\u-escaped; what orjson refuses (an integer beyond 64 bits) goes through
    json.dumps as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def json_value(text: str | bytes):
    """The JSON columns' deserializer (the engine's json_deserializer). A number is refused
    with the TypeError json.loads raises: SQLite's JSON type then returns it as it is."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"JSON text must be str or bytes, not {type(text).__name__}")
    return orjson.loads(text)


BULK = 2_000  # rows written at once above which the planner's statistics are refreshed


def insert_rows(table, rows: list[dict]) -> int:
    """`db.session.execute(table.insert(), rows)` for rows by the hundred thousand (a
    recompute's matches, an import's flag leads): the same statement and the same converted
    values, but each column's converter runs once per distinct value (a batch's timestamp,
    its empty reason lists, repeated scores) and the driver's executemany gets plain tuples.
    SQLAlchemy converted every value of every row (about 15 µs a row, two thirds of an
    executemany of match rows on SQLite). Every row has the same keys, and every column with
    a Python-side default is given (none is filled in here)."""
    if not rows:
        return 0
    columns = list(rows[0])
    missing = [c.name for c in table.c
               if c.default is not None and c.name not in rows[0] and not c.primary_key]
    if missing:
        raise ValueError(f"insert_rows({table.name}): no value for {missing}")
    dialect = db.session.get_bind().dialect
    compiled = table.insert().compile(dialect=dialect, column_keys=columns)
    copying = dialect.name == "postgresql" and len(rows) >= COPY_FROM
    values = []
    for name in columns:
        column = [row[name] for row in rows]
        type_ = table.c[name].type
        if isinstance(type_, JSON) and (copying or dialect.name == "sqlite"):
            # COPY takes JSON as its text, and so does SQLite's bind processor
            column = _json_converted(column, _json_text(dialect, type_))
        elif (convert := type_.dialect_impl(dialect).bind_processor(dialect)) is not None:
            column = _converted(column, convert)
        values.append(column)
    connection = db.session.connection()
    if copying:
        _copy(connection, table, columns, zip(*values))
    elif compiled.positiontup is not None:  # qmark (SQLite): tuples in the statement's order
        order = [values[columns.index(key)] for key in compiled.positiontup]
        connection.exec_driver_sql(str(compiled), list(zip(*order)))
    else:  # pyformat (psycopg): one dict a row
        connection.exec_driver_sql(str(compiled), [dict(zip(columns, row))
                                                   for row in zip(*values)])
    return len(rows)


def insert_many(table, rows: list[dict], batch: int = 5_000) -> int:
    """insert_rows where it applies (every row with the same columns, every column that has
    a Python-side default among them: all of them converted at once), else SQLAlchemy's
    executemany, which fills such defaults in, `batch` rows a statement."""
    if not rows:
        return 0
    db.session.flush()  # as the executemany's autoflush: pending ORM rows written first
    keys = rows[0].keys()
    if all(row.keys() == keys for row in rows) and all(
            c.name in keys for c in table.c if c.default is not None and not c.primary_key):
        return insert_rows(table, rows)
    for start in range(0, len(rows), batch):
        db.session.execute(table.insert(), rows[start:start + batch])
    return len(rows)


def update_rows(table, columns: tuple[str, ...], rows: list[tuple]) -> int:
    """UPDATE these columns of many rows by primary key (`rows`: (id, *values) in the order of
    `columns`), in one statement on PostgreSQL (each column as an array), an executemany on
    SQLite. A stored result whose rank or score alone moved is rewritten in place: no
    delete, no insert with its foreign keys checked, no reasons serialized again."""
    if not rows:
        return 0
    connection = db.session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    (key,) = [c.name for c in table.primary_key.columns]
    values = [[row[0] for row in rows]]
    for i, column in enumerate(columns, 1):
        convert = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        raw = [row[i] for row in rows]
        values.append(_converted(raw, convert) if convert is not None else raw)
    if dialect.name == "postgresql":
        arrays = ", ".join(f"%(c{i})s::{table.c[c].type.compile(dialect)}[]"
                           for i, c in enumerate(columns))
        sets = ", ".join(f"{quote(c)} = v.c{i}" for i, c in enumerate(columns))
        params = {f"c{i}": column for i, column in enumerate(values[1:])}
        connection.exec_driver_sql(
            f"UPDATE {name} SET {sets} FROM unnest(%(ids)s::bigint[], {arrays}) "
            f"AS v(id, {', '.join(f'c{i}' for i in range(len(columns)))}) "
            f"WHERE {name}.{quote(key)} = v.id", {"ids": values[0], **params})
    else:
        sets = ", ".join(f"{quote(c)} = ?" for c in columns)
        connection.exec_driver_sql(f"UPDATE {name} SET {sets} WHERE {quote(key)} = ?",
                                   [(*row, row_id) for row_id, *row in zip(*values)])
    return len(rows)


# rows above which PostgreSQL gets them by COPY: an executemany of 340,000 match rows (a
# 10,000-need `match --all`) is one INSERT parsed, planned and run per row on the server
COPY_FROM = 200


def _copy(connection, table, columns: list[str], rows) -> None:
    """COPY … FROM STDIN on the session's own connection (same transaction). The statement is
    shown to the engine's cursor listeners first, as any statement is: the page cache
    (web/pagecache.py) counts the table as written when the transaction commits."""
    statement = (f"COPY {connection.dialect.identifier_preparer.format_table(table)} "
                 f"({', '.join(connection.dialect.identifier_preparer.quote(c) for c in columns)})"
                 " FROM STDIN")
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        if connection.dispatch.before_cursor_execute:
            connection.dispatch.before_cursor_execute(connection, cursor, statement, {}, None,
                                                      False)
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def _json_text(dialect, type_):
    """JSON as COPY's text: the dialect's serializer once per value (psycopg's JSON wrapper,
    SQLAlchemy's bind value, serialized again at each row: a third of a COPY of match rows)."""
    serialize = getattr(dialect, "_json_serializer", None) or json_text
    null = None if type_.none_as_null else "null"
    return lambda value: null if value is None else serialize(value)


def _json_converted(column: list, convert) -> list:
    """A JSON column's values as text: each serialized (few repeat but the empty ones, and
    hashing a list raises), the empty list and object once."""
    empty = {list: convert([]), dict: convert({})}
    return [convert(value) if value else empty.get(type(value)) or convert(value)
            for value in column]


def _converted(column: list, convert) -> list:
    """`convert` applied to each value, once per distinct hashable value (a column of a
    job's rows holds a few hundred scores, one timestamp). Keyed by the value alone: equal
    values of another type (True and 1, Decimal("1") and 1.0) convert alike in every
    column type here. Unhashable values (JSON lists and dicts) are converted each."""
    done: dict = {}
    out: list = []
    append = out.append
    for value in column:
        try:
            append(done[value])
        except KeyError:
            found = done[value] = convert(value)
            append(found)
        except TypeError:  # unhashable
            append(convert(value))
    return out


def refresh_stale_statistics(*tables: str) -> list[str]:
    """refresh_statistics for those of `tables` whose statistics no longer describe them
    (statistics_stale; PostgreSQL; SQLite: nothing). Autovacuum does this after a while, and
    never where it is off. Without statistics a need's `DELETE FROM matches WHERE need_id IN
    (500 ids)` was planned as a sequential scan of every match (100,000 needs, 3.3 M rows):

        before: Seq Scan on matches (rows=6246051 estimated, 16399 found), 525–788 ms
        after ANALYZE (0.9 s): Bitmap Index Scan on ix_matches_need_rank, 23.6 ms

    Returns the tables analyzed."""
    if db.engine.dialect.name != "postgresql" or not tables:
        return []
    stale = [name for name, tuples, modified in db.session.execute(
        text("SELECT c.relname, c.reltuples, s.n_mod_since_analyze FROM pg_class c "
             "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = ANY(:names)"),
        {"names": list(tables)})
        if statistics_stale(tuples, modified)]
    refresh_statistics(*stale)
    return stale


def statistics_stale(tuples: float, modified: int) -> bool:
    """A table never analyzed (`reltuples` -1), or whose rows inserted, updated or deleted
    since its last ANALYZE are more than half of those it counted then. The modified count,
    not the live rows against reltuples: the activity counters start at 0 again where the
    statistics themselves do not (a crash's recovery, pg_stat_reset, a database copied from
    a template), and the live-rows test then read 0 live rows of 3.3 million and analyzed the
    result tables in every chunk of a job (1.8 s a part, measured on a template copy)."""
    return tuples < 0 or modified > tuples / 2 + 1000


def refresh_statistics(*tables: str) -> None:
    """ANALYZE after a bulk write on PostgreSQL (SQLite: nothing). Autovacuum analyzes a table
    only after a while; a job that inserted 150,000 rows and then queries them was planned on
    the empty table's statistics — issue 13's flag-lead query over 500 needs:

        before (needs estimated 3 rows, products 5): Nested Loop products × needs, then
          matches by (need_id, product_id) for every pair — over 100 s per chunk
        after ANALYZE: Hash Join matches ⋈ needs (pk_needs, 401 rows) ⋈ products, Parallel
          Hash Anti Join consents — Execution Time: 315.856 ms

    Runs inside the caller's transaction (ANALYZE counts the rows it inserted itself); a
    table the database user does not own is skipped with a warning by PostgreSQL."""
    if db.engine.dialect.name != "postgresql" or not tables:
        return
    db.session.execute(text("ANALYZE " + ", ".join(tables)))
