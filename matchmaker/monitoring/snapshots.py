"""The monitoring page's figures, precomputed and shared by every web worker.

A city's year takes seconds to compute (30,000 funded leads of two years, their claims); a
page cache in process memory left every gunicorn worker to compute its own first view. The
figures of a (period, slice) are stored whole in `monitoring_snapshots` (JSON), with:

- `stamp`: the leads they were computed from — count and latest `updated_at` of the
  district's leads (all leads for a slice without a district). Any lead change (claimed,
  contacted, decided, funded, a new push) changes it;
- `computed_at`: when the computation started. The page always shows it (数据更新于 HH:MM).

Reading (`read`): a stored snapshot whose stamp still holds and younger than `max_age`
(MONITORING_MAX_AGE_SECONDS, default 900) is served as it is. One whose leads changed or that
is older is still served, marked 正在更新, while the refresh job recomputes it — unless it is
older than `4 × max_age`, when the page computes it at once. No snapshot: computed at once
and stored, so the other workers read it. Inputs other than leads (activities, event
meetings, enterprises' profiles) reach the figures within `max_age`.

Refreshing (job `monitoring.refresh`): when a lead is decided (signal, monitoring/
subscribers.py), when the page finds a changed stamp, and from cron every 15 minutes with
`warm` (the city and each district, this year, quarter and month, so that first views are
served precomputed). It recomputes the snapshots whose stamp changed or that are older than
`max_age` and drops those nobody viewed for two days.

Why whole figures, not monthly aggregates per slice: 贷款户数 and 首贷户 are distinct
enterprises over the period, which monthly or per-slice sums cannot give back exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..leads.models import Lead
from . import indicators as ind
from .models import Snapshot

FORMAT = 1  # bump when the stored shape of the figures changes: old rows are then ignored
KEEP_UNVIEWED = timedelta(days=2)
REFRESH_KEY = "monitoring.refresh"
_SLICE_FIELDS = ("district", "institution_id", "institution_kind", "cluster", "loan_kind", "size")
_CLASSES = {cls.__name__: cls for cls in (
    ind.Indicators, ind.Period, ind.Slice, ind.Funded, ind.Service, ind.Whitelisted,
    ind.Events, ind.Served)}


# --- keys and stored form --------------------------------------------------------------------

def key_of(period: ind.Period, where: ind.Slice) -> str:
    parts = [f"v{FORMAT}", period.kind, str(period.year), str(period.number)]
    parts += [f"{name}={getattr(where, name) or ''}" for name in _SLICE_FIELDS]
    return "|".join(parts)


def parse_key(key: str) -> tuple[ind.Period, ind.Slice] | None:
    parts = key.split("|")
    if parts[0] != f"v{FORMAT}" or len(parts) != 4 + len(_SLICE_FIELDS):
        return None
    values = dict(part.split("=", 1) for part in parts[4:])
    values = {name: value or None for name, value in values.items()}
    if values["institution_id"]:
        values["institution_id"] = int(values["institution_id"])
    return ind.Period(parts[1], int(parts[2]), int(parts[3])), ind.Slice(**values)


def encode(value):
    """JSON that gives back equal objects: Decimals as text, tuples and non-text dict keys
    kept (decode(encode(x)) == x)."""
    if is_dataclass(value):
        return {"@": type(value).__name__,
                **{f.name: encode(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, Decimal):
        return {"#": str(value)}
    if isinstance(value, tuple):
        return {"()": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"{}": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a snapshot")


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "@" in value:
            cls = _CLASSES[value["@"]]
            return cls(**{k: decode(v) for k, v in value.items() if k != "@"})
        if "#" in value:
            return Decimal(value["#"])
        if "()" in value:
            return tuple(decode(v) for v in value["()"])
        if "{}" in value:
            return {decode(k): decode(v) for k, v in value["{}"]}
    return value


# --- what the figures were computed from --------------------------------------------------------

def stamp(district: str | None) -> str:
    """The district's leads (all leads for None) as count and latest change."""
    query = select(func.count(Lead.id), func.max(Lead.updated_at))
    if district:
        query = (query.join(Need, Need.id == Lead.need_id)
                 .join(Enterprise, Enterprise.id == Need.enterprise_id)
                 .where(Enterprise.district == district))
    count, last = db.session.execute(query).one()
    return f"{count}:{last.isoformat() if last else '-'}"


# --- computing, storing, reading ----------------------------------------------------------------

