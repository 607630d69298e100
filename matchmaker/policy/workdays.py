"""Working days (工作日) in China: deadlines of leads, whitelists and banks' filings.

A day is a working day when:
1. an administrator's WorkdayOverride row says so (it wins: corrections, and years the
   package does not know yet);
2. else, for a year the `chinese_calendar` package knows, what the State Council's notice
   says (法定节假日 off, 调休 make-up Saturdays/Sundays on) — the package carries each notice;
3. else Monday to Friday (a year whose notice is not in the package nor in the overrides;
   the admin page warns about it).

Deadlines are China dates, inclusive: claimed on Wednesday 30 Sep 2026 with 2 working days
for first contact, the holiday 1–7 Oct does not count, so the deadline is Fri 9 Oct 2026.

Today and now come from `matchmaker.clock` (one clock for the platform).
"""
import logging
from calendar import isleap
from datetime import date, timedelta
from functools import cache, lru_cache

import chinese_calendar
from flask import g, has_request_context
from sqlalchemy import select

from .. import clock
from ..audit.service import record
from ..extensions import db
from ..guards import guarded
from .models import WorkdayOverride
from .permissions import can_edit_policy

log = logging.getLogger(__name__)


@cache
def calendar_knows(year: int) -> bool:
    """Whether the chinese_calendar package carries the State Council notice for the year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def _by_package(day: date) -> bool:
    # pure (the package's notices, Monday to Friday otherwise) and slow (its date checks):
    # a lead inbox counts 20 deadlines' days, a few hundred each, once per page before this
    if calendar_knows(day.year):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def overrides_between(first: date, last: date) -> dict[date, bool]:
    rows = db.session.execute(select(WorkdayOverride.day, WorkdayOverride.is_working)
                              .where(WorkdayOverride.day.between(first, last)))
    return {day: working for day, working in rows}


def _working(day: date, overrides: dict[date, bool]) -> bool:
    return overrides[day] if day in overrides else _by_package(day)


def is_working_day(day: date) -> bool:
    override = db.session.get(WorkdayOverride, day)
    return override.is_working if override is not None else _by_package(day)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (start itself never counts); n=0 gives start."""
    if n < 0:
        raise ValueError("n must be >= 0")
    # 3 calendar days per working day is more than any Chinese holiday season needs
    window_end = start + timedelta(days=3 * n + 21)
    overrides = overrides_between(start, window_end)
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if day > window_end:  # pathological overrides (a month off): widen and go on
            window_end += timedelta(days=3 * n + 21)
            overrides = overrides_between(start, window_end)
        if _working(day, overrides):
            counted += 1
    return day


def _request_overrides(first: date, last: date) -> dict[date, bool]:
    """Within one request every override row, read once (the table holds an administrator's
    corrections: a few dozen rows): a page of 20 countdowns asked 20 times before."""
    if not has_request_context():
        return overrides_between(first, last)
    if "workday_overrides" not in g:
        g.workday_overrides = dict(db.session.execute(
            select(WorkdayOverride.day, WorkdayOverride.is_working)).all())
    return g.workday_overrides


def working_days_between(first: date, last: date) -> int:
    """Working days in (first, last]: how many of the allowance a span used. Counted from
    each year's running totals, then corrected by the override rows in the span: a lead
    inbox shows 20 countdowns, some of them a year overdue, and counting them day by day
    was about a third of its CPU."""
    if last <= first:
        return 0
    overrides = _request_overrides(first, last)
    corrections = sum((1 if working else -1) for day, working in overrides.items()
                      if first < day <= last and working != _by_package(day))
    return _package_between(first, last) + corrections


def _package_between(first: date, last: date) -> int:
    """Working days in (first, last] by the package alone (no override)."""
    within = (_year_counts(last.year)[last.timetuple().tm_yday - 1]
              - _year_counts(first.year)[first.timetuple().tm_yday - 1])
    return within + sum(_year_counts(year)[-1] for year in range(first.year, last.year))


@lru_cache(maxsize=128)
def _year_counts(year: int) -> tuple[int, ...]:
    """Working days by the package from 1 January through each day of the year."""
    first = date(year, 1, 1)
    counts, total = [], 0
    # by the year's length, not until the next year: 31 December 9999 has no day after it
    for k in range(366 if isleap(year) else 365):
        total += _by_package(first + timedelta(days=k))
        counts.append(total)
    return tuple(counts)


def unknown_years(first_year: int, last_year: int) -> list[int]:
    """Years in the span the package does not know and no override row covers: the admin
    page asks for that year's notice to be entered."""
    missing = []
    for year in range(first_year, last_year + 1):
        if calendar_knows(year):
            continue
        has_rows = db.session.scalar(select(WorkdayOverride.day).where(
            WorkdayOverride.day.between(date(year, 1, 1), date(year, 12, 31))).limit(1))
        if has_rows is None:
            missing.append(year)
    return missing


# --- overrides (admin) --------------------------------------------------------------------------

def workday_overrides(year: int | None = None) -> list[WorkdayOverride]:
    query = select(WorkdayOverride).order_by(WorkdayOverride.day)
    if year:
        query = query.where(WorkdayOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(db.session.scalars(query))


@guarded(can_edit_policy, message="只有平台管理员可以修改工作日安排")
def save_workday_override(actor, day: date, is_working: bool,
                          note: str | None = None) -> WorkdayOverride:
    """Set a day's working status by hand (a year the package does not know, a correction).
    Claims already made keep their deadlines."""
    row = db.session.get(WorkdayOverride, day)
    before = None if row is None else row.is_working
    if row is None:
        row = WorkdayOverride(day=day, is_working=is_working)
        db.session.add(row)
    row.is_working = is_working
    row.note = (note or "").strip() or None
    row.updated_by_id = actor.id if actor else None
    row.updated_at = clock.now()
    db.session.flush()
    record(actor, "workday_override.saved", row, day=day, is_working=is_working, before=before)
    return row


@guarded(can_edit_policy, message="只有平台管理员可以修改工作日安排")
def delete_workday_override(actor, row: WorkdayOverride) -> None:
    day = row.day
    db.session.delete(row)
    db.session.flush()
    record(actor, "workday_override.deleted", _DaySubject(), day=day)


class _DaySubject:
    __tablename__ = "workday_overrides"
    id = None
