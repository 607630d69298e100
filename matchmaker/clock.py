"""The platform's one clock: what time it is, and what day it is in China.

Deadlines, LPR quotes in force, repricing and "today" on every page are Beijing dates. The
server may run in UTC, where `date.today()` reads yesterday between 00:00 and 08:00 Beijing
time, so nothing in matchmaker calls it (tests/test_clock.py fails if one comes back).

Tests freeze time with `monkeypatch.setattr(clock, "now", ...)`; callers therefore always
write `clock.now()` / `clock.china_today()`, never `from .clock import now`.
Working days (工作日) are `policy.workdays`: they read the administrators' overrides.
"""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def china_date(moment: datetime) -> date:
    """The Beijing date of an aware moment."""
    return moment.astimezone(CHINA).date()


def china_today() -> date:
    """Today in China."""
    return china_date(now())


def china_midnight(day: date) -> datetime:
    """The aware moment a Beijing day starts."""
    return datetime.combine(day, time.min, tzinfo=CHINA)


def china_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware moment written in Beijing time."""
    return moment.astimezone(CHINA).strftime(fmt)
