from datetime import UTC, datetime

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

from . import clock

WAN = Numeric(12, 2)  # 万元; Decimal in Python, never float
RATE = Numeric(6, 3)  # annual %


def utcnow() -> datetime:
    """The platform clock, as the default of every timestamp column (tests patch clock.now)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Aware UTC in and out; SQLite would hand back naive datetimes, PostgreSQL aware ones."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