def compute(period: ind.Period, where: ind.Slice, *, standard: bool = False) -> Snapshot:
    """Compute the figures now and store them (the stamp is taken first: a lead changed
    meanwhile makes the snapshot stale at once, never hides)."""
    started, current = clock.now(), stamp(where.district)
    result = ind.indicators(period, where)
    key = key_of(period, where)
    values = {"figures": encode(result), "stamp": current, "computed_at": started}
    row = db.session.get(Snapshot, key)
    if row is None:
        try:
            with db.session.begin_nested():  # another worker may store the same key first
                row = Snapshot(key=key, district=where.district, standard=standard,
                               viewed_at=None if standard else started, **values)
                db.session.add(row)
        except IntegrityError:
            row = db.session.get(Snapshot, key)
    for name, value in values.items():
        setattr(row, name, value)
    row.standard = row.standard or standard
    db.session.flush()
    return row


@dataclass
class View:
    figures: ind.Indicators
    computed_at: datetime
    updating: bool  # the leads changed or the figures are old: the refresh job is on it


def _fresh(row: Snapshot, current: str, now: datetime, max_age: int) -> bool:
    return row.stamp == current and (now - row.computed_at).total_seconds() < max_age


def read(period: ind.Period, where: ind.Slice, *, max_age: int) -> View:
    """The page's figures: stored when they are (see the module's docstring), else computed
    and stored. Flushes; the caller commits."""
    now = clock.now()
    row = db.session.get(Snapshot, key_of(period, where))
    if row is not None and (now - row.computed_at).total_seconds() < 4 * max_age:
        current = stamp(where.district)
        if not _fresh(row, current, now, max_age):
            schedule_refresh()  # inline (tests, CLI): done now, and the row is fresh
        if row.viewed_at is None or now - row.viewed_at > timedelta(hours=1):
            row.viewed_at = now
        return View(decode(row.figures), row.computed_at,
                    updating=not _fresh(row, current, clock.now(), max_age))
    row = compute(period, where)
    return View(decode(row.figures), row.computed_at, updating=False)


# --- the refresh job ------------------------------------------------------------------------------

def schedule_refresh() -> None:
    """The refresh job, once (a waiting one is reused: it reads the leads when it starts)."""
    from ..jobs import service as jobs

    jobs.enqueue("monitoring.refresh", {"warm": False}, key=REFRESH_KEY,
                 description="更新监测督导数据")


def any_stored(district: str | None) -> bool:
    """Whether a snapshot reads the district's leads (the city's and other slices' do too)."""
    query = select(Snapshot.key).where(
        (Snapshot.district.is_(None)) | (Snapshot.district == district)).limit(1)
    return db.session.scalar(query) is not None


def standard_views(today=None) -> list[tuple[ind.Period, ind.Slice]]:
    """What organizers open first: the city and every district with enterprises, for this
    year, this quarter and this month."""
    today = today or clock.china_today()
    periods = [ind.Period("year", today.year),
               ind.Period("quarter", today.year, (today.month - 1) // 3 + 1),
               ind.Period("month", today.year, today.month)]
    districts = [None] + list(db.session.scalars(
        select(Enterprise.district).distinct().order_by(Enterprise.district)))
    return [(period, ind.Slice(district=d)) for d in districts for period in periods]


def refresh(*, max_age: int, warm: bool = False, commit=None) -> dict:
    """Recompute what changed or aged (and, with `warm`, the standard views missing), drop
    what nobody viewed for two days. `commit` after each snapshot (the job's; else flush)."""
    commit = commit or db.session.flush
    now = clock.now()
    computed, kept = 0, 0
    stamps: dict[str | None, str] = {}
    if warm:
        views = standard_views()
        wanted = {key_of(period, where) for period, where in views}
        for row in db.session.scalars(select(Snapshot).where(Snapshot.standard.is_(True))):
            if row.key not in wanted:  # last month's: kept while people view it
                row.standard, row.viewed_at = False, row.viewed_at or row.computed_at
        for period, where in views:
            row = db.session.get(Snapshot, key_of(period, where))
            if row is None:
                compute(period, where, standard=True)
                computed += 1
                commit()
            else:
                row.standard = True
    db.session.execute(delete(Snapshot).where(
        Snapshot.standard.is_(False), Snapshot.viewed_at < now - KEEP_UNVIEWED))
    for key in list(db.session.scalars(select(Snapshot.key).order_by(Snapshot.key))):
        row = db.session.get(Snapshot, key)
        spec = parse_key(key)
        if spec is None:  # an older format
            db.session.delete(row)
            continue
        if row.district not in stamps:
            stamps[row.district] = stamp(row.district)
        if _fresh(row, stamps[row.district], clock.now(), max_age):
            kept += 1
            continue
        compute(*spec)
        computed += 1
        commit()
    commit()
    return {"computed": computed, "kept": kept}


def max_age_setting(app=None) -> int:
    app = app or current_app
    return int(app.config.get("MONITORING_MAX_AGE_SECONDS", 0 if app.testing else 900))
