"""Pages served from Redis while nothing they read has changed (issue 13: a city's busiest
pages under load).

A view decorated with `@cached_page` is rendered once per person, address and day,
and stored with the tables its render read and their versions at the time. Every write
through this app's engine (a web worker, an RQ worker, the command line) counts the version
of each table it wrote up, once its transaction has committed. A later request is served
from Redis (two round trips, no SQL after the login's) while none of those tables moved and
the entry is younger than PAGE_CACHE_SECONDS; otherwise the page is rendered again.

Never stored: a page whose render wrote anything, changed the session (a flash read),
answered other than 200, or ran SQL whose tables are unknown (text SQL); a session holding a
flash is never served a copy. Form tokens (formtokens.SubmittedOnce) are cut out of a stored
page and fresh ones put back each time it is served, so two copies of one page never post the
same token; the CSRF token is cut out too and the session's own put back, so one person's
browsers (and every anonymous visitor) share a page.

Versions are per table, not per row: a new lead anywhere renders every inbox again. That is
the price of knowing a page's inputs without declaring them by hand; it pays when pages are
read more often than their tables change.

Without Redis (the embedded default) or while Redis does not answer, pages are rendered each
time: the cache only saves work, nothing depends on it. A write that does not go through this
app (psql by hand) is seen within PAGE_CACHE_SECONDS.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps

from flask import Flask, current_app, g, make_response, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Table, event
from sqlalchemy.sql.util import find_tables

from .. import clock, formtokens
from ..extensions import db

log = logging.getLogger(__name__)

ANY = "*"  # a write whose table is unknown: every stored page depends on it
RETRY_AFTER = 30  # seconds without trying Redis once it failed to answer
_WRITTEN, _COMMITTED = "pagecache_written", "pagecache_committed"
_WRITE = re.compile(r"(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO|COPY)"
                    r"\s+[\"`]?(\w+)", re.IGNORECASE)
_CTE_WRITE = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM)\b|\bUPDATE\s+(?!SKIP\b|NOWAIT\b|OF\b)",
                        re.IGNORECASE)
_READ_ONLY = re.compile(r"(?:SELECT|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SHOW|"
                        r"EXPLAIN|ANALYZE|VALUES)\b", re.IGNORECASE)
_QUERY = re.compile(r"[\s(]*(?:SELECT|WITH)\b", re.IGNORECASE)  # BEGIN, PRAGMA … read no table
_HOLE = re.compile(rb"\x00formtoken(\d+)\x00")
CSRF_FIELD = "csrf_token"  # Flask-WTF's name, in the session (raw) and in g (signed)
CSRF_HOLE = b"\x00csrf\x00"


def written_table(statement: str) -> str | None:
    """The table a statement writes; ANY when it writes an unknown one; None for a read."""
    head = statement.lstrip(" \t\r\n(")
    if match := _WRITE.match(head):
        return match.group(1).lower()
    if head[:4].upper() == "WITH":
        return ANY if _CTE_WRITE.search(head) else None
    return None if _READ_ONLY.match(head) else ANY


def read_tables(context) -> frozenset[str]:
    """The tables a compiled SELECT reads, subqueries included; empty when unknown."""
    compiled = getattr(context, "compiled", None)
    statement = getattr(compiled, "statement", None)
    if statement is None:
        return frozenset()
    return frozenset(t.name for t in find_tables(statement, include_aliases=True,
                                                  include_joins=True) if isinstance(t, Table))


@dataclass
class _Reads:
    """What one render read, and whether it may be stored."""
    tables: set[str] = field(default_factory=set)
    storable: bool = True


_reads: ContextVar[_Reads | None] = ContextVar("page_reads", default=None)


class Store:
    """Stored pages and table versions in Redis, under one prefix."""

    def __init__(self, redis: Redis, prefix: str, seconds: int):
        self.redis, self.prefix, self.seconds = redis, prefix, seconds
        self.versions_key = f"{prefix}tables"
        self._down_until = 0.0
        self._missed = False  # writes not counted while Redis was down

    def _call(self, work):
        """work(redis), or None while Redis does not answer (tried again after a pause)."""
        if time.monotonic() < self._down_until:
            return None
        try:
            if self._missed:  # pages stored before the outage may predate writes since
                self.redis.hincrby(self.versions_key, ANY, 1)
                self._missed = False
            return work(self.redis)
        except RedisError as err:
            log.warning("page cache: Redis unreachable (%s); pages rendered each time for %s s",
                        type(err).__name__, RETRY_AFTER)
            self._down_until = time.monotonic() + RETRY_AFTER
            return None

    def bump(self, tables: set[str]) -> None:
        def work(redis):
            pipe = redis.pipeline(transaction=False)
            for table in sorted(tables):
                pipe.hincrby(self.versions_key, table, 1)
            return pipe.execute()

        if self._call(work) is None:
            self._missed = True

    def versions(self) -> dict[str, int] | None:
        raw = self._call(lambda redis: redis.hgetall(self.versions_key))
        return None if raw is None else {k.decode(): int(v) for k, v in raw.items()}

    def fresh(self, key: str) -> dict | None:
        """The stored page under key while every table it read is at its stored version."""
        def work(redis):
            entry = redis.hgetall(key)
            if not entry:
                return {}
            needed = json.loads(entry[b"tables"])
            now = redis.hmget(self.versions_key, list(needed))
            same = all(int(v or 0) == needed[t] for t, v in zip(needed, now))
            return entry if same else {}

        return self._call(work) or None

    def put(self, key: str, body: bytes, content_type: str, tables: dict[str, int]) -> None:
        def work(redis):
            pipe = redis.pipeline(transaction=False)
            pipe.hset(key, mapping={"body": body, "type": content_type,
                                    "tables": json.dumps(tables)})
            pipe.expire(key, self.seconds)
            return pipe.execute()

        self._call(work)


def init_app(app: Flask) -> None:
    """On when Redis is configured (PAGE_CACHE off turns it off): counts writes from now on."""
    if not (app.config.get("PAGE_CACHE", True) and app.config.get("REDIS_URL")):
        return
    redis = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1)
    # two platforms on one Redis (a demo beside production) never share pages: user 5 of one
    # database is not user 5 of the other
    database = hashlib.sha256(app.config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()[:12]
    store = Store(redis, f"{app.config.get('JOBS_QUEUE', 'matchmaker')}:pages:{database}:",
                  int(app.config.get("PAGE_CACHE_SECONDS", 300)))
    app.extensions["pagecache"] = store
    # the database may have changed while no process of ours watched (a seed or restore run
    # without Redis, psql by hand): pages stored before this start are not served again
    store.bump({ANY})
    with app.app_context():
        _watch(db.engine, store)


def _watch(engine, store: Store) -> None:
    """Writes are collected per connection and counted when their transaction committed and
    the connection went back to the pool: a page rendered meanwhile that saw them is stored
    under the old version and so never served."""
    @event.listens_for(engine, "before_cursor_execute")
    def seen(conn, cursor, statement, parameters, context, executemany):
        table = written_table(statement)
        reads = _reads.get()
        if table is not None:
            conn.info.setdefault(_WRITTEN, set()).add(table)
            if reads is not None:
                reads.storable = False
        elif reads is not None and _QUERY.match(statement):
            found = read_tables(context)
            reads.tables |= found
            reads.storable = reads.storable and bool(found)

    @event.listens_for(engine, "commit")
    def committed(conn):
        if written := conn.info.pop(_WRITTEN, None):
            conn.info.setdefault(_COMMITTED, set()).update(written)

    @event.listens_for(engine, "rollback")
    def rolled_back(conn):
        conn.info.pop(_WRITTEN, None)

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection, record):
        if record is not None and (done := record.info.pop(_COMMITTED, None)):
            store.bump(done)


def cached_page(view):
    """Serve the view's page from the store while what it read is unchanged (see above).
    Put it below the access decorators: they run on every request, hit or not."""
    @wraps(view)
    def serve(*args, **kwargs):
        store: Store | None = current_app.extensions.get("pagecache")
        if store is None or request.method != "GET" or "_flashes" in session:
            return view(*args, **kwargs)
        key = _key()
        if (entry := store.fresh(key)) is not None:
            return _served(entry)
        versions = store.versions()
        if versions is None:
            return view(*args, **kwargs)
        return _render_and_store(store, key, versions, view, args, kwargs)

    return serve


def remembered(name: str, compute):
    """compute()'s result (JSON: lists, dicts, numbers, text) kept in the store while every
    table it read is unchanged, as a page is: the part of a page that reads big tables
    which seldom change, apart from the page. The organizer home's counts over 100,000
    needs (about 70 ms of SQL) were computed again each time a lead anywhere moved, because
    the page reads the leads too; remembered, they wait for a need or an enterprise to move.
    `name` says everything the result depends on besides the tables (a district, …).

    Inside a cached page the page is also made to depend on those tables, whether the value
    was computed or served. Without a store (no Redis, or it does not answer): compute()."""
    store: Store | None = current_app.extensions.get("pagecache")
    outer = _reads.get()
    if store is None:
        return _as_json(compute())
    key = f"{store.prefix}value:{name}"
    if (entry := store.fresh(key)) is not None:
        if outer is not None:
            outer.tables |= set(json.loads(entry[b"tables"])) - {ANY}
        return json.loads(entry[b"body"])
    versions = store.versions()
    if versions is None:
        return _as_json(compute())
    reads = _Reads()
    reset = _reads.set(reads)
    try:
        body = json.dumps(compute(), ensure_ascii=False)
    finally:
        _reads.reset(reset)
    if outer is not None:
        outer.tables |= reads.tables
        outer.storable = outer.storable and reads.storable
    if reads.storable and reads.tables:
        tables = {t: versions.get(t, 0) for t in reads.tables | {ANY}}
        store.put(key, body.encode(), "application/json", tables)
    return json.loads(body)


def _as_json(value):
    """The value as the store gives it back (tuples as lists …), stored or not."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _key() -> str:
    """One page per person, address, day and what the session holds that a page could show
    (Flask-Login's own keys and the CSRF token aside: that token is put in at each serve)."""
    user = current_user.get_id() if current_user.is_authenticated else "-"
    held = sorted((k, str(v)) for k, v in session.items() if not _per_session(k))
    parts = (user, request.full_path, clock.china_today().isoformat(), held)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"{current_app.extensions['pagecache'].prefix}page:{digest}"


def _per_session(key: str) -> bool:
    return key.startswith("_") or key == CSRF_FIELD


def _session_state() -> dict:
    return {k: v for k, v in session.items() if k != CSRF_FIELD}


def _render_and_store(store: Store, key: str, versions: dict, view, args, kwargs):
    # what this request loaded before the view (the user, by the login) is read too
    reads = _Reads(tables={type(obj).__table__.name
                           for obj in db.session.identity_map.values()})
    before = _session_state()
    reset = _reads.set(reads)
    try:
        with formtokens.issued_tokens() as tokens:
            response = make_response(view(*args, **kwargs))
    finally:
        _reads.reset(reset)
    if (reads.storable and response.status_code == 200 and _session_state() == before
            and not response.direct_passthrough and response.mimetype == "text/html"):
        body = response.get_data()
        for n, token in enumerate(tokens):
            body = body.replace(token.encode(), b"\x00formtoken%d\x00" % n)
        if csrf := g.get(CSRF_FIELD):  # the signed token Flask-WTF put in this page
            body = body.replace(csrf.encode(), CSRF_HOLE)
        tables = {t: versions.get(t, 0) for t in reads.tables | {ANY}}
        store.put(key, body, response.headers["Content-Type"], tables)
        response.headers["X-Page-Cache"] = "miss"
    return response


def _served(entry: dict):
    fresh: dict[bytes, bytes] = {}

    def token(match):
        return fresh.setdefault(match.group(1), formtokens.new_token().encode())

    body = _HOLE.sub(token, entry[b"body"])
    if CSRF_HOLE in body:  # this session's own token (made now if it had none)
        body = body.replace(CSRF_HOLE, generate_csrf().encode())
    response = current_app.response_class(body, status=200,
                                          content_type=entry[b"type"].decode())
    response.headers["X-Page-Cache"] = "hit"
    return response
